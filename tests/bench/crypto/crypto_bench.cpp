// relais_crypto_bench: steady-state encrypt/decrypt of a 300-byte message on one chain, and a
// full X3DH handshake (initiator + responder, first message included).
#include <benchmark/benchmark.h>

#include <map>
#include <optional>
#include <vector>

#include "relais/crypto/keys.hpp"
#include "relais/crypto/session.hpp"
#include "relais/crypto/sodium_init.hpp"

namespace {

using namespace relais::crypto;

struct fixture {
  fixture() {
    (void)sodium_init_once();
    spk = make_signed_prekey(bob_id, 1, setup_rng);
    opk.id = 2;
    opk.key = x25519_key_pair::generate(setup_rng);
    store.spks[1] = spk.key;
    store.opks[2] = opk.key;
    bundle = make_bundle(bob_id, spk, &opk);
  }
  system_random rng;
  deterministic_random setup_rng{bytes(32, 9)};
  identity_key_pair alice_id = identity_key_pair::from_seed(bytes(32, 1));
  identity_key_pair bob_id = identity_key_pair::from_seed(bytes(32, 2));
  signed_prekey spk;
  one_time_prekey opk;
  memory_prekeys store;
  prekey_bundle bundle;
};

constexpr std::uint64_t now = 1'700'000'000;

// Alice and Bob after the handshake and one reply: Alice sends type 0x02 on a steady chain.
void established(fixture& f, session& alice, session& bob) {
  (void)session::initiate(f.alice_id, f.bundle, f.rng, alice);
  bytes wire;
  bytes pt;
  std::optional<std::uint32_t> used;
  (void)alice.encrypt(bytes(1, 0), wire);
  (void)session::accept(f.bob_id, f.store, wire, f.rng, now, bob, pt, used);
  (void)bob.encrypt(bytes(1, 0), wire);
  (void)alice.decrypt(wire, f.rng, now, pt);
}

void BM_Encrypt300(benchmark::State& state) {
  fixture f;
  session alice;
  session bob;
  established(f, alice, bob);
  const bytes msg(300, 'x');
  bytes wire;
  for (auto _ : state) {
    benchmark::DoNotOptimize(alice.encrypt(msg, wire));
    benchmark::DoNotOptimize(wire.data());
  }
}
BENCHMARK(BM_Encrypt300);

void BM_Decrypt300(benchmark::State& state) {
  fixture f;
  session alice;
  session bob;
  established(f, alice, bob);
  const bytes msg(300, 'x');
  // Pre-encrypt in order so that each decrypt is the next message of the same chain.
  std::vector<bytes> wires(1 << 16);
  for (auto& w : wires) (void)alice.encrypt(msg, w);
  std::size_t i = 0;
  bytes pt;
  for (auto _ : state) {
    if (i == wires.size()) {
      state.PauseTiming();
      for (auto& w : wires) (void)alice.encrypt(msg, w);
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(bob.decrypt(wires[i++], f.rng, now, pt));
  }
}
BENCHMARK(BM_Decrypt300);

void BM_X3dhHandshake(benchmark::State& state) {
  fixture f;
  bytes wire;
  bytes pt;
  for (auto _ : state) {
    session alice;
    session bob;
    std::optional<std::uint32_t> used;
    benchmark::DoNotOptimize(session::initiate(f.alice_id, f.bundle, f.rng, alice));
    benchmark::DoNotOptimize(alice.encrypt(bytes(300, 'x'), wire));
    benchmark::DoNotOptimize(session::accept(f.bob_id, f.store, wire, f.rng, now, bob, pt, used));
  }
}
BENCHMARK(BM_X3dhHandshake);

}  // namespace

BENCHMARK_MAIN();
