#include "relais/crypto/primitives.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/error.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

using test::hex;
using test::hex_of;

class RfcVectors : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sodium_init_once()); }
  nlohmann::json v_ = test::load_vectors("crypto_rfc_vectors.json");
};

TEST_F(RfcVectors, X25519Rfc7748Section52) {
  ASSERT_EQ(v_["x25519"].size(), 2U);
  for (const auto& t : v_["x25519"]) {
    secret32 out;
    ASSERT_FALSE(x25519(secret32(hex(t["scalar"].get<std::string>())), test::key32(t["u"].get<std::string>()), out));
    EXPECT_EQ(hex_of(out.view()), t["output"].get<std::string>()) << t["source"];
  }
}

TEST_F(RfcVectors, X25519Rfc7748Iterated) {
  ASSERT_FALSE(v_["x25519_iterated"].empty());
  public_key k{};
  k[0] = 9;
  public_key u = k;
  for (int i = 1; i <= 1000; ++i) {
    secret32 out;
    ASSERT_FALSE(x25519(secret32(k), u, out));
    u = k;
    std::copy_n(out.data(), 32, k.begin());
    for (const auto& t : v_["x25519_iterated"]) {
      if (t["iterations"].get<int>() == i) {
        EXPECT_EQ(hex_of(k), t["output"].get<std::string>()) << i;
      }
    }
  }
}

TEST_F(RfcVectors, X25519Rfc7748Section61) {
  for (const auto& t : v_["x25519_dh"]) {
    const secret32 a(hex(t["alice_private"].get<std::string>()));
    const secret32 b(hex(t["bob_private"].get<std::string>()));
    EXPECT_EQ(hex_of(x25519_base(a)), t["alice_public"].get<std::string>());
    EXPECT_EQ(hex_of(x25519_base(b)), t["bob_public"].get<std::string>());
    secret32 s1;
    secret32 s2;
    ASSERT_FALSE(x25519(a, test::key32(t["bob_public"].get<std::string>()), s1));
    ASSERT_FALSE(x25519(b, test::key32(t["alice_public"].get<std::string>()), s2));
    EXPECT_EQ(hex_of(s1.view()), t["shared"].get<std::string>());
    EXPECT_EQ(hex_of(s2.view()), t["shared"].get<std::string>());
  }
}

TEST_F(RfcVectors, Ed25519Rfc8032Section71) {
  ASSERT_EQ(v_["ed25519"].size(), 3U);
  for (const auto& t : v_["ed25519"]) {
    const secret32 seed(hex(t["secret_key"].get<std::string>()));
    const bytes msg = hex(t["message"].get<std::string>());
    EXPECT_EQ(hex_of(ed25519_public_from_seed(seed)), t["public_key"].get<std::string>());
    const signature sig = ed25519_sign(seed, msg);
    EXPECT_EQ(hex_of(sig), t["signature"].get<std::string>()) << t["source"];
    EXPECT_TRUE(ed25519_verify(test::key32(t["public_key"].get<std::string>()), msg, sig));
    signature bad = sig;
    bad[5] ^= 1;
    EXPECT_FALSE(ed25519_verify(test::key32(t["public_key"].get<std::string>()), msg, bad));
  }
}

TEST_F(RfcVectors, HmacSha256Rfc4231) {
  ASSERT_EQ(v_["hmac_sha256"].size(), 6U);
  for (const auto& t : v_["hmac_sha256"]) {
    EXPECT_EQ(hex_of(hmac_sha256(hex(t["key"].get<std::string>()), hex(t["data"].get<std::string>())).view()),
              t["mac"].get<std::string>())
        << t["source"];
  }
}

TEST_F(RfcVectors, HkdfSha256Rfc5869) {
  ASSERT_EQ(v_["hkdf_sha256"].size(), 3U);
  for (const auto& t : v_["hkdf_sha256"]) {
    const bytes salt = hex(t["salt"].get<std::string>());
    const bytes ikm = hex(t["ikm"].get<std::string>());
    EXPECT_EQ(hex_of(hkdf_sha256_extract(salt, ikm).view()), t["prk"].get<std::string>()) << t["source"];
    bytes okm(t["length"].get<std::size_t>());
    ASSERT_FALSE(hkdf_sha256(salt, ikm, hex(t["info"].get<std::string>()), okm));
    EXPECT_EQ(hex_of(okm), t["okm"].get<std::string>()) << t["source"];
  }
}

TEST_F(RfcVectors, XChaCha20Poly1305DraftA3) {
  for (const auto& t : v_["xchacha20poly1305"]) {
    const bytes key = hex(t["key"].get<std::string>());
    const bytes n = hex(t["nonce"].get<std::string>());
    xnonce nonce{};
    std::copy(n.begin(), n.end(), nonce.begin());
    const bytes aad = hex(t["aad"].get<std::string>());
    const bytes pt = hex(t["plaintext"].get<std::string>());
    const bytes ct = aead_encrypt(key, nonce, aad, pt);
    EXPECT_EQ(hex_of(ct), t["ciphertext"].get<std::string>() + t["tag"].get<std::string>());
    bytes back;
    ASSERT_FALSE(aead_decrypt(key, nonce, aad, ct, back));
    EXPECT_EQ(back, pt);
    bytes tampered = ct;
    tampered.back() ^= 0x80;
    EXPECT_EQ(aead_decrypt(key, nonce, aad, tampered, back), errc::authentication_failed);
  }
}

TEST(Primitives, HkdfRejectsBadLengths) {
  bytes empty;
  bytes too_long(hkdf_max_output + 1);
  EXPECT_EQ(hkdf_sha256({}, {}, {}, empty), errc::malformed_input);
  EXPECT_EQ(hkdf_sha256({}, {}, {}, too_long), errc::malformed_input);
  bytes max(hkdf_max_output);
  EXPECT_FALSE(hkdf_sha256({}, {}, {}, max));
}

TEST(Primitives, EmptySaltIsThirtyTwoZeros) {
  const bytes zeros(32, 0);
  const bytes ikm = test::bytes_of("ikm");
  EXPECT_TRUE(hkdf_sha256_extract({}, ikm).equals(hkdf_sha256_extract(zeros, ikm)));
}

TEST(Primitives, X25519RejectsLowOrderPoints) {
  ASSERT_TRUE(sodium_init_once());
  const secret32 sk(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  // 0, 1 and a point of order 8 (from the libsodium/curve25519 blacklist).
  for (const char* p : {"0000000000000000000000000000000000000000000000000000000000000000",
                        "0100000000000000000000000000000000000000000000000000000000000000",
                        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
    secret32 out;
    EXPECT_EQ(x25519(sk, test::key32(p), out), errc::invalid_public_key) << p;
  }
}

TEST(Primitives, Ed25519ToX25519RejectsSmallOrderKey) {
  public_key x{};
  public_key small{};
  small[0] = 1;  // the identity point
  EXPECT_EQ(ed25519_pk_to_x25519(small, x), errc::invalid_public_key);
}

TEST(Primitives, PadToBuckets) {
  EXPECT_EQ(pad({}, 256).size(), 256U);
  EXPECT_EQ(pad(bytes(255, 1), 256).size(), 256U);
  EXPECT_EQ(pad(bytes(256, 1), 256).size(), 512U);
  bytes p = pad(bytes(300, 7), 256);
  ASSERT_FALSE(unpad(p, 256));
  EXPECT_EQ(p, bytes(300, 7));
  bytes bad(256, 0);
  EXPECT_EQ(unpad(bad, 256), errc::authentication_failed);
}

}  // namespace
}  // namespace relais::crypto
