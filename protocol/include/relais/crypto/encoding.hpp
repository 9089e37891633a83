#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "relais/crypto/bytes.hpp"

/// Text encodings of bytes used in vectors and on the wire (CRYPTO.md notation).
namespace relais::crypto {

[[nodiscard]] std::string to_hex(bytes_view in);
/// Lower- or upper-case hex; nullopt on odd length or a non-hex character.
[[nodiscard]] std::optional<bytes> from_hex(std::string_view in);
/// RFC 4648 §5 base64url without padding.
[[nodiscard]] std::string to_base64url(bytes_view in);
[[nodiscard]] std::optional<bytes> from_base64url(std::string_view in);

}  // namespace relais::crypto
