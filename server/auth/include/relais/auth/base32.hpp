#pragma once

#include <string>
#include <string_view>
#include <system_error>

// Base32 (RFC 4648 §6, the "A-Z2-7" alphabet) without padding: the form authenticator apps
// expect in the `secret` parameter of an otpauth URI.

namespace relais::auth {

/// Encodes `data` (octets) as upper-case base32 without '=' padding.
[[nodiscard]] std::string base32_encode(std::string_view data);

/// Decodes upper-case base32 without padding; invalid_input on a character outside the
/// alphabet (padding included), an impossible length (1, 3 or 6 characters past a multiple
/// of 8) or non-zero unused trailing bits (a non-canonical encoding).
[[nodiscard]] std::string base32_decode(std::string_view text, std::error_code& ec);

}  // namespace relais::auth
