#include "relais/protocol/base64url.hpp"

#include <array>
#include <cstring>
#include <limits>

#include "relais/protocol/error.hpp"

namespace relais::protocol {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t invalid = 0xFF;

constexpr std::array<std::uint8_t, 256> decode_table = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(invalid);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return t;
}();

std::uint32_t sextet(char c) noexcept { return decode_table[static_cast<unsigned char>(c)]; }

void encode_into(const std::uint8_t* in, std::size_t n, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1));
  char* o = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16U) | (std::uint32_t{in[i + 1]} << 8U) |
                            std::uint32_t{in[i + 2]};
    *o++ = alphabet[(v >> 18U) & 63U];
    *o++ = alphabet[(v >> 12U) & 63U];
    *o++ = alphabet[(v >> 6U) & 63U];
    *o++ = alphabet[v & 63U];
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16U;
    *o++ = alphabet[(v >> 18U) & 63U];
    *o++ = alphabet[(v >> 12U) & 63U];
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16U) | (std::uint32_t{in[i + 1]} << 8U);
    *o++ = alphabet[(v >> 18U) & 63U];
    *o++ = alphabet[(v >> 12U) & 63U];
    *o++ = alphabet[(v >> 6U) & 63U];
  }
}

// Decodes canonical text into out (exactly decoded_size octets); false on any invalid input.
bool decode_raw(std::string_view text, std::uint8_t* out) noexcept {
  const std::size_t n = text.size();
  if (n % 4 == 1) {
    return false;
  }
  std::size_t i = 0;
  std::size_t o = 0;
  for (; i + 4 <= n; i += 4) {
    const std::uint32_t a = sextet(text[i]);
    const std::uint32_t b = sextet(text[i + 1]);
    const std::uint32_t c = sextet(text[i + 2]);
    const std::uint32_t d = sextet(text[i + 3]);
    if (((a | b | c | d) & 0xC0U) != 0) {  // `invalid` has these bits set
      return false;
    }
    const std::uint32_t v = (a << 18U) | (b << 12U) | (c << 6U) | d;
    out[o++] = static_cast<std::uint8_t>(v >> 16U);
    out[o++] = static_cast<std::uint8_t>(v >> 8U);
    out[o++] = static_cast<std::uint8_t>(v);
  }
  const std::size_t rest = n - i;
  if (rest == 2) {
    const std::uint32_t a = sextet(text[i]);
    const std::uint32_t b = sextet(text[i + 1]);
    // The 4 low bits of the second character are padding bits: canonical means zero.
    if (((a | b) & 0xC0U) != 0 || (b & 0x0FU) != 0) {
      return false;
    }
    out[o] = static_cast<std::uint8_t>((a << 2U) | (b >> 4U));
  } else if (rest == 3) {
    const std::uint32_t a = sextet(text[i]);
    const std::uint32_t b = sextet(text[i + 1]);
    const std::uint32_t c = sextet(text[i + 2]);
    // The 2 low bits of the third character are padding bits.
    if (((a | b | c) & 0xC0U) != 0 || (c & 0x03U) != 0) {
      return false;
    }
    const std::uint32_t v = (a << 18U) | (b << 12U) | (c << 6U);
    out[o++] = static_cast<std::uint8_t>(v >> 16U);
    out[o] = static_cast<std::uint8_t>(v >> 8U);
  }
  return true;
}

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  encode_into(bytes.data(), bytes.size(), out);
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  // string_view holds char; the codec works on octets.
  encode_into(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), out);
  return out;
}

std::size_t base64url_decoded_size(std::string_view text) noexcept {
  const std::size_t n = text.size();
  if (n % 4 == 1) {
    return std::numeric_limits<std::size_t>::max();
  }
  return (n / 4) * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

bool base64url_valid(std::string_view text) noexcept {
  const std::size_t n = text.size();
  if (n % 4 == 1) {
    return false;
  }
  std::uint32_t acc = 0;
  for (char ch : text) {
    acc |= sextet(ch);
  }
  if ((acc & 0xC0U) != 0) {
    return false;
  }
  const std::uint32_t last = n == 0 ? 0 : sextet(text[n - 1]);
  if (n % 4 == 2) {
    return (last & 0x0FU) == 0;
  }
  if (n % 4 == 3) {
    return (last & 0x03U) == 0;
  }
  return true;
}

std::string base64url_decode(std::string_view text, std::error_code& ec) {
  const std::size_t size = base64url_decoded_size(text);
  if (size == std::numeric_limits<std::size_t>::max()) {
    ec = error::invalid_base64;
    return {};
  }
  std::string out(size, '\0');
  if (!decode_raw(text, reinterpret_cast<std::uint8_t*>(out.data()))) {
    ec = error::invalid_base64;
    return {};
  }
  ec.clear();
  return out;
}

std::error_code base64url_decode(std::string_view text, std::span<std::uint8_t> out) noexcept {
  if (base64url_decoded_size(text) != out.size() || !decode_raw(text, out.data())) {
    if (!out.empty()) {
      std::memset(out.data(), 0, out.size());
    }
    return error::invalid_base64;
  }
  return {};
}

encoded_bytes encoded_bytes::from_bytes(std::span<const std::uint8_t> bytes) {
  return encoded_bytes(base64url_encode(bytes));
}

encoded_bytes encoded_bytes::from_bytes(std::string_view bytes) {
  return encoded_bytes(base64url_encode(bytes));
}

encoded_bytes encoded_bytes::from_text(std::string_view text, std::error_code& ec) {
  if (!base64url_valid(text)) {
    ec = error::invalid_base64;
    return {};
  }
  ec.clear();
  return encoded_bytes(std::string(text));
}

std::string encoded_bytes::decode() const {
  std::error_code ec;
  return base64url_decode(text_, ec);
}

std::error_code encoded_bytes::decode_into(std::span<std::uint8_t> out) const noexcept {
  return base64url_decode(text_, out);
}

}  // namespace relais::protocol
