#pragma once

#include <string_view>
#include <system_error>

// What a worker account's fields may contain, checked where accounts are created and changed
// (the admin command) so that every stored account fits PROTOCOL.md's limits.

namespace relais::auth {

/// A username: 1-64 bytes of [a-z0-9._-]. Lower case only, so that "Camille" and "camille"
/// cannot be two accounts. invalid_input, too_short or too_long otherwise.
[[nodiscard]] std::error_code check_username(std::string_view username) noexcept;

/// A display name: 1-64 bytes of valid UTF-8 without control characters (it is shown in the
/// console and in the beneficiary's widget). invalid_input, too_short or too_long otherwise.
[[nodiscard]] std::error_code check_display_name(std::string_view display_name) noexcept;

/// A new password: 12-1024 bytes. too_short or too_long otherwise. Its content is the
/// worker's business: no composition rules (NIST SP 800-63B §5.1.1.2).
[[nodiscard]] std::error_code check_new_password(std::string_view password) noexcept;

}  // namespace relais::auth
