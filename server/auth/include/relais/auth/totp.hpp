#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "relais/auth/limits.hpp"

// One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA1, the only algorithm
// every authenticator app implements. HMAC comes from OpenSSL.

namespace relais::auth {

/// The HOTP value of `key` at `counter`: HMAC-SHA1, dynamic truncation, the low `digits`
/// decimal digits with leading zeros. invalid_input for an empty key or digits outside 6..9.
[[nodiscard]] std::string hotp(std::string_view key, std::uint64_t counter, int digits, std::error_code& ec);

/// The TOTP time step of `unix_seconds` (floor(t / period)); nullopt before the epoch or for
/// a non-positive period.
[[nodiscard]] std::optional<std::int64_t> totp_step(std::int64_t unix_seconds,
                                                    std::int64_t period = limits::totp_period_seconds) noexcept;

/// The TOTP code of `key` at `unix_seconds`.
[[nodiscard]] std::string totp(std::string_view key, std::int64_t unix_seconds, int digits, std::error_code& ec,
                               std::int64_t period = limits::totp_period_seconds);

/// How a TOTP code is checked.
struct totp_params {
  int digits = limits::totp_digits;
  std::int64_t period = limits::totp_period_seconds;
  std::int64_t window = limits::totp_window_steps;  ///< steps of drift accepted either way
};

/// The time step at which `code` is the TOTP of `key`, trying the current step first, then
/// the earlier and the later ones within the window; nullopt if none matches, if `code` is
/// not exactly `digits` ASCII digits, or if `key` is empty (not enrolled). Each candidate is
/// compared in constant time and all candidates are computed, so the time taken says nothing
/// about which step (if any) matched.
[[nodiscard]] std::optional<std::int64_t> match_totp(std::string_view key, std::string_view code,
                                                     std::int64_t unix_seconds, const totp_params& params = {});

}  // namespace relais::auth
