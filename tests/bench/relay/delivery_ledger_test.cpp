#include "delivery_ledger.hpp"

#include <gtest/gtest.h>

namespace relais::bench {
namespace {

TEST(SeqTracker, ContiguousStopsAtTheFirstGap) {
  seq_tracker t;
  EXPECT_EQ(t.contiguous(), 0);
  EXPECT_EQ(t.add(2, "b"), seq_tracker::result::added);
  EXPECT_EQ(t.contiguous(), 0);  // 1 is missing: a sync from 0 must replay it
  EXPECT_EQ(t.add(1, "a"), seq_tracker::result::added);
  EXPECT_EQ(t.contiguous(), 2);
  EXPECT_EQ(t.add(4, "d"), seq_tracker::result::added);
  EXPECT_EQ(t.contiguous(), 2);
  EXPECT_EQ(t.add(3, "c"), seq_tracker::result::added);
  EXPECT_EQ(t.contiguous(), 4);
  EXPECT_EQ(t.size(), 4U);
}

TEST(SeqTracker, SameSeqSameMessageIsARepeat) {
  seq_tracker t;
  ASSERT_EQ(t.add(1, "a"), seq_tracker::result::added);
  EXPECT_EQ(t.add(1, "a"), seq_tracker::result::repeat);
  EXPECT_EQ(t.size(), 1U);
}

TEST(SeqTracker, SameSeqOtherMessageIsAConflict) {
  seq_tracker t;
  ASSERT_EQ(t.add(1, "a"), seq_tracker::result::added);
  EXPECT_EQ(t.add(1, "b"), seq_tracker::result::conflict);
  EXPECT_EQ(t.contiguous(), 1);
}

TEST(DeliveryLedger, SettlesWhenAckedAndReceived) {
  delivery_ledger l;
  l.sent("m1");
  l.sent("m2");
  EXPECT_FALSE(l.settled());
  EXPECT_EQ(l.unacked(), 2U);
  EXPECT_TRUE(l.acked("m1", 1));
  EXPECT_EQ(l.received("m1", 1), delivery_ledger::arrival::fresh);
  EXPECT_EQ(l.lost(), 0U);
  EXPECT_EQ(l.received("m2", 2), delivery_ledger::arrival::fresh);  // received before its ack
  EXPECT_EQ(l.unacked(), 1U);
  EXPECT_TRUE(l.acked("m2", 2));
  EXPECT_TRUE(l.settled());
  EXPECT_EQ(l.duplicates(), 0U);
}

TEST(DeliveryLedger, AckedAndNeverReceivedIsLost) {
  delivery_ledger l;
  l.sent("m1");
  l.sent("m2");
  ASSERT_TRUE(l.acked("m1", 1));
  EXPECT_EQ(l.lost(), 1U);
  EXPECT_EQ(l.undelivered(), 2U);  // m2 was never acked: not promised, not lost
}

TEST(DeliveryLedger, TheSameSeqAgainIsARepeat) {
  delivery_ledger l;
  l.sent("m1");
  ASSERT_EQ(l.received("m1", 1), delivery_ledger::arrival::fresh);
  EXPECT_EQ(l.received("m1", 1), delivery_ledger::arrival::repeat);
  EXPECT_EQ(l.repeats(), 1U);
  EXPECT_EQ(l.duplicates(), 0U);
}

TEST(DeliveryLedger, AnAckRepeatedAfterAResendKeepsItsSeq) {
  delivery_ledger l;
  l.sent("m1");
  ASSERT_TRUE(l.acked("m1", 7));
  l.resent("m1");
  EXPECT_TRUE(l.was_resent("m1"));
  EXPECT_TRUE(l.acked("m1", 7));
  EXPECT_EQ(l.unacked(), 0U);
  EXPECT_EQ(l.duplicates(), 0U);
}

TEST(DeliveryLedger, OneMessageUnderTwoSeqsIsADuplicate) {
  delivery_ledger acked_twice;
  acked_twice.sent("m1");
  ASSERT_TRUE(acked_twice.acked("m1", 3));
  EXPECT_FALSE(acked_twice.acked("m1", 4));
  EXPECT_EQ(acked_twice.duplicates(), 1U);

  delivery_ledger received_twice;
  received_twice.sent("m1");
  ASSERT_EQ(received_twice.received("m1", 3), delivery_ledger::arrival::fresh);
  EXPECT_EQ(received_twice.received("m1", 5), delivery_ledger::arrival::duplicate);
  EXPECT_EQ(received_twice.duplicates(), 1U);

  delivery_ledger acked_then_received_elsewhere;
  acked_then_received_elsewhere.sent("m1");
  ASSERT_TRUE(acked_then_received_elsewhere.acked("m1", 3));
  EXPECT_EQ(acked_then_received_elsewhere.received("m1", 4), delivery_ledger::arrival::duplicate);
}

TEST(DeliveryLedger, AMessageNobodySentIsUnknown) {
  delivery_ledger l;
  EXPECT_EQ(l.received("ghost", 1), delivery_ledger::arrival::unknown);
  EXPECT_FALSE(l.acked("ghost", 1));
  EXPECT_EQ(l.unknown(), 2U);
}

}  // namespace
}  // namespace relais::bench
