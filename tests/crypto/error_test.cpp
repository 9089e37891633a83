#include "relais/crypto/error.hpp"

#include <gtest/gtest.h>

namespace relais::crypto {
namespace {

TEST(CryptoError, CategoryAndMessages) {
  const std::error_code ec = errc::authentication_failed;
  EXPECT_STREQ(ec.category().name(), "relais.crypto");
  EXPECT_EQ(ec.message(), "authentication failed");
  for (int v = static_cast<int>(errc::malformed_input); v <= static_cast<int>(errc::resource_exhausted); ++v) {
    EXPECT_NE(make_error_code(static_cast<errc>(v)).message(), "unknown relais.crypto error") << v;
  }
  EXPECT_EQ(make_error_code(static_cast<errc>(999)).message(), "unknown relais.crypto error");
  EXPECT_NE(std::error_code(errc::authentication_failed), std::error_code(errc::duplicate_message));
}

}  // namespace
}  // namespace relais::crypto
