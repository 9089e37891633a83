#pragma once

#include <string_view>
#include <system_error>

#include "relais/crypto/primitives.hpp"

/// The Double Ratchet KDFs (CRYPTO.md §4), with the info string as a parameter so that Signal's
/// published vectors (info "WhisperRatchet") can be reproduced with the same code.
namespace relais::crypto {

inline constexpr std::string_view ratchet_info = "Relais_Ratchet_v1";
inline constexpr std::string_view message_keys_info = "Relais_MessageKeys_v1";

/// KDF_RK: HKDF(salt = rk, ikm = dh_out, info, 64) -> (new rk, chain key).
[[nodiscard]] std::error_code kdf_rk(const secret32& rk, const secret32& dh_out, std::string_view info, secret32& new_rk,
                                     secret32& chain_key, hkdf_counter counter = hkdf_counter::rfc5869) noexcept;

/// KDF_CK: mk = HMAC(ck, 0x01), next ck = HMAC(ck, 0x02).
void kdf_ck(const secret32& chain_key, secret32& message_key, secret32& next_chain_key) noexcept;

/// The AEAD key and nonce of one message key.
struct message_keys {
  secret32 key;
  xnonce nonce{};
  message_keys() = default;
  ~message_keys();
  message_keys(const message_keys&) = delete;
  message_keys& operator=(const message_keys&) = delete;
};

/// HKDF(salt = zeros, ikm = mk, "Relais_MessageKeys_v1", 56) -> key (0..31), nonce (32..55).
void derive_message_keys(const secret32& message_key, message_keys& out) noexcept;

}  // namespace relais::crypto
