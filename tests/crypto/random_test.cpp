#include "relais/crypto/random.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

TEST(DeterministicRandom, MatchesIndependentVector) {
  ASSERT_TRUE(sodium_init_once());
  const auto v = test::load_vectors("crypto_derivation_vectors.json")["deterministic_rng"];
  deterministic_random rng(test::hex(v["seed"].get<std::string>()));
  for (const auto& d : v["draws"]) {
    bytes out(d["length"].get<std::size_t>());
    rng.fill(out);
    EXPECT_EQ(test::hex_of(out), d["output"].get<std::string>()) << d["index"];
  }
  EXPECT_EQ(rng.draws(), v["draws"].size());
}

TEST(SystemRandom, ProducesDifferentDraws) {
  ASSERT_TRUE(sodium_init_once());
  system_random rng;
  bytes a(32);
  bytes b(32);
  rng.fill(a);
  rng.fill(b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace relais::crypto
