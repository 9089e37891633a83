#include "pair_protocol.hpp"

#include <gtest/gtest.h>

namespace relais::bench {
namespace {

TEST(PairProtocol, JoinFrames) {
  EXPECT_EQ(pair_join_frame(7, 0), "join:7:a");
  EXPECT_EQ(pair_join_frame(7, 1), "join:7:b");
}

TEST(PairProtocol, PayloadCarriesItsStamp) {
  auto p = pair_payload(123456789012345ULL, 300);
  EXPECT_EQ(p.size(), 300U);
  EXPECT_EQ(pair_payload_stamp(p), 123456789012345ULL);
}

TEST(PairProtocol, PayloadNeverShorterThanItsStamp) {
  auto p = pair_payload(UINT64_MAX, 1);
  EXPECT_EQ(p.size(), 21U);
  EXPECT_EQ(pair_payload_stamp(p), UINT64_MAX);
}

TEST(PairProtocol, RejectsTruncatedStamp) { EXPECT_FALSE(pair_payload_stamp("0000000001|").has_value()); }

TEST(PairProtocol, RejectsMissingSeparator) {
  EXPECT_FALSE(pair_payload_stamp("00000000000000000001xxxx").has_value());
}

TEST(PairProtocol, RejectsNonDigits) { EXPECT_FALSE(pair_payload_stamp("0000000000000000000a|xx").has_value()); }

TEST(PairProtocol, RejectsOverflow) { EXPECT_FALSE(pair_payload_stamp("99999999999999999999|xx").has_value()); }

}  // namespace
}  // namespace relais::bench
