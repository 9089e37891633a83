#include "relais/core/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace relais::core {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenRefillAtRate) {
  manual_clock clock;
  rate_limiter limiter(2.0, 3.0);
  EXPECT_TRUE(limiter.try_take(clock.now()));
  EXPECT_TRUE(limiter.try_take(clock.now()));
  EXPECT_TRUE(limiter.try_take(clock.now()));
  EXPECT_FALSE(limiter.try_take(clock.now()));
  clock.advance(500ms);
  EXPECT_TRUE(limiter.try_take(clock.now()));
  EXPECT_FALSE(limiter.try_take(clock.now()));
  clock.advance(1h);
  EXPECT_DOUBLE_EQ(limiter.available(clock.now()), 3.0);
}

}  // namespace
}  // namespace relais::core
