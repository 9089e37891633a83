#pragma once

#include <array>
#include <cstdint>
#include <system_error>

#include "relais/crypto/keys.hpp"

namespace relais::crypto {

/// AD_x3dh = Encode(IK_A) || Encode(IK_B), initiator first.
using x3dh_associated_data = std::array<std::uint8_t, 64>;

/// What the initiator's half of X3DH produces.
struct x3dh_initiator_result {
  secret32 shared_secret;
  x3dh_associated_data ad{};
  x25519_key_pair ephemeral;
  std::uint32_t spk_id = 0;
  std::uint32_t opk_id = no_one_time_prekey;
};

/// Initiator side (CRYPTO.md §3): verifies the bundle, draws EK (one RNG draw), computes SK.
[[nodiscard]] std::error_code x3dh_initiate(const identity_key_pair& initiator, const prekey_bundle& bundle,
                                            random_source& rng, x3dh_initiator_result& out);

/// Responder side: SK from our SPK (and OPK if one was used) and the initiator's IK and EK.
[[nodiscard]] std::error_code x3dh_respond(const identity_key_pair& responder, const x25519_key_pair& spk,
                                           const x25519_key_pair* opk, const public_key& initiator_identity,
                                           const public_key& initiator_ephemeral, secret32& shared_secret,
                                           x3dh_associated_data& ad) noexcept;

}  // namespace relais::crypto
