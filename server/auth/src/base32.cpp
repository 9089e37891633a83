#include "relais/auth/base32.hpp"

#include <cstdint>

#include "relais/auth/error.hpp"

namespace relais::auth {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The 5-bit value of a base32 character, or -1.
int value_of(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

std::string base32_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;  // holds at most 12 pending bits
  int bits = 0;
  for (char ch : data) {
    buffer = (buffer << 8) | static_cast<std::uint8_t>(ch);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(alphabet[(buffer >> bits) & 0x1FU]);
    }
    buffer &= (1U << bits) - 1U;
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 0x1FU]);
  return out;
}

std::string base32_decode(std::string_view text, std::error_code& ec) {
  ec.clear();
  // 8 characters carry 5 bytes; a tail of 2, 4, 5 or 7 characters carries 1, 2, 3 or 4.
  auto tail = text.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6) {
    ec = errc::invalid_input;
    return {};
  }
  std::string out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = value_of(c);
    if (v < 0) {
      ec = errc::invalid_input;
      return {};
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFFU));
    }
    buffer &= (1U << bits) - 1U;
  }
  if (buffer != 0) {  // the unused low bits of the last character must be zero
    ec = errc::invalid_input;
    return {};
  }
  return out;
}

}  // namespace relais::auth
