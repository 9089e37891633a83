#include "relais/crypto/safety_number.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace relais::crypto {
namespace {

TEST(SafetyNumber, MatchesIndependentVectorAndIsSymmetric) {
  const auto v = test::load_vectors("crypto_derivation_vectors.json")["safety_number"];
  const public_key a = test::key32(v["identity_a"].get<std::string>());
  const public_key b = test::key32(v["identity_b"].get<std::string>());
  EXPECT_EQ(safety_number_half(a), v["half_a"].get<std::string>());
  EXPECT_EQ(safety_number_half(b), v["half_b"].get<std::string>());
  EXPECT_EQ(safety_number(a, b), v["safety_number"].get<std::string>());
  EXPECT_EQ(safety_number(b, a), safety_number(a, b));
  EXPECT_EQ(safety_number(a, b).size(), 60U + 11U);
}

}  // namespace
}  // namespace relais::crypto
