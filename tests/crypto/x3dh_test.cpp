#include "relais/crypto/x3dh.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/error.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

struct x3dh_keys {
  deterministic_random rng{bytes(32, 8)};
  identity_key_pair alice = identity_key_pair::from_seed(bytes(32, 1));
  identity_key_pair bob = identity_key_pair::from_seed(bytes(32, 2));
  signed_prekey spk = make_signed_prekey(bob, 1, rng);
  one_time_prekey opk{2, x25519_key_pair::generate(rng)};
};

TEST(X3dh, BothSidesAgreeWithAndWithoutOpk) {
  x3dh_keys k;
  for (const bool with_opk : {true, false}) {
    x3dh_initiator_result r;
    ASSERT_FALSE(x3dh_initiate(k.alice, make_bundle(k.bob, k.spk, with_opk ? &k.opk : nullptr), k.rng, r));
    secret32 sk;
    x3dh_associated_data ad{};
    ASSERT_FALSE(x3dh_respond(k.bob, k.spk.key, with_opk ? &k.opk.key : nullptr, k.alice.public_key_bytes(),
                              r.ephemeral.pub, sk, ad));
    EXPECT_TRUE(sk.equals(r.shared_secret));
    EXPECT_EQ(ad, r.ad);
    EXPECT_EQ(r.opk_id, with_opk ? 2U : no_one_time_prekey);
    EXPECT_TRUE(std::equal(k.alice.public_key_bytes().begin(), k.alice.public_key_bytes().end(), ad.begin()));
  }
}

TEST(X3dh, OpkChangesTheSecret) {
  x3dh_keys k;
  deterministic_random r1(bytes(32, 9));
  deterministic_random r2(bytes(32, 9));
  x3dh_initiator_result with;
  x3dh_initiator_result without;
  ASSERT_FALSE(x3dh_initiate(k.alice, make_bundle(k.bob, k.spk, &k.opk), r1, with));
  ASSERT_FALSE(x3dh_initiate(k.alice, make_bundle(k.bob, k.spk, nullptr), r2, without));
  EXPECT_FALSE(with.shared_secret.equals(without.shared_secret));
}

TEST(X3dh, RejectsLowOrderKeys) {
  x3dh_keys k;
  prekey_bundle b = make_bundle(k.bob, k.spk, &k.opk);
  b.opk_pub = public_key{};  // OPKs are not signed: checked by the DH
  x3dh_initiator_result r;
  EXPECT_EQ(x3dh_initiate(k.alice, b, k.rng, r), errc::invalid_public_key);
  secret32 sk;
  x3dh_associated_data ad{};
  EXPECT_EQ(x3dh_respond(k.bob, k.spk.key, nullptr, k.alice.public_key_bytes(), public_key{}, sk, ad),
            errc::invalid_public_key);
  public_key bad_identity{};
  bad_identity[0] = 1;
  EXPECT_EQ(x3dh_respond(k.bob, k.spk.key, nullptr, bad_identity, k.opk.key.pub, sk, ad), errc::invalid_public_key);
}

}  // namespace
}  // namespace relais::crypto
