#include "relais_protocol_client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "relais/crypto/sodium_init.hpp"
#include "relais/protocol/base64url.hpp"

namespace relais::bench {
namespace {

TEST(ClientMsgIdStamp, ReadsTheStamp) {
  EXPECT_EQ(stamp_of_client_msg_id("b000000000001-00000000000000001234"), 1234U);
  EXPECT_EQ(stamp_of_client_msg_id("w000000000042-18446744073709551615"), UINT64_MAX);
}

TEST(ClientMsgIdStamp, MadeIdsCarryTheirStamp) {
  const auto id = make_client_msg_id('w', 42, 987654321);
  EXPECT_EQ(id, "w000000000042-00000000000987654321");
  EXPECT_EQ(stamp_of_client_msg_id(id), 987654321U);
}

TEST(ClientMsgIdStamp, RejectsSetupIds) { EXPECT_FALSE(stamp_of_client_msg_id("setup-b-3-000000000").has_value()); }

TEST(ClientMsgIdStamp, RejectsWrongSide) {
  EXPECT_FALSE(stamp_of_client_msg_id("x000000000001-00000000000000001234").has_value());
}

TEST(ClientMsgIdStamp, RejectsTruncated) {
  EXPECT_FALSE(stamp_of_client_msg_id("b000000000001-0000000000000000123").has_value());
}

TEST(ClientMsgIdStamp, RejectsNonDigits) {
  EXPECT_FALSE(stamp_of_client_msg_id("b000000000001-0000000000000000123x").has_value());
}

TEST(ClientMsgIdStamp, RejectsOverflow) {
  EXPECT_FALSE(stamp_of_client_msg_id("b000000000001-99999999999999999999").has_value());
}

TEST(OrgKeyFile, RoundTrip) {
  ASSERT_TRUE(crypto::sodium_init_once());
  char path[] = "/tmp/relais-bench-org-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const auto pub = make_org_key_file(path);
  const auto key = load_org_key_file(path);
  EXPECT_EQ(pub, protocol::base64url_encode(std::span<const std::uint8_t>(key.public_key_bytes())));
  std::remove(path);
}

TEST(OrgKeyFile, RejectsBadSeed) {
  char path[] = "/tmp/relais-bench-org-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "abcd\n";
  EXPECT_THROW((void)load_org_key_file(path), std::runtime_error);
  std::remove(path);
}

TEST(PrecomputedCiphertext, IsPaddedAndBase64url) {
  ASSERT_TRUE(crypto::sodium_init_once());
  const auto text = make_precomputed_ciphertext(300);
  std::error_code ec;
  const auto bytes = protocol::base64url_decode(text, ec);
  ASSERT_FALSE(ec);
  // 300 bytes pad to 512; the wire adds the header and the AEAD tag.
  EXPECT_GT(bytes.size(), 512U);
  EXPECT_LT(bytes.size(), 700U);
}

}  // namespace
}  // namespace relais::bench
