#include "relais/auth/error.hpp"

#include <gtest/gtest.h>

namespace {

using relais::auth::errc;

TEST(AuthError, HasItsCategoryAndAMessagePerCode) {
  std::error_code ec = errc::too_long;
  EXPECT_STREQ(ec.category().name(), "relais.auth");
  EXPECT_EQ(ec.message(), "too long");
  for (auto e : {errc::invalid_input, errc::too_short, errc::too_long, errc::hash_failed}) {
    std::error_code c = e;
    EXPECT_TRUE(c);
    EXPECT_NE(c.message(), "unknown auth error");
  }
  EXPECT_EQ(std::error_code(99, relais::auth::auth_category()).message(), "unknown auth error");
}

}  // namespace
