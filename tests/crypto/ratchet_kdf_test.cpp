#include "relais/crypto/ratchet_kdf.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

using test::hex;
using test::hex_of;

// libsignal's "chain key derivation v3": KDF_CK is exactly Signal's chain step.
TEST(SignalKdfVectors, ChainKeyDerivationV3) {
  const auto v = test::load_vectors("crypto_signal_kdf_vectors.json")["chain_key_derivation_v3"];
  const secret32 ck(hex(v["seed"].get<std::string>()));
  secret32 mk;
  secret32 next;
  kdf_ck(ck, mk, next);
  EXPECT_EQ(hex_of(next.view()), v["next_chain_key"].get<std::string>());
  bytes okm(80);
  ASSERT_FALSE(hkdf_sha256({}, mk.view(), test::bytes_of(v["message_keys_info"].get<std::string>()), okm));
  EXPECT_EQ(hex_of(bytes_view(okm).first(32)), v["cipher_key"].get<std::string>());
  EXPECT_EQ(hex_of(bytes_view(okm).subspan(32, 32)), v["mac_key"].get<std::string>());
}

// libsignal's "root key derivation v2": KDF_RK with Signal's info string and legacy HKDF.
TEST(SignalKdfVectors, RootKeyDerivationV2) {
  ASSERT_TRUE(sodium_init_once());
  const auto v = test::load_vectors("crypto_signal_kdf_vectors.json")["root_key_derivation_v2"];
  const bytes bob = hex(v["bob_public"].get<std::string>());
  ASSERT_EQ(bob.size(), 33U);
  ASSERT_EQ(bob[0], 0x05);  // libsignal's Curve25519 type prefix
  public_key bob_pub{};
  std::copy(bob.begin() + 1, bob.end(), bob_pub.begin());
  secret32 dh;
  ASSERT_FALSE(x25519(secret32(hex(v["alice_private"].get<std::string>())), bob_pub, dh));
  ASSERT_EQ(v["hkdf_counter_start"].get<int>(), 0);
  secret32 root;
  secret32 chain;
  ASSERT_FALSE(kdf_rk(secret32(hex(v["root_key"].get<std::string>())), dh, v["info"].get<std::string>(), root, chain,
                      hkdf_counter::signal_legacy_v2));
  EXPECT_EQ(hex_of(root.view()), v["expected_next_root"].get<std::string>());
  EXPECT_EQ(hex_of(chain.view()), v["expected_next_chain"].get<std::string>());
  // The RFC 5869 counter gives different bytes: the variant is what the vector needs.
  ASSERT_FALSE(kdf_rk(secret32(hex(v["root_key"].get<std::string>())), dh, v["info"].get<std::string>(), root, chain));
  EXPECT_NE(hex_of(root.view()), v["expected_next_root"].get<std::string>());
}

TEST(RatchetKdf, MessageKeysAreHkdfOfMessageKey) {
  const secret32 mk(bytes(32, 0x42));
  message_keys keys;
  derive_message_keys(mk, keys);
  bytes okm(56);
  ASSERT_FALSE(hkdf_sha256({}, mk.view(), test::bytes_of("Relais_MessageKeys_v1"), okm));
  EXPECT_EQ(hex_of(keys.key.view()), hex_of(bytes_view(okm).first(32)));
  EXPECT_EQ(hex_of(keys.nonce), hex_of(bytes_view(okm).subspan(32, 24)));
}

}  // namespace
}  // namespace relais::crypto
