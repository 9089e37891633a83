#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <system_error>

#include "relais/crypto/bytes.hpp"
#include "relais/crypto/secure_buffer.hpp"

/// Thin, checked wrappers over the libsodium primitives relais_crypto uses (CRYPTO.md §1).
namespace relais::crypto {

/// An Ed25519 signature.
using signature = std::array<std::uint8_t, 64>;
/// An XChaCha20-Poly1305 nonce.
using xnonce = std::array<std::uint8_t, 24>;

inline constexpr std::size_t aead_tag_bytes = 16;
inline constexpr std::size_t hkdf_max_output = 255 * 32;

/// HMAC-SHA256 with a key of any length (RFC 2104; libsodium's init/update/final).
[[nodiscard]] secret32 hmac_sha256(bytes_view key, bytes_view message) noexcept;

/// Where HKDF-Expand's block counter starts: RFC 5869 (0x01, what Relais uses) or Signal's legacy
/// "HKDF v2" (0x00), which exists only to reproduce Signal's published root-key vector.
enum class hkdf_counter : std::uint8_t { rfc5869 = 1, signal_legacy_v2 = 0 };

/// HKDF-Extract; an empty salt means 32 zero bytes.
[[nodiscard]] secret32 hkdf_sha256_extract(bytes_view salt, bytes_view ikm) noexcept;
/// HKDF-Expand into `out` (1..255*32 bytes, else malformed_input).
[[nodiscard]] std::error_code hkdf_sha256_expand(bytes_view prk, bytes_view info, std::span<std::uint8_t> out,
                                                 hkdf_counter counter = hkdf_counter::rfc5869) noexcept;
/// Extract then expand.
[[nodiscard]] std::error_code hkdf_sha256(bytes_view salt, bytes_view ikm, bytes_view info, std::span<std::uint8_t> out,
                                          hkdf_counter counter = hkdf_counter::rfc5869) noexcept;

[[nodiscard]] public_key sha256(bytes_view message) noexcept;
[[nodiscard]] std::array<std::uint8_t, 64> sha512(bytes_view message) noexcept;

/// X25519(sk, pk); an all-zero result (low-order point) is invalid_public_key.
[[nodiscard]] std::error_code x25519(const secret32& secret, const public_key& peer, secret32& shared) noexcept;
/// X25519(sk, 9): the public key of a secret key.
[[nodiscard]] public_key x25519_base(const secret32& secret) noexcept;

/// Ed25519 signature with the key pair derived from a 32-byte seed.
[[nodiscard]] signature ed25519_sign(const secret32& seed, bytes_view message) noexcept;
/// Ed25519 verification (libsodium's strict checks: canonical S, no small-order R or A).
[[nodiscard]] bool ed25519_verify(const public_key& key, bytes_view message, const signature& sig) noexcept;
/// The Ed25519 public key of a seed.
[[nodiscard]] public_key ed25519_public_from_seed(const secret32& seed) noexcept;
/// Ed25519 public key to its X25519 form; invalid_public_key if it does not convert.
[[nodiscard]] std::error_code ed25519_pk_to_x25519(const public_key& ed, public_key& x) noexcept;
/// Ed25519 seed to the X25519 secret key (clamped SHA-512(seed)[0..32]).
[[nodiscard]] secret32 ed25519_seed_to_x25519(const secret32& seed) noexcept;

/// XChaCha20-Poly1305-IETF encryption; returns ciphertext || tag.
[[nodiscard]] bytes aead_encrypt(bytes_view key, const xnonce& nonce, bytes_view ad, bytes_view plaintext);
/// XChaCha20-Poly1305-IETF decryption; any failure is authentication_failed.
[[nodiscard]] std::error_code aead_decrypt(bytes_view key, const xnonce& nonce, bytes_view ad, bytes_view ciphertext,
                                           bytes& plaintext);

/// sodium_pad to a multiple of `block`.
[[nodiscard]] bytes pad(bytes_view plaintext, std::size_t block);
/// sodium_unpad in place; authentication_failed on bad padding (it is checked after the tag).
[[nodiscard]] std::error_code unpad(bytes& padded, std::size_t block) noexcept;

}  // namespace relais::crypto
