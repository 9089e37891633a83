// relais_crypto_differential: runs a scripted X3DH + Double Ratchet exchange with fixed keys and
// prints every input, wire message and serialised state as JSON, for python_differential.py to
// replay with Debian's python3-x3dh / python3-doubleratchet and compare byte for byte.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "relais/crypto/encoding.hpp"
#include "relais/crypto/keys.hpp"
#include "relais/crypto/session.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "relais/crypto/x3dh.hpp"

namespace {

using namespace relais::crypto;

std::string state_hex(const session& s) { return to_hex(s.serialize().view()); }

nlohmann::json draws(bytes_view seed, int n) {
  deterministic_random rng(seed);
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    bytes d(32);
    rng.fill(d);
    out.push_back(to_hex(d));
  }
  return out;
}

int run() {
  const bytes alice_seed(32, 0x11);
  const bytes bob_seed(32, 0x22);
  const bytes alice_rng_seed(32, 0x33);
  const bytes bob_rng_seed(32, 0x44);
  const bytes spk_secret(32, 0x55);
  const bytes opk_secret(32, 0x66);
  const std::uint64_t now = 1'700'000'000;

  const identity_key_pair alice_id = identity_key_pair::from_seed(alice_seed);
  const identity_key_pair bob_id = identity_key_pair::from_seed(bob_seed);
  signed_prekey spk;
  spk.id = 1;
  spk.key = x25519_key_pair::from_secret(spk_secret);
  spk.sig = bob_id.sign(signed_prekey_message(spk.id, spk.key.pub));
  one_time_prekey opk;
  opk.id = 2;
  opk.key = x25519_key_pair::from_secret(opk_secret);
  memory_prekeys store;
  store.spks[1] = spk.key;
  store.opks[2] = opk.key;
  const prekey_bundle bundle = make_bundle(bob_id, spk, &opk);

  nlohmann::json out;
  out["alice_identity_seed"] = to_hex(alice_seed);
  out["bob_identity_seed"] = to_hex(bob_seed);
  out["spk_secret"] = to_hex(spk_secret);
  out["opk_secret"] = to_hex(opk_secret);
  out["spk_pub"] = to_hex(spk.key.pub);
  out["opk_pub"] = to_hex(opk.key.pub);
  out["alice_draws"] = draws(alice_rng_seed, 12);  // draw 0 = EK, then ratchet keys
  out["bob_draws"] = draws(bob_rng_seed, 12);

  {  // X3DH on its own (with a separate RNG of the same seed: the same EK)
    deterministic_random rng(alice_rng_seed);
    x3dh_initiator_result r;
    if (x3dh_initiate(alice_id, bundle, rng, r)) return 1;
    secret32 sk_b;
    x3dh_associated_data ad_b{};
    if (x3dh_respond(bob_id, spk.key, &opk.key, alice_id.public_key_bytes(), r.ephemeral.pub, sk_b, ad_b)) return 1;
    out["x3dh"] = {{"initiator_sk", to_hex(r.shared_secret.view())},
                   {"responder_sk", to_hex(sk_b.view())},
                   {"ad", to_hex(r.ad)},
                   {"ek_pub", to_hex(r.ephemeral.pub)}};
  }

  deterministic_random alice_rng(alice_rng_seed);
  deterministic_random bob_rng(bob_rng_seed);
  session alice;
  session bob;
  bool bob_started = false;
  if (session::initiate(alice_id, bundle, alice_rng, alice)) return 1;

  std::vector<bytes> wires;
  nlohmann::json steps = nlohmann::json::array();
  auto send = [&](bool from_alice, const std::string& text) {
    bytes wire;
    session& s = from_alice ? alice : bob;
    if (s.encrypt(bytes(text.begin(), text.end()), wire)) throw std::runtime_error("encrypt");  // cannot fail here
    wires.push_back(wire);
    steps.push_back({{"op", "send"}, {"from", from_alice ? "alice" : "bob"}, {"index", wires.size() - 1},
                     {"plaintext", to_hex(bytes(text.begin(), text.end()))}, {"wire", to_hex(wire)},
                     {"state", state_hex(s)}});
  };
  auto receive = [&](bool to_bob, std::size_t index) {
    if (index >= wires.size()) throw std::logic_error("script delivers an unsent message");
    bytes pt;
    if (to_bob && !bob_started) {
      std::optional<std::uint32_t> used;
      if (session::accept(bob_id, store, wires[index], bob_rng, now, bob, pt, used)) throw std::runtime_error("accept");
      bob_started = true;
    } else if ((to_bob ? bob : alice).decrypt(wires[index], to_bob ? bob_rng : alice_rng, now, pt)) {
      throw std::runtime_error("decrypt");
    }
    steps.push_back({{"op", "receive"}, {"to", to_bob ? "bob" : "alice"}, {"index", index},
                     {"plaintext", to_hex(pt)}, {"state", state_hex(to_bob ? bob : alice)}});
  };
  send(true, "m0");
  send(true, "m1");
  receive(true, 0);
  receive(true, 1);
  send(false, "r0");
  send(false, "r1");
  receive(false, 3);  // out of order: r1 before r0
  receive(false, 2);
  send(true, "m2");
  send(true, "m3");
  send(true, "m4");
  receive(true, 6);  // m4, leaving m2 and m3 as skipped keys
  receive(true, 4);  // m2 from a skipped key
  send(false, "r2");
  receive(false, 7);
  receive(true, 5);  // m3, still skipped, after Bob's DH step
  send(true, "m5 after several DH ratchet steps");
  receive(true, 8);
  out["steps"] = std::move(steps);
  std::cout << out.dump(1) << '\n';
  return 0;
}

}  // namespace

int main() {
  if (!sodium_init_once()) return 1;
  try {
    return run();
  } catch (const std::exception& ex) {
    std::cerr << "relais_crypto_differential: " << ex.what() << '\n';
    return 1;
  }
}
