#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "relais/crypto/bytes.hpp"
#include "relais/crypto/keys.hpp"
#include "relais/crypto/random.hpp"
#include "relais/crypto/session.hpp"

/// "Sealed to workers" (CRYPTO.md §17): a beneficiary encrypts content once and wraps its key to
/// each worker's signed prekey, for the pre-chat answers of `queue.join` and the closed-hours
/// inbox (`inbox.send`). No one-time prekey is consumed.
namespace relais::crypto {

namespace limits {
/// Workers: most recipients of one sealed message (PROTOCOL.md `inbox.send`: 1–16 recipients).
inline constexpr std::size_t max_sealed_recipients = 16;
/// Bytes: largest pre-chat blob (PROTOCOL.md `queue.join.prechat`: 1–4096).
inline constexpr std::size_t max_prechat_blob = 4096;
/// Bytes: largest inbox content ciphertext (PROTOCOL.md `inbox.send.ciphertext`: 1–40,960).
inline constexpr std::size_t max_inbox_ciphertext = 40960;
/// Bytes: largest wrapped key accepted in a pre-chat blob entry (PROTOCOL.md `wrapped_key`: 1–512;
/// version 1 keys are 85 bytes, the room is for later versions).
inline constexpr std::size_t max_wrapped_key = 512;
}  // namespace limits

/// What a sealed message is for; bound into every AEAD so that one can never pass for the other.
enum class sealed_purpose : std::uint8_t { prechat = 0x01, inbox = 0x02 };

/// Bytes of a version-1 wrapped key: version (1) || spk_id (4) || ephemeral (32) || AEAD(32 + 16).
inline constexpr std::size_t sealed_wrapped_key_bytes = 85;
/// Bytes a content ciphertext adds to the padded plaintext: version (1) || nonce (24) || tag (16).
inline constexpr std::size_t sealed_content_overhead = 41;

/// A worker a beneficiary may seal to: built only by verify_sealed_recipient, so that nothing is
/// ever sealed to keys whose certificate and signed-prekey signature were not checked.
class sealed_recipient {
 public:
  [[nodiscard]] std::uint64_t worker_id() const noexcept { return worker_id_; }
  [[nodiscard]] const public_key& identity_key() const noexcept { return identity_key_; }
  [[nodiscard]] std::uint32_t spk_id() const noexcept { return spk_id_; }
  [[nodiscard]] const public_key& spk_pub() const noexcept { return spk_pub_; }
  /// The certified display name (UTF-8, not interpreted).
  [[nodiscard]] const std::string& display_name() const noexcept { return display_name_; }

 private:
  friend std::error_code verify_sealed_recipient(std::uint64_t worker_id, const prekey_bundle& bundle,
                                                 bytes_view certificate, const public_key& pinned_org_key,
                                                 std::uint64_t now, sealed_recipient& out);
  std::uint64_t worker_id_ = 0;
  public_key identity_key_{};
  std::uint32_t spk_id_ = 0;
  public_key spk_pub_{};
  std::string display_name_;
};

/// Checks a worker's bundle from `keys.fetch {worker_id}`: its certificate against the pinned org
/// key at `now` (CRYPTO.md §7 errors), that the certificate is for the bundle's identity key, and
/// the SPK signature (`authentication_failed`). The bundle's one-time prekey is ignored.
[[nodiscard]] std::error_code verify_sealed_recipient(std::uint64_t worker_id, const prekey_bundle& bundle,
                                                      bytes_view certificate, const public_key& pinned_org_key,
                                                      std::uint64_t now, sealed_recipient& out);

/// One recipient's wrapped content key.
struct sealed_key {
  std::uint64_t worker_id = 0;
  bytes wrapped_key;
};

/// Content encrypted once, and its key wrapped for each recipient (the fields of `inbox.send`).
struct sealed_message {
  bytes ciphertext;
  std::vector<sealed_key> keys;
};

/// Seals `plaintext` from `beneficiary` to 1..16 distinct recipients. RNG draws: content key (32),
/// content nonce (24), then one ephemeral key (32) per recipient in order. malformed_input for no,
/// too many or repeated recipients, or a plaintext too long for the purpose's limit.
[[nodiscard]] std::error_code seal_to_workers(sealed_purpose purpose, const identity_key_pair& beneficiary,
                                              std::span<const sealed_recipient> recipients, bytes_view plaintext,
                                              random_source& rng, sealed_message& out);

/// A worker opens content with her wrapped key, her signed-prekey secrets (looked up by the
/// spk_id in the wrapped key; one-time prekeys are never used) and the beneficiary identity key
/// the server showed. Errors in CRYPTO.md §17.4 order; every tag failure is authentication_failed.
[[nodiscard]] std::error_code open_sealed(sealed_purpose purpose, const identity_key_pair& worker,
                                          const prekey_lookup& prekeys, const public_key& beneficiary_identity,
                                          bytes_view wrapped_key, bytes_view ciphertext, bytes& plaintext);

/// The pre-chat blob: 0x01 || count || count x (u64be worker_id || u16be len || wrapped key) ||
/// content ciphertext. malformed_input if it would exceed 4096 bytes or the message is invalid.
[[nodiscard]] std::error_code encode_prechat(const sealed_message& message, bytes& blob);
/// Parses a pre-chat blob (structure only; nothing is decrypted).
[[nodiscard]] std::error_code decode_prechat(bytes_view blob, sealed_message& out);

/// seal_to_workers (purpose prechat) then encode_prechat.
[[nodiscard]] std::error_code seal_prechat(const identity_key_pair& beneficiary,
                                           std::span<const sealed_recipient> recipients, bytes_view plaintext,
                                           random_source& rng, bytes& blob);
/// decode_prechat, then open_sealed with this worker's entry (none: unknown_prekey).
[[nodiscard]] std::error_code open_prechat(const identity_key_pair& worker, std::uint64_t worker_id,
                                           const prekey_lookup& prekeys, const public_key& beneficiary_identity,
                                           bytes_view blob, bytes& plaintext);

/// Bytes: the longest pre-chat plaintext that fits in 4096 bytes with `recipients` recipients
/// (3839 for one, 2303 for sixteen).
[[nodiscard]] std::size_t max_prechat_plaintext(std::size_t recipients) noexcept;
/// Bytes: the longest inbox plaintext whose ciphertext fits in 40,960 bytes (40,703).
[[nodiscard]] std::size_t max_inbox_plaintext() noexcept;

}  // namespace relais::crypto
