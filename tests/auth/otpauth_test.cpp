#include "relais/auth/otpauth.hpp"

#include <gtest/gtest.h>

#include "relais/auth/error.hpp"
#include "relais/auth/limits.hpp"

namespace {

using relais::auth::errc;
using relais::auth::make_otpauth_uri;
using relais::auth::percent_encode;

TEST(Otpauth, BuildsThePrococolExample) {
  // PROTOCOL.md §6.2's example: JBSWY3DPEHPK3PXP is "Hello!" followed by DE AD BE EF.
  std::error_code ec;
  auto uri = make_otpauth_uri("Hello!\xde\xad\xbe\xef", "camille", "Relais", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(uri,
            "otpauth://totp/Relais:camille?secret=JBSWY3DPEHPK3PXP&issuer=Relais&algorithm=SHA1&digits=6&period=30");
}

TEST(Otpauth, PercentEncodesIssuerAndAccount) {
  std::error_code ec;
  auto uri = make_otpauth_uri(std::string(20, '\0'), "a b@c:d", "Écoute & Co", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(uri,
            "otpauth://totp/%C3%89coute%20%26%20Co:a%20b%40c%3Ad?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            "&issuer=%C3%89coute%20%26%20Co&algorithm=SHA1&digits=6&period=30");
}

TEST(Otpauth, SaysTheDigitsAndPeriodItIsCheckedWith) {
  relais::auth::totp_params eight;
  eight.digits = 8;
  eight.period = 60;
  std::error_code ec;
  auto uri = make_otpauth_uri("k", "a", "I", ec, eight);
  EXPECT_FALSE(ec);
  EXPECT_EQ(uri, "otpauth://totp/I:a?secret=NM&issuer=I&algorithm=SHA1&digits=8&period=60");
}

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("/?#[]@!$&'()*+,;=%"), "%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25");
  EXPECT_EQ(percent_encode(std::string("\0\x7f\xff", 3)), "%00%7F%FF");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(Otpauth, AcceptsExactlyTheProtocolLimitAndRefusesOneByteMore) {
  const std::string secret(relais::auth::limits::totp_secret_bytes, '\x42');
  std::error_code ec;
  auto base = make_otpauth_uri(secret, "a", "I", ec);
  ASSERT_FALSE(ec);
  auto room = relais::auth::limits::max_otpauth_uri_bytes - base.size();
  auto longest = make_otpauth_uri(secret, std::string(1 + room, 'a'), "I", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(longest.size(), relais::auth::limits::max_otpauth_uri_bytes);
  auto too_long = make_otpauth_uri(secret, std::string(2 + room, 'a'), "I", ec);
  EXPECT_EQ(ec, errc::too_long);
  EXPECT_TRUE(too_long.empty());
}

TEST(Otpauth, CountsPercentEncodingTowardTheLimit) {
  // 150 spaces are 450 bytes once encoded: with the rest, over 512.
  std::error_code ec;
  EXPECT_TRUE(make_otpauth_uri(std::string(20, 'k'), std::string(150, ' '), "I", ec).empty());
  EXPECT_EQ(ec, errc::too_long);
}

TEST(Otpauth, RefusesHugeInputsWithoutBuildingThem) {
  std::error_code ec;
  EXPECT_TRUE(make_otpauth_uri(std::string(20, 'k'), "a", std::string(1 << 20, 'x'), ec).empty());
  EXPECT_EQ(ec, errc::too_long);
  EXPECT_TRUE(make_otpauth_uri(std::string(1 << 20, 'k'), "a", "I", ec).empty());
  EXPECT_EQ(ec, errc::too_long);
}

TEST(Otpauth, RefusesEmptyInputs) {
  std::error_code ec;
  EXPECT_TRUE(make_otpauth_uri("", "a", "I", ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
  EXPECT_TRUE(make_otpauth_uri("k", "", "I", ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
  EXPECT_TRUE(make_otpauth_uri("k", "a", "", ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
}

}  // namespace
