#pragma once

#include <map>
#include <memory>

#include "relais/crypto/keys.hpp"
#include "relais/crypto/session.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto::test {

/// A responder's prekey store for tests.
inline bytes seed_bytes(std::uint8_t fill) { return bytes(32, fill); }

/// Alice (initiator) and Bob (responder) with deterministic keys; Bob's session exists once
/// alice's first message has been accepted.
struct party_pair {
  explicit party_pair(std::uint8_t seed = 1, bool with_opk = true)
      : alice_rng(seed_bytes(static_cast<std::uint8_t>(seed + 100))),
        bob_rng(seed_bytes(static_cast<std::uint8_t>(seed + 200))),
        alice_id(identity_key_pair::from_seed(seed_bytes(seed))),
        bob_id(identity_key_pair::from_seed(seed_bytes(static_cast<std::uint8_t>(seed + 50)))) {
    deterministic_random setup(seed_bytes(static_cast<std::uint8_t>(seed + 150)));
    spk = make_signed_prekey(bob_id, 7, setup);
    opk.id = 42;
    opk.key = x25519_key_pair::generate(setup);
    prekeys.spks[spk.id] = spk.key;
    if (with_opk) {
      prekeys.opks[opk.id] = opk.key;
    }
    bundle = make_bundle(bob_id, spk, with_opk ? &opk : nullptr);
  }

  /// Alice initiates, sends `first`, Bob accepts it.
  void establish(bytes_view first = {}) {
    ASSERT_FALSE(session::initiate(alice_id, bundle, alice_rng, alice));
    bytes wire;
    ASSERT_FALSE(alice.encrypt(first, wire));
    bytes pt;
    std::optional<std::uint32_t> used;
    ASSERT_FALSE(session::accept(bob_id, prekeys, wire, bob_rng, now, bob, pt, used));
    ASSERT_EQ(pt, bytes(first.begin(), first.end()));
    if (used) {
      prekeys.opks.erase(*used);
    }
    first_wire = wire;
  }

  deterministic_random alice_rng;
  deterministic_random bob_rng;
  identity_key_pair alice_id;
  identity_key_pair bob_id;
  signed_prekey spk;
  one_time_prekey opk;
  memory_prekeys prekeys;
  prekey_bundle bundle;
  session alice;
  session bob;
  bytes first_wire;
  std::uint64_t now = 1'700'000'000;
};

inline bytes state_of(const session& s) {
  const secure_buffer b = s.serialize();
  return bytes(b.view().begin(), b.view().end());
}

}  // namespace relais::crypto::test
