#include "stats.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace relais::bench {
namespace {

TEST(LatencyHistogram, EmptyGivesZero) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.percentile(50), 0U);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 60; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 30U);
  EXPECT_EQ(h.percentile(100), 60U);
}

TEST(LatencyHistogram, PercentilesWithinOneSixtyFourth) {
  latency_histogram h;
  // 1..100,000 µs in ns: the p-th percentile is p * 1,000 µs.
  for (std::uint64_t us = 1; us <= 100'000; ++us) h.record(us * 1000);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double truth = p * 1000.0 * 1000.0;
    const auto got = static_cast<double>(h.percentile(p));
    EXPECT_GE(got, truth) << p;
    EXPECT_LE(got, truth * (1.0 + 1.0 / 64.0)) << p;
  }
  EXPECT_EQ(h.max(), 100'000'000U);
  EXPECT_EQ(h.percentile(100), 100'000'000U);
}

TEST(LatencyHistogram, MergeAddsCounts) {
  latency_histogram a;
  latency_histogram b;
  a.record(1000);
  b.record(5000);
  b.record(9000);
  a.merge(b);
  EXPECT_EQ(a.count(), 3U);
  EXPECT_EQ(a.max(), 9000U);
  EXPECT_GE(a.percentile(50), 5000U);
  EXPECT_LT(a.percentile(50), 9000U);
}

TEST(LatencyHistogram, HugeValuesAreClamped) {
  latency_histogram h;
  h.record(UINT64_MAX);
  EXPECT_EQ(h.count(), 1U);
  EXPECT_EQ(h.percentile(50), UINT64_MAX);
}

TEST(ProcReaders, ReadThisProcess) {
  const int self = static_cast<int>(::getpid());
  EXPECT_TRUE(process_cpu_seconds(self).has_value());
  auto rss = process_rss_kib(self);
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0);
}

TEST(ProcReaders, NoProcessGivesNothing) {
  EXPECT_FALSE(process_cpu_seconds(0).has_value());
  EXPECT_FALSE(process_rss_kib(-1).has_value());
}

}  // namespace
}  // namespace relais::bench
