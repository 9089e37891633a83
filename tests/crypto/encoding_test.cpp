#include "relais/crypto/encoding.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace relais::crypto {
namespace {

TEST(Encoding, HexRoundTripAndRejects) {
  EXPECT_EQ(to_hex(test::bytes_of("\x01\xab")), "01ab");
  EXPECT_EQ(from_hex("01AB"), test::bytes_of("\x01\xab"));
  EXPECT_FALSE(from_hex("0"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(Encoding, Base64UrlWithoutPadding) {
  EXPECT_EQ(to_base64url(test::bytes_of("\xfb\xff")), "-_8");
  EXPECT_EQ(from_base64url("-_8"), test::bytes_of("\xfb\xff"));
  EXPECT_FALSE(from_base64url("-_8="));  // padding is not accepted
  EXPECT_FALSE(from_base64url("+/8"));   // standard alphabet is not accepted
  EXPECT_EQ(from_base64url(""), bytes{});
}

}  // namespace
}  // namespace relais::crypto
