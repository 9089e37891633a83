// Property tests of the ratchet (seeded, reproducible): random permutation, loss and
// duplication of messages over many sessions.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "relais/crypto/error.hpp"
#include "relais/crypto/session.hpp"
#include "session_fixture.hpp"

namespace relais::crypto {
namespace {

struct in_flight {
  bool to_bob = true;
  bytes wire;
  bytes plaintext;
  std::size_t id = 0;
  int age = 0;
};

// One session under a hostile network: every delivered message decrypts exactly once (with its
// own plaintext), every re-delivery is rejected as a duplicate without changing the state, and
// the two sides can still talk at the end (no desynchronisation).
void run_session(std::uint32_t seed, int& duplicates_seen) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 gen(seed);
  test::party_pair p(static_cast<std::uint8_t>(seed % 40 + 1));
  p.establish(test::bytes_of("start"));
  std::vector<in_flight> net;
  std::vector<bool> delivered;
  std::size_t next_id = 0;
  auto coin = [&](double prob) { return std::uniform_real_distribution<double>(0, 1)(gen) < prob; };

  for (int round = 0; round < 40; ++round) {
    const bool alice_sends = coin(0.5);
    const int batch = std::uniform_int_distribution<int>(1, 6)(gen);
    for (int i = 0; i < batch; ++i) {
      in_flight m;
      m.to_bob = alice_sends;
      m.id = next_id++;
      m.plaintext = test::bytes_of("msg " + std::to_string(m.id));
      ASSERT_FALSE((alice_sends ? p.alice : p.bob).encrypt(m.plaintext, m.wire));
      delivered.push_back(false);
      if (!coin(0.1)) {  // 10 % lost
        net.push_back(std::move(m));
      }
    }
    std::shuffle(net.begin(), net.end(), gen);
    std::vector<in_flight> keep;
    for (auto& m : net) {
      ++m.age;
      // Deliver with probability 1/2, and always by age 3 (keeps delays within 5 chains).
      if (m.age < 3 && coin(0.5)) {
        keep.push_back(std::move(m));
        continue;
      }
      session& rx = m.to_bob ? p.bob : p.alice;
      deterministic_random& rng = m.to_bob ? p.bob_rng : p.alice_rng;
      const bytes before = test::state_of(rx);
      bytes pt;
      const std::error_code ec = rx.decrypt(m.wire, rng, p.now, pt);
      if (!delivered[m.id]) {
        ASSERT_FALSE(ec) << "message " << m.id << ": " << ec.message();
        EXPECT_EQ(pt, m.plaintext);
        delivered[m.id] = true;
      } else {
        EXPECT_EQ(ec, errc::duplicate_message) << "message " << m.id;
        EXPECT_EQ(test::state_of(rx), before);
        ++duplicates_seen;
      }
      if (coin(0.15)) {  // the network duplicates it
        m.age = 0;
        keep.push_back(std::move(m));
      }
    }
    net = std::move(keep);
  }
  // No desync: both directions still work.
  bytes w;
  bytes pt;
  ASSERT_FALSE(p.alice.encrypt(test::bytes_of("fin a"), w));
  ASSERT_FALSE(p.bob.decrypt(w, p.bob_rng, p.now, pt));
  EXPECT_EQ(pt, test::bytes_of("fin a"));
  ASSERT_FALSE(p.bob.encrypt(test::bytes_of("fin b"), w));
  ASSERT_FALSE(p.alice.decrypt(w, p.alice_rng, p.now, pt));
  EXPECT_EQ(pt, test::bytes_of("fin b"));
}

TEST(SessionProperty, PermutationLossDuplicationOverManySessions) {
  ASSERT_TRUE(sodium_init_once());
  int duplicates = 0;
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    run_session(seed, duplicates);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(duplicates, 50);  // the property was actually exercised
}

TEST(SessionProperty, SkippedKeyStoreIsBounded) {
  test::party_pair p;
  p.establish();
  std::vector<bytes> wires;
  // Three chains of 999 skipped messages each: the store stays at 2000 keys, oldest evicted.
  for (int chain = 0; chain < 3; ++chain) {
    bytes w;
    for (int i = 0; i < 1000; ++i) ASSERT_FALSE(p.alice.encrypt(test::bytes_of("m"), w));
    wires.push_back(w);
    bytes pt;
    ASSERT_FALSE(p.bob.decrypt(w, p.bob_rng, p.now, pt));
    ASSERT_FALSE(p.bob.encrypt(test::bytes_of("r"), w));
    ASSERT_FALSE(p.alice.decrypt(w, p.alice_rng, p.now, pt));
  }
  EXPECT_EQ(p.bob.skipped_key_count(), 2000U);
}

}  // namespace
}  // namespace relais::crypto
