#include "relais/crypto/safety_number.hpp"

#include <sodium.h>

#include <array>

namespace relais::crypto {

std::string safety_number_half(const public_key& identity) {
  constexpr int iterations = 5200;  // Signal's numeric fingerprint
  std::array<std::uint8_t, 64> h{};
  crypto_hash_sha512_state st;
  // Round 1 hashes (0x00 0x00 || IK) || IK; later rounds hash the previous digest || IK.
  std::array<std::uint8_t, 34> first{};
  std::copy(identity.begin(), identity.end(), first.begin() + 2);
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, first.data(), first.size());
  crypto_hash_sha512_update(&st, identity.data(), identity.size());
  crypto_hash_sha512_final(&st, h.data());
  for (int i = 1; i < iterations; ++i) {
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, h.data(), h.size());
    crypto_hash_sha512_update(&st, identity.data(), identity.size());
    crypto_hash_sha512_final(&st, h.data());
  }
  std::string out;
  for (std::size_t chunk = 0; chunk < 6; ++chunk) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      v = (v << 8) | h[chunk * 5 + i];
    }
    std::string digits = std::to_string(v % 100000);
    out += std::string(5 - digits.size(), '0') + digits;
  }
  return out;
}

std::string safety_number(const public_key& a, const public_key& b) {
  std::string ha = safety_number_half(a);
  std::string hb = safety_number_half(b);
  const std::string joined = ha < hb ? ha + hb : hb + ha;
  std::string out;
  for (std::size_t i = 0; i < joined.size(); i += 5) {
    if (i != 0) out += ' ';
    out += joined.substr(i, 5);
  }
  return out;
}

}  // namespace relais::crypto
