#include "relais/protocol/version.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace relais::protocol {
namespace {

TEST(Version, CurrentIsTheNewestSupported) {
  ASSERT_FALSE(supported_versions.empty());
  EXPECT_EQ(supported_versions.front(), current_version);
  EXPECT_TRUE(std::is_sorted(supported_versions.rbegin(), supported_versions.rend()));
}

TEST(Version, SoftwareVersionIsSet) { EXPECT_FALSE(software_version().empty()); }

}  // namespace
}  // namespace relais::protocol
