#include "relais/crypto/primitives.hpp"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "relais/crypto/error.hpp"

namespace relais::crypto {

secret32 hmac_sha256(bytes_view key, bytes_view message) noexcept {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, message.data(), message.size());
  secret32 out;
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

secret32 hkdf_sha256_extract(bytes_view salt, bytes_view ikm) noexcept {
  static constexpr std::array<std::uint8_t, 32> zero_salt{};
  return hmac_sha256(salt.empty() ? bytes_view(zero_salt) : salt, ikm);
}

std::error_code hkdf_sha256_expand(bytes_view prk, bytes_view info, std::span<std::uint8_t> out,
                                   hkdf_counter counter) noexcept {
  if (out.empty() || out.size() > hkdf_max_output) {
    return errc::malformed_input;
  }
  std::array<std::uint8_t, 32> block{};
  std::size_t block_len = 0;  // T(0) is empty
  std::size_t written = 0;
  auto counter_byte = static_cast<std::uint8_t>(counter);
  while (written < out.size()) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, prk.data(), prk.size());
    crypto_auth_hmacsha256_update(&state, block.data(), block_len);
    crypto_auth_hmacsha256_update(&state, info.data(), info.size());
    crypto_auth_hmacsha256_update(&state, &counter_byte, 1);
    crypto_auth_hmacsha256_final(&state, block.data());
    sodium_memzero(&state, sizeof state);
    block_len = block.size();
    const std::size_t n = std::min(block.size(), out.size() - written);
    std::copy_n(block.begin(), n, out.begin() + static_cast<std::ptrdiff_t>(written));
    written += n;
    ++counter_byte;
  }
  sodium_memzero(block.data(), block.size());
  return {};
}

std::error_code hkdf_sha256(bytes_view salt, bytes_view ikm, bytes_view info, std::span<std::uint8_t> out,
                            hkdf_counter counter) noexcept {
  const secret32 prk = hkdf_sha256_extract(salt, ikm);
  return hkdf_sha256_expand(prk.view(), info, out, counter);
}

public_key sha256(bytes_view message) noexcept {
  public_key out{};
  crypto_hash_sha256(out.data(), message.data(), message.size());
  return out;
}

std::array<std::uint8_t, 64> sha512(bytes_view message) noexcept {
  std::array<std::uint8_t, 64> out{};
  crypto_hash_sha512(out.data(), message.data(), message.size());
  return out;
}

std::error_code x25519(const secret32& secret, const public_key& peer, secret32& shared) noexcept {
  // crypto_scalarmult returns -1 when the result is all zeros (low-order peer point).
  if (crypto_scalarmult(shared.data(), secret.data(), peer.data()) != 0) {
    sodium_memzero(shared.data(), shared.size());
    return errc::invalid_public_key;
  }
  return {};
}

public_key x25519_base(const secret32& secret) noexcept {
  public_key out{};
  crypto_scalarmult_base(out.data(), secret.data());
  return out;
}

namespace {

// The 64-byte libsodium Ed25519 secret key (seed || pk), zeroed when it goes out of scope.
struct ed25519_secret {
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  public_key pk{};
  explicit ed25519_secret(const secret32& seed) noexcept { crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data()); }
  ~ed25519_secret() { sodium_memzero(sk.data(), sk.size()); }
  ed25519_secret(const ed25519_secret&) = delete;
  ed25519_secret& operator=(const ed25519_secret&) = delete;
};

}  // namespace

signature ed25519_sign(const secret32& seed, bytes_view message) noexcept {
  const ed25519_secret key(seed);
  signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), key.sk.data());
  return sig;
}

bool ed25519_verify(const public_key& key, bytes_view message, const signature& sig) noexcept {
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

public_key ed25519_public_from_seed(const secret32& seed) noexcept { return ed25519_secret(seed).pk; }

std::error_code ed25519_pk_to_x25519(const public_key& ed, public_key& x) noexcept {
  if (crypto_sign_ed25519_pk_to_curve25519(x.data(), ed.data()) != 0) {
    return errc::invalid_public_key;
  }
  return {};
}

secret32 ed25519_seed_to_x25519(const secret32& seed) noexcept {
  const ed25519_secret key(seed);
  secret32 out;
  crypto_sign_ed25519_sk_to_curve25519(out.data(), key.sk.data());
  return out;
}

bytes aead_encrypt(bytes_view key, const xnonce& nonce, bytes_view ad, bytes_view plaintext) {
  bytes out(plaintext.size() + aead_tag_bytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &len, plaintext.data(), plaintext.size(), ad.data(), ad.size(),
                                             nullptr, nonce.data(), key.data());
  return out;
}

std::error_code aead_decrypt(bytes_view key, const xnonce& nonce, bytes_view ad, bytes_view ciphertext,
                             bytes& plaintext) {
  if (ciphertext.size() < aead_tag_bytes || key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
    return errc::authentication_failed;
  }
  bytes out(ciphertext.size() - aead_tag_bytes);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, ciphertext.data(), ciphertext.size(),
                                                 ad.data(), ad.size(), nonce.data(), key.data()) != 0) {
    return errc::authentication_failed;
  }
  plaintext = std::move(out);
  return {};
}

bytes pad(bytes_view plaintext, std::size_t block) {
  bytes out(plaintext.begin(), plaintext.end());
  out.resize(plaintext.size() + block);
  std::size_t padded = 0;
  sodium_pad(&padded, out.data(), plaintext.size(), block, out.size());
  out.resize(padded);
  return out;
}

std::error_code unpad(bytes& padded, std::size_t block) noexcept {
  std::size_t len = 0;
  if (sodium_unpad(&len, padded.data(), padded.size(), block) != 0) {
    return errc::authentication_failed;
  }
  padded.resize(len);
  return {};
}

}  // namespace relais::crypto
