#pragma once

#include <string>
#include <system_error>

namespace relais::crypto {

/// Every way relais_crypto rejects input. Authentication failures of any kind (AEAD tag,
/// padding, signatures, backup blobs) share the single value `authentication_failed`, so that
/// a caller or a peer can never learn which check failed (no oracle).
enum class errc {
  malformed_input = 1,        ///< truncated, oversized or otherwise ill-formed bytes
  unsupported_version,        ///< a version byte this build does not speak
  wrong_message_type,         ///< a message type fed to a decoder for another type
  authentication_failed,      ///< any tag, padding or signature failure: the single no-oracle error
  invalid_public_key,         ///< low-order X25519 point, or an Ed25519 key that does not convert
  duplicate_message,          ///< the key for this header was already used, expired or evicted
  too_many_skipped,           ///< the header skips more than limits::max_skip messages
  no_sending_chain,           ///< the responder cannot send before it has received
  unknown_prekey,             ///< the signed or one-time prekey id is not (or no longer) held
  untrusted_org_key,          ///< the certificate names an organisation key other than the pinned one
  certificate_not_valid_now,  ///< now is outside [not_before, not_after]
  bad_code,                   ///< a resume code or recovery key that does not parse
  resource_exhausted,         ///< Argon2id could not get its memory
};

/// The error category of relais_crypto ("relais.crypto").
[[nodiscard]] const std::error_category& crypto_category() noexcept;

[[nodiscard]] std::error_code make_error_code(errc e) noexcept;

}  // namespace relais::crypto

template <>
struct std::is_error_code_enum<relais::crypto::errc> : std::true_type {};
