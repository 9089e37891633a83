#include "relais/crypto/encoding.hpp"

#include <sodium.h>

namespace relais::crypto {

std::string to_hex(bytes_view in) {
  if (in.empty()) {
    return {};  // libsodium's arguments are declared non-null
  }
  std::string out(in.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), in.data(), in.size());
  out.pop_back();
  return out;
}

std::optional<bytes> from_hex(std::string_view in) {
  if (in.size() % 2 != 0) {
    return std::nullopt;
  }
  if (in.empty()) {
    return bytes{};  // libsodium's arguments are declared non-null
  }
  bytes out(in.size() / 2);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), in.data(), in.size(), nullptr, &len, &end) != 0 ||
      len != out.size() || end != in.data() + in.size()) {
    return std::nullopt;
  }
  return out;
}

std::string to_base64url(bytes_view in) {
  if (in.empty()) {
    return {};
  }
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(in.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), in.data(), in.size(), variant);
  out.resize(out.size() - 1);  // the terminator sodium writes
  return out;
}

std::optional<bytes> from_base64url(std::string_view in) {
  if (in.empty()) {
    return bytes{};
  }
  bytes out(in.size() * 3 / 4 + 1);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), in.data(), in.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != in.data() + in.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

}  // namespace relais::crypto
