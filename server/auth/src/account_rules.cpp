#include "relais/auth/account_rules.hpp"

#include <cstdint>

#include "relais/auth/error.hpp"
#include "relais/auth/limits.hpp"

namespace relais::auth {

namespace {

std::error_code check_size(std::size_t size, std::size_t min, std::size_t max) noexcept {
  if (size < min) return errc::too_short;
  if (size > max) return errc::too_long;
  return {};
}

/// Decodes one UTF-8 sequence at s[i] (RFC 3629: shortest form, no surrogates, <= U+10FFFF);
/// returns its length and sets `cp`, or 0 if ill-formed.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept {
  auto b0 = static_cast<std::uint8_t>(s[i]);
  std::size_t len = 0;
  std::uint32_t min = 0;
  if (b0 < 0x80U) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xE0U) == 0xC0U) {
    len = 2;
    cp = b0 & 0x1FU;
    min = 0x80;
  } else if ((b0 & 0xF0U) == 0xE0U) {
    len = 3;
    cp = b0 & 0x0FU;
    min = 0x800;
  } else if ((b0 & 0xF8U) == 0xF0U) {
    len = 4;
    cp = b0 & 0x07U;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<std::uint8_t>(s[i + k]);
    if ((b & 0xC0U) != 0x80U) return 0;
    cp = (cp << 6) | (b & 0x3FU);
  }
  if (cp < min || cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU)) return 0;
  return len;
}

}  // namespace

std::error_code check_username(std::string_view username) noexcept {
  if (auto ec = check_size(username.size(), limits::min_username_bytes, limits::max_username_bytes)) return ec;
  for (char c : username) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return errc::invalid_input;
  }
  return {};
}

std::error_code check_display_name(std::string_view display_name) noexcept {
  if (auto ec = check_size(display_name.size(), limits::min_display_name_bytes, limits::max_display_name_bytes)) {
    return ec;
  }
  for (std::size_t i = 0; i < display_name.size();) {
    std::uint32_t cp = 0;
    auto len = utf8_sequence(display_name, i, cp);
    if (len == 0) return errc::invalid_input;
    // C0 controls, DEL and C1 controls: they would break a log line, a table or a layout.
    if (cp < 0x20U || (cp >= 0x7FU && cp <= 0x9FU)) return errc::invalid_input;
    i += len;
  }
  return {};
}

std::error_code check_new_password(std::string_view password) noexcept {
  return check_size(password.size(), limits::min_password_bytes, limits::max_password_bytes);
}

}  // namespace relais::auth
