#pragma once

#include <string>
#include <system_error>

namespace relais::auth {

/// Why relais_auth refused an input or an operation.
enum class errc {
  // 0 is reserved for success (std::error_code convention).
  invalid_input = 1,   ///< ill-formed input: bad base32, empty secret, bad characters, ...
  too_short,           ///< below its lower bound (a password under 12 bytes, ...)
  too_long,            ///< over its upper bound (an otpauth URI over 512 bytes, ...)
  hash_failed,         ///< Argon2id could not run (its memory could not be allocated)
};

/// The error category of relais_auth ("relais.auth").
[[nodiscard]] const std::error_category& auth_category() noexcept;

[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace relais::auth

template <>
struct std::is_error_code_enum<relais::auth::errc> : std::true_type {};
