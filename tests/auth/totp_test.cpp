#include "relais/auth/totp.hpp"

#include <gtest/gtest.h>

#include "relais/auth/error.hpp"

namespace {

using relais::auth::errc;
using relais::auth::hotp;
using relais::auth::match_totp;
using relais::auth::totp;
using relais::auth::totp_params;
using relais::auth::totp_step;

// The shared secret of RFC 4226 Appendix D and of RFC 6238 Appendix B's SHA1 rows.
const std::string rfc_key = "12345678901234567890";

std::string code_at(std::int64_t unix_seconds, int digits = 6) {
  std::error_code ec;
  auto c = totp(rfc_key, unix_seconds, digits, ec);
  EXPECT_FALSE(ec);
  return c;
}

TEST(Hotp, MatchesRfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t count = 0; count < 10; ++count) {
    std::error_code ec;
    EXPECT_EQ(hotp(rfc_key, count, 6, ec), expected[count]) << count;
    EXPECT_FALSE(ec);
  }
}

TEST(Hotp, RefusesAnEmptyKeyAndDigitsOutOfRange) {
  std::error_code ec;
  EXPECT_TRUE(hotp("", 0, 6, ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
  EXPECT_TRUE(hotp(rfc_key, 0, 5, ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
  EXPECT_TRUE(hotp(rfc_key, 0, 10, ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
  EXPECT_EQ(hotp(rfc_key, 0, 9, ec).size(), 9u);
  EXPECT_FALSE(ec);
}

TEST(Totp, MatchesRfc6238AppendixBSha1RowsWithEightDigits) {
  struct row {
    std::int64_t time;
    const char* code;
  };
  const row rows[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
                      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& r : rows) {
    EXPECT_EQ(code_at(r.time, 8), r.code) << r.time;
    // Six digits are the low six of the same truncated value.
    EXPECT_EQ(code_at(r.time, 6), std::string(r.code).substr(2)) << r.time;
  }
}

TEST(Totp, StepIsTheFloorOfTimeOverThirtySeconds) {
  EXPECT_EQ(totp_step(0), 0);
  EXPECT_EQ(totp_step(29), 0);
  EXPECT_EQ(totp_step(30), 1);
  EXPECT_EQ(totp_step(59), 1);
  EXPECT_EQ(totp_step(1111111109), 37037036);
  EXPECT_FALSE(totp_step(-1));
  EXPECT_FALSE(totp_step(100, 0));
  std::error_code ec;
  EXPECT_TRUE(totp(rfc_key, -30, 6, ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
}

TEST(MatchTotp, AcceptsTheCurrentCodeAndReturnsItsStep) {
  const std::int64_t t = 1111111111;  // step 37037037
  EXPECT_EQ(match_totp(rfc_key, code_at(t), t), 37037037);
  EXPECT_EQ(match_totp(rfc_key, "050471", t), 37037037);
}

TEST(MatchTotp, AcceptsOneStepOfDriftEitherWayAndNoMore) {
  const std::int64_t t = 1111111111;
  const std::int64_t step = 37037037;
  EXPECT_EQ(match_totp(rfc_key, code_at(t - 30), t), step - 1);
  EXPECT_EQ(match_totp(rfc_key, code_at(t + 30), t), step + 1);
  EXPECT_FALSE(match_totp(rfc_key, code_at(t - 60), t));
  EXPECT_FALSE(match_totp(rfc_key, code_at(t + 60), t));
}

TEST(MatchTotp, WindowEdgesFollowStepBoundaries) {
  // A code of step 1 ([30, 60)) is still accepted during step 2 ([60, 90)), one step late,
  // and refused from 90 (step 3).
  auto step1 = code_at(30);
  EXPECT_EQ(match_totp(rfc_key, step1, 89), 1);
  EXPECT_FALSE(match_totp(rfc_key, step1, 90));
  // A code of step 3 ([90, 120)) is accepted from 60 (one step early) and not at 59.
  auto step3 = code_at(90);
  EXPECT_EQ(match_totp(rfc_key, step3, 60), 3);
  EXPECT_FALSE(match_totp(rfc_key, step3, 59));
}

TEST(MatchTotp, NeverReturnsANegativeStepNearTheEpoch) {
  EXPECT_EQ(match_totp(rfc_key, code_at(0), 0), 0);
  EXPECT_EQ(match_totp(rfc_key, code_at(30), 0), 1);
  EXPECT_FALSE(match_totp(rfc_key, code_at(0), -1));
}

TEST(MatchTotp, WindowZeroAcceptsOnlyTheCurrentStep) {
  totp_params strict;
  strict.window = 0;
  const std::int64_t t = 1111111111;
  EXPECT_EQ(match_totp(rfc_key, code_at(t), t, strict), 37037037);
  EXPECT_FALSE(match_totp(rfc_key, code_at(t - 30), t, strict));
}

TEST(MatchTotp, RefusesMalformedCodes) {
  const std::int64_t t = 1111111111;
  auto good = code_at(t);
  for (const std::string& bad : {std::string(), good.substr(1), good + "0", std::string("05047a"),
                                 std::string(" 50471"), std::string("050 471"), std::string("-50471"),
                                 std::string("05047\0", 6), std::string("14050471")}) {
    EXPECT_FALSE(match_totp(rfc_key, bad, t)) << bad;
  }
}

TEST(MatchTotp, RefusesAnEmptySecretAndAWrongOne) {
  const std::int64_t t = 1111111111;
  EXPECT_FALSE(match_totp("", code_at(t), t));
  EXPECT_FALSE(match_totp("12345678901234567891", code_at(t), t));
}

TEST(MatchTotp, RefusesAWindowBeyondItsLimit) {
  totp_params wide;
  wide.window = relais::auth::limits::max_totp_window_steps + 1;
  EXPECT_FALSE(match_totp(rfc_key, code_at(1111111111), 1111111111, wide));
  wide.window = -1;
  EXPECT_FALSE(match_totp(rfc_key, code_at(1111111111), 1111111111, wide));
}

TEST(MatchTotp, ChecksEightDigitCodesWhenConfigured) {
  totp_params eight;
  eight.digits = 8;
  EXPECT_EQ(match_totp(rfc_key, "14050471", 1111111111, eight), 37037037);
  EXPECT_FALSE(match_totp(rfc_key, "050471", 1111111111, eight));
}

}  // namespace
