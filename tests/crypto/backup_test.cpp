#include "relais/crypto/backup.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/error.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

using test::hex_of;

class Backup : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sodium_init_once()); }
  nlohmann::json v_ = test::load_vectors("crypto_derivation_vectors.json");
  deterministic_random rng_{bytes(32, 7)};
};

TEST_F(Backup, ResumeCodeNormalisesAndDerivesVector) {
  const auto& r = v_["resume_code"];
  std::string canonical;
  ASSERT_FALSE(normalize_resume_code(r["typed"].get<std::string>(), canonical));
  EXPECT_EQ(canonical, r["canonical"].get<std::string>());
  backup_keys keys;
  ASSERT_FALSE(derive_resume_keys(canonical, keys));
  EXPECT_EQ(hex_of(keys.key.view()), r["backup_key"].get<std::string>());
  EXPECT_EQ(hex_of(keys.lookup_id), r["lookup_id"].get<std::string>());
}

TEST_F(Backup, ResumeCodeFormatAndBadCodes) {
  const std::string code = generate_resume_code(rng_);
  ASSERT_EQ(code.size(), 14U);
  EXPECT_EQ(code[4], '-');
  EXPECT_EQ(code[9], '-');
  std::string c;
  EXPECT_FALSE(normalize_resume_code(code, c));
  EXPECT_EQ(normalize_resume_code("ABCD-EFGH-JKM", c), errc::bad_code);     // 11 chars
  EXPECT_EQ(normalize_resume_code("ABCD-EFGH-JKMNP", c), errc::bad_code);   // 13 chars
  EXPECT_EQ(normalize_resume_code("ABCD-EFGH-JKMU", c), errc::bad_code);    // U is not Crockford
  EXPECT_EQ(normalize_resume_code("ABCD-EFGH-JK!N", c), errc::bad_code);
  EXPECT_FALSE(normalize_resume_code("abcd efgh jkmo", c));
  EXPECT_EQ(c, "ABCDEFGHJKM0");
}

TEST_F(Backup, RecoveryKeyPrintsAndParsesVector) {
  const auto& r = v_["recovery_key"];
  secret32 key;
  ASSERT_FALSE(parse_recovery_key(r["printed"].get<std::string>(), key));
  EXPECT_EQ(hex_of(key.view()), r["key"].get<std::string>());
  const backup_keys keys = derive_recovery_keys(key);
  EXPECT_EQ(hex_of(keys.key.view()), r["blob_key"].get<std::string>());
  EXPECT_EQ(hex_of(keys.lookup_id), r["lookup_id"].get<std::string>());
  secret32 fresh;
  const std::string printed = generate_recovery_key(rng_, fresh);
  EXPECT_EQ(printed.size(), 52U + 12U);
  secret32 back;
  ASSERT_FALSE(parse_recovery_key(printed, back));
  EXPECT_TRUE(back.equals(fresh));
  std::string bad_filler = r["printed"].get<std::string>();
  bad_filler.back() = '1';  // non-zero filler bits
  EXPECT_EQ(parse_recovery_key(bad_filler, back), errc::bad_code);
  EXPECT_EQ(parse_recovery_key(printed.substr(0, printed.size() - 1), back), errc::bad_code);
}

TEST_F(Backup, BlobRoundTripAndFailures) {
  const secret32 key(bytes(32, 3));
  const bytes plain = test::bytes_of("identity + history");
  bytes blob;
  ASSERT_FALSE(seal_blob(blob_kind::resume_backup, key, plain, rng_, blob));
  EXPECT_EQ(blob.size(), 1 + 24 + plain.size() + 16);
  secure_buffer out;
  ASSERT_FALSE(open_blob(blob_kind::resume_backup, key, blob, out));
  EXPECT_EQ(bytes(out.view().begin(), out.view().end()), plain);
  // A resume backup cannot be opened as a recovery blob (different AD), nor with another key.
  EXPECT_EQ(open_blob(blob_kind::recovery, key, blob, out), errc::authentication_failed);
  EXPECT_EQ(open_blob(blob_kind::resume_backup, secret32(bytes(32, 4)), blob, out), errc::authentication_failed);
  for (std::size_t i : {std::size_t{1}, std::size_t{30}, blob.size() - 1}) {
    bytes bad = blob;
    bad[i] ^= 1;
    EXPECT_EQ(open_blob(blob_kind::resume_backup, key, bad, out), errc::authentication_failed) << i;
  }
  bytes version = blob;
  version[0] = 2;
  EXPECT_EQ(open_blob(blob_kind::resume_backup, key, version, out), errc::unsupported_version);
  for (std::size_t len = 0; len < 1 + 24 + 16; ++len) {
    EXPECT_EQ(open_blob(blob_kind::resume_backup, key, bytes_view(blob).first(len), out), errc::malformed_input)
        << len;
  }
}

TEST_F(Backup, KeystoreRoundTripAndWrongPassphrase) {
  const bytes plain = test::bytes_of("worker identity seed and prekeys");
  bytes blob;
  ASSERT_FALSE(seal_keystore("correct horse", plain, rng_, blob));
  EXPECT_EQ(blob.size(), 1 + 16 + 24 + plain.size() + 16);
  secure_buffer out;
  ASSERT_FALSE(open_keystore("correct horse", blob, out));
  EXPECT_EQ(bytes(out.view().begin(), out.view().end()), plain);
  EXPECT_EQ(open_keystore("wrong horse", blob, out), errc::authentication_failed);
  EXPECT_EQ(open_keystore("correct horse", bytes_view(blob).first(20), out), errc::malformed_input);
}

}  // namespace
}  // namespace relais::crypto
