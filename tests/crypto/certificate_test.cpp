#include "relais/crypto/certificate.hpp"

#include <gtest/gtest.h>

#include "relais/crypto/error.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

using test::hex;

class Certificate : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sodium_init_once()); }
  nlohmann::json v_ = test::load_vectors("crypto_derivation_vectors.json");
  identity_key_pair org_ = identity_key_pair::from_seed(hex(v_["worker_certificate"]["org_seed"].get<std::string>()));
  worker_certificate cert_{org_.public_key_bytes(),
                           test::key32(v_["worker_certificate"]["worker_identity"].get<std::string>()), 1700000000,
                           1731536000, v_["worker_certificate"]["display_name"].get<std::string>()};
};

TEST_F(Certificate, MatchesIndependentVector) {
  bytes out;
  ASSERT_FALSE(sign_worker_certificate(org_, cert_, out));
  EXPECT_EQ(test::hex_of(out), v_["worker_certificate"]["certificate"].get<std::string>());
  worker_certificate parsed;
  ASSERT_FALSE(verify_worker_certificate(out, org_.public_key_bytes(), 1700000000, parsed));
  EXPECT_EQ(parsed.display_name, cert_.display_name);
  EXPECT_EQ(parsed.worker_identity, cert_.worker_identity);
}

TEST_F(Certificate, OrgFingerprintMatchesVector) {
  EXPECT_EQ(org_fingerprint(test::key32(v_["org_fingerprint"]["org_public_key"].get<std::string>())),
            v_["org_fingerprint"]["fingerprint"].get<std::string>());
  EXPECT_EQ(org_fingerprint(org_.public_key_bytes()).size(), 43U);
}

TEST_F(Certificate, RejectsBadSignature) {
  bytes out;
  ASSERT_FALSE(sign_worker_certificate(org_, cert_, out));
  worker_certificate parsed;
  for (std::size_t i : {std::size_t{60}, out.size() - 70, out.size() - 1}) {  // worker key, name, signature
    bytes bad = out;
    bad[i] ^= 0x01;
    EXPECT_EQ(verify_worker_certificate(bad, org_.public_key_bytes(), 1700000000, parsed), errc::authentication_failed)
        << i;
  }
}

TEST_F(Certificate, RejectsOtherOrgAndExpiry) {
  bytes out;
  ASSERT_FALSE(sign_worker_certificate(org_, cert_, out));
  worker_certificate parsed;
  public_key other = org_.public_key_bytes();
  other[0] ^= 1;
  EXPECT_EQ(verify_worker_certificate(out, other, 1700000000, parsed), errc::untrusted_org_key);
  EXPECT_EQ(verify_worker_certificate(out, org_.public_key_bytes(), 1731536001, parsed),
            errc::certificate_not_valid_now);
  EXPECT_EQ(verify_worker_certificate(out, org_.public_key_bytes(), 1699999999, parsed),
            errc::certificate_not_valid_now);
  EXPECT_FALSE(verify_worker_certificate(out, org_.public_key_bytes(), 1731536000, parsed));
}

TEST_F(Certificate, RejectsTruncatedAndOversized) {
  bytes out;
  ASSERT_FALSE(sign_worker_certificate(org_, cert_, out));
  worker_certificate parsed;
  for (std::size_t len = 0; len < out.size(); ++len) {
    EXPECT_EQ(verify_worker_certificate(bytes_view(out).first(len), org_.public_key_bytes(), 1700000000, parsed),
              errc::malformed_input)
        << len;
  }
  bytes longer = out;
  longer.push_back(0);
  EXPECT_EQ(verify_worker_certificate(longer, org_.public_key_bytes(), 1700000000, parsed), errc::malformed_input);
  worker_certificate long_name = cert_;
  long_name.display_name = std::string(65, 'x');
  EXPECT_EQ(sign_worker_certificate(org_, long_name, out), errc::malformed_input);
}

TEST_F(Certificate, TransferMatchesVectorAndNeedsCurrentWorker) {
  const auto& t = v_["transfer"];
  const identity_key_pair from = identity_key_pair::from_seed(hex(t["from_seed"].get<std::string>()));
  transfer_message msg{t["conversation_id"].get<std::string>(), from.public_key_bytes(),
                       test::key32(t["to_worker"].get<std::string>()), t["issued_at"].get<std::uint64_t>()};
  bytes out;
  ASSERT_FALSE(sign_transfer(from, msg, out));
  EXPECT_EQ(test::hex_of(out), t["message"].get<std::string>());
  transfer_message parsed;
  ASSERT_FALSE(verify_transfer(out, from.public_key_bytes(), parsed));
  EXPECT_EQ(parsed.conversation_id, "conv-001");
  // The server cannot decide a transfer: only the current worker's signature counts.
  EXPECT_EQ(verify_transfer(out, msg.to_worker, parsed), errc::authentication_failed);
  bytes bad = out;
  bad[20] ^= 1;
  EXPECT_EQ(verify_transfer(bad, from.public_key_bytes(), parsed), errc::authentication_failed);
  EXPECT_EQ(verify_transfer(bytes_view(out).first(out.size() - 1), from.public_key_bytes(), parsed),
            errc::malformed_input);
}

}  // namespace
}  // namespace relais::crypto
