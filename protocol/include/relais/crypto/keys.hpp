#pragma once

#include <cstdint>
#include <optional>
#include <system_error>

#include "relais/crypto/bytes.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/crypto/random.hpp"
#include "relais/crypto/secure_buffer.hpp"

namespace relais::crypto {

/// An X25519 key pair (signed prekey, one-time prekey, ephemeral or ratchet key).
struct x25519_key_pair {
  secret32 secret;
  public_key pub{};

  /// The key pair of a 32-byte secret (public = X25519(sk, 9)).
  [[nodiscard]] static x25519_key_pair from_secret(bytes_view secret32_bytes) noexcept;
  /// Draws exactly 32 bytes (one RNG draw).
  [[nodiscard]] static x25519_key_pair generate(random_source& rng);
};

/// An Ed25519 key pair held as its 32-byte seed: a worker's or beneficiary's identity key, or the
/// organisation key. Its X25519 form (CRYPTO.md §2) is used for the X3DH DH steps.
class identity_key_pair {
 public:
  [[nodiscard]] static identity_key_pair from_seed(bytes_view seed32) noexcept;
  /// Draws exactly 32 bytes (one RNG draw) for the seed.
  [[nodiscard]] static identity_key_pair generate(random_source& rng);

  [[nodiscard]] const public_key& public_key_bytes() const noexcept { return ed_pub_; }
  [[nodiscard]] const secret32& seed() const noexcept { return seed_; }
  [[nodiscard]] const secret32& x25519_secret() const noexcept { return x_secret_; }
  [[nodiscard]] signature sign(bytes_view message) const noexcept { return ed25519_sign(seed_, message); }

 private:
  secret32 seed_;
  secret32 x_secret_;
  public_key ed_pub_{};
};

/// A signed prekey: id, X25519 key pair, and the identity key's signature over it.
struct signed_prekey {
  std::uint32_t id = 0;
  x25519_key_pair key;
  signature sig{};
};

/// A one-time prekey: id and X25519 key pair; deleted after its first use.
struct one_time_prekey {
  std::uint32_t id = 0;
  x25519_key_pair key;
};

/// opk_id value meaning "no one-time prekey" on the wire.
inline constexpr std::uint32_t no_one_time_prekey = 0xFFFFFFFFU;

/// The public half the server hands to an initiator (CRYPTO.md §2).
struct prekey_bundle {
  public_key identity_key{};
  std::uint32_t spk_id = 0;
  public_key spk_pub{};
  signature spk_signature{};
  std::optional<std::uint32_t> opk_id;
  public_key opk_pub{};
};

/// The bytes the SPK signature covers: "Relais_SPK_v1" || u32be(id) || spk_pub.
[[nodiscard]] bytes signed_prekey_message(std::uint32_t spk_id, const public_key& spk_pub);
/// Generates a signed prekey (one RNG draw) signed by `identity`.
[[nodiscard]] signed_prekey make_signed_prekey(const identity_key_pair& identity, std::uint32_t id, random_source& rng);
/// Builds the bundle for an identity, its current SPK and optionally one OPK.
[[nodiscard]] prekey_bundle make_bundle(const identity_key_pair& identity, const signed_prekey& spk,
                                        const one_time_prekey* opk);
/// Checks the SPK signature (authentication_failed) and that every key is usable
/// (invalid_public_key); the initiator calls this before using a bundle.
[[nodiscard]] std::error_code verify_bundle(const prekey_bundle& bundle) noexcept;

}  // namespace relais::crypto
