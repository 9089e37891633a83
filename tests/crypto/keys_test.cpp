#include "relais/crypto/keys.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/error.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

TEST(Keys, GenerationDrawsExactly32BytesPerKey) {
  deterministic_random a(bytes(32, 5));
  deterministic_random b(bytes(32, 5));
  const identity_key_pair id = identity_key_pair::generate(a);
  bytes seed(32);
  b.fill(seed);
  EXPECT_EQ(id.public_key_bytes(), identity_key_pair::from_seed(seed).public_key_bytes());
  const x25519_key_pair kp = x25519_key_pair::generate(a);
  b.fill(seed);
  EXPECT_EQ(kp.pub, x25519_key_pair::from_secret(seed).pub);
  EXPECT_EQ(a.draws(), 2U);
}

TEST(Keys, SignedPrekeyMessageLayout) {
  public_key pub{};
  pub.fill(0xAB);
  const bytes msg = signed_prekey_message(0x01020304, pub);
  ASSERT_EQ(msg.size(), 13U + 4U + 32U);
  EXPECT_EQ(std::string(msg.begin(), msg.begin() + 13), "Relais_SPK_v1");
  EXPECT_EQ(msg[13], 0x01);
  EXPECT_EQ(msg[16], 0x04);
}

TEST(Keys, VerifyBundle) {
  deterministic_random rng(bytes(32, 6));
  const identity_key_pair id = identity_key_pair::from_seed(bytes(32, 7));
  const signed_prekey spk = make_signed_prekey(id, 3, rng);
  prekey_bundle b = make_bundle(id, spk, nullptr);
  EXPECT_FALSE(verify_bundle(b));
  b.spk_id = 4;  // the id is signed too
  EXPECT_EQ(verify_bundle(b), errc::authentication_failed);
  b = make_bundle(id, spk, nullptr);
  b.identity_key = public_key{};
  b.identity_key[0] = 1;  // small-order Ed25519 key
  EXPECT_EQ(verify_bundle(b), errc::invalid_public_key);
  b = make_bundle(id, spk, nullptr);
  b.opk_id = no_one_time_prekey;
  EXPECT_EQ(verify_bundle(b), errc::malformed_input);
}

}  // namespace
}  // namespace relais::crypto
