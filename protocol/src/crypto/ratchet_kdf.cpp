#include "relais/crypto/ratchet_kdf.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

namespace relais::crypto {

std::error_code kdf_rk(const secret32& rk, const secret32& dh_out, std::string_view info, secret32& new_rk,
                       secret32& chain_key, hkdf_counter counter) noexcept {
  std::array<std::uint8_t, 64> out{};
  const std::error_code ec = hkdf_sha256(rk.view(), dh_out.view(), label_bytes(info), out, counter);
  if (!ec) {
    new_rk = secret32(bytes_view(out).first(32));
    chain_key = secret32(bytes_view(out).subspan(32, 32));
  }
  sodium_memzero(out.data(), out.size());
  return ec;
}

void kdf_ck(const secret32& chain_key, secret32& message_key, secret32& next_chain_key) noexcept {
  static constexpr std::array<std::uint8_t, 1> message_constant{0x01};
  static constexpr std::array<std::uint8_t, 1> chain_constant{0x02};
  message_key = hmac_sha256(chain_key.view(), message_constant);
  next_chain_key = hmac_sha256(chain_key.view(), chain_constant);
}

message_keys::~message_keys() { sodium_memzero(nonce.data(), nonce.size()); }

void derive_message_keys(const secret32& message_key, message_keys& out) noexcept {
  std::array<std::uint8_t, 56> okm{};
  // 56 bytes is within HKDF's range: this cannot fail.
  (void)hkdf_sha256({}, message_key.view(), label_bytes(message_keys_info), okm);
  out.key = secret32(bytes_view(okm).first(32));
  std::copy_n(okm.begin() + 32, 24, out.nonce.begin());
  sodium_memzero(okm.data(), okm.size());
}

}  // namespace relais::crypto
