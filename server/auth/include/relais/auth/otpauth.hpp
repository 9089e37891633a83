#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "relais/auth/totp.hpp"

// The otpauth://totp/ key URI that authenticator apps read from a QR code (the "Key Uri
// Format" of Google Authenticator, which the other apps follow).

namespace relais::auth {

/// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~),
/// with upper-case hex digits, so that any issuer or account survives in a path or a query.
[[nodiscard]] std::string percent_encode(std::string_view text);

/// `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`,
/// issuer and account percent-encoded, the raw `secret` in base32 without padding, digits and
/// period from `params` (the ones match_totp checks with).
/// invalid_input if the secret, account or issuer is empty; too_long if the URI would exceed
/// limits::max_otpauth_uri_bytes (PROTOCOL.md's limit); the result is then empty.
[[nodiscard]] std::string make_otpauth_uri(std::string_view secret, std::string_view account, std::string_view issuer,
                                           std::error_code& ec, const totp_params& params = {});

}  // namespace relais::auth
