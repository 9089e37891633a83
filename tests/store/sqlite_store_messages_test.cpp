// message_store: conversations, idempotent appends, paging, undelivered, cursors.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <future>
#include <map>
#include <memory>

#include <thread>
#include <vector>

#include "store_test_support.hpp"

namespace relais::store {
namespace {

using core::store_errc;
using testing::append;
using testing::make_conversation;
using testing::open_store;
using testing::options_in;
using testing::temp_dir;
using testing::wait_done;
using testing::wait_for;
using messages = std::vector<core::stored_message>;

class Messages : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::unique_ptr<sqlite_store> s_ = open_store(options_in(dir_));

  messages page(core::conversation_id c, core::sequence_number after, std::size_t limit) {
    auto r = wait_for<messages>([&](auto h) { s_->read_messages({c, after, limit}, std::move(h)); });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
  }
  testing::outcome<messages> undelivered(const std::string& key, std::size_t limit,
                                          core::conversation_id after_c = 0,
                                          core::sequence_number after_s = 0) {
    return wait_for<messages>([&](auto h) {
      s_->read_undelivered({key, after_c, after_s, limit}, std::move(h));
    });
  }
  std::error_code cursor(core::conversation_id c, const std::string& key,
                         core::sequence_number delivered, core::sequence_number read) {
    return wait_done([&](auto h) { s_->update_cursor({c, key, delivered, read}, std::move(h)); });
  }
};

TEST_F(Messages, CreatesAndReadsAConversation) {
  auto id = make_conversation(*s_, "bene", "work", 42);
  auto r = wait_for<core::conversation>([&](auto h) { s_->get_conversation(id, std::move(h)); });
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.value.beneficiary_key, "bene");
  EXPECT_EQ(r.value.created_at, 42);
  EXPECT_EQ(r.value.ended_at, 0);
  ASSERT_EQ(r.value.participants.size(), 2u);
}

TEST_F(Messages, GetUnknownConversationIsNotFound) {
  auto r = wait_for<core::conversation>([&](auto h) { s_->get_conversation(77, std::move(h)); });
  EXPECT_EQ(r.ec, store_errc::not_found);
}

TEST_F(Messages, CreateWithoutBeneficiaryIsInvalid) {
  auto r = wait_for<core::conversation_id>(
      [&](auto h) { s_->create_conversation(core::new_conversation{}, std::move(h)); });
  EXPECT_EQ(r.ec, store_errc::invalid_argument);
}

TEST_F(Messages, AssignsConsecutiveSequenceNumbersPerConversation) {
  auto a = make_conversation(*s_, "a");
  auto b = make_conversation(*s_, "b");
  EXPECT_EQ(append(*s_, a, "1", "x").value.seq, 1);
  EXPECT_EQ(append(*s_, a, "2", "x").value.seq, 2);
  EXPECT_EQ(append(*s_, b, "1", "x").value.seq, 1);
  EXPECT_EQ(append(*s_, a, "3", "x").value.seq, 3);
}

TEST_F(Messages, SecondAppendOfAClientIdReturnsTheOriginalSeq) {
  auto c = make_conversation(*s_, "a");
  ASSERT_EQ(append(*s_, c, "one", "first").value.seq, 1);
  ASSERT_EQ(append(*s_, c, "two", "x").value.seq, 2);
  auto again = append(*s_, c, "one", "first (retry)");
  ASSERT_FALSE(again.ec);
  EXPECT_EQ(again.value.seq, 1);
  EXPECT_TRUE(again.value.duplicate);
  auto all = page(c, 0, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].envelope, "first");  // stored once, the original kept
}

TEST_F(Messages, DuplicatesInOneBatchAreStoredOnce) {
  auto c = make_conversation(*s_, "a");
  std::vector<std::thread> threads;
  std::vector<testing::outcome<core::append_result>> results(16);
  for (std::size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] { results[i] = append(*s_, c, "same", "x"); });
  for (auto& t : threads) t.join();
  int originals = 0;
  for (const auto& r : results) {
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(r.value.seq, 1);
    if (!r.value.duplicate) ++originals;
  }
  EXPECT_EQ(originals, 1);
  EXPECT_EQ(page(c, 0, 10).size(), 1u);
}

TEST_F(Messages, SameClientIdInAnotherConversationIsNotADuplicate) {
  auto a = make_conversation(*s_, "a");
  auto b = make_conversation(*s_, "b");
  ASSERT_FALSE(append(*s_, a, "id", "x").value.duplicate);
  EXPECT_FALSE(append(*s_, b, "id", "x").value.duplicate);
}

TEST_F(Messages, AppendToUnknownConversationIsNotFound) {
  EXPECT_EQ(append(*s_, 12345, "id", "x").ec, store_errc::not_found);
}

TEST_F(Messages, AppendRejectsEmptyClientIdAndOversizeEnvelope) {
  auto c = make_conversation(*s_, "a");
  EXPECT_EQ(append(*s_, c, "", "x").ec, store_errc::invalid_argument);
  EXPECT_EQ(append(*s_, c, "big", std::string(core::limits::max_stored_envelope_bytes + 1, 'x')).ec,
            store_errc::too_large);
  // The refused ones left no gap.
  EXPECT_EQ(append(*s_, c, "ok", "x").value.seq, 1);
}

TEST_F(Messages, StoresEnvelopeBytesExactly) {
  auto c = make_conversation(*s_, "a");
  std::string binary("\0\x01\xff\x00zz", 6);
  ASSERT_FALSE(append(*s_, c, std::string("\0id", 3), binary, "sender", 77).ec);
  auto m = page(c, 0, 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].envelope, binary);
  EXPECT_EQ(m[0].client_message_id, std::string("\0id", 3));
  EXPECT_EQ(m[0].sender_key, "sender");
  EXPECT_EQ(m[0].received_at, 77);
  EXPECT_EQ(m[0].conversation, c);
}

TEST_F(Messages, PagesAfterASequenceNumber) {
  auto c = make_conversation(*s_, "a");
  for (int i = 1; i <= 25; ++i) ASSERT_FALSE(append(*s_, c, std::to_string(i), "x").ec);
  auto p1 = page(c, 0, 10);
  ASSERT_EQ(p1.size(), 10u);
  EXPECT_EQ(p1.front().seq, 1);
  EXPECT_EQ(p1.back().seq, 10);
  auto p3 = page(c, 20, 10);
  ASSERT_EQ(p3.size(), 5u);
  EXPECT_EQ(p3.front().seq, 21);
  EXPECT_TRUE(page(c, 25, 10).empty());
}

TEST_F(Messages, PageLimitMustBeWithinBounds) {
  auto c = make_conversation(*s_, "a");
  for (std::size_t limit : {std::size_t{0}, core::limits::max_page_messages + 1}) {
    auto r = wait_for<messages>([&](auto h) { s_->read_messages({c, 0, limit}, std::move(h)); });
    EXPECT_EQ(r.ec, store_errc::invalid_argument);
  }
}

TEST_F(Messages, UndeliveredSkipsOwnMessagesAndDeliveredOnes) {
  auto c = make_conversation(*s_, "bene", "work");
  ASSERT_FALSE(append(*s_, c, "1", "from-bene", "bene").ec);
  ASSERT_FALSE(append(*s_, c, "2", "from-work", "work").ec);
  ASSERT_FALSE(append(*s_, c, "3", "from-work-2", "work").ec);
  auto r = undelivered("bene", 100);
  ASSERT_FALSE(r.ec);
  ASSERT_EQ(r.value.size(), 2u);
  EXPECT_EQ(r.value[0].seq, 2);
  EXPECT_EQ(r.value[1].seq, 3);
  ASSERT_FALSE(cursor(c, "bene", 2, 0));
  r = undelivered("bene", 100);
  ASSERT_EQ(r.value.size(), 1u);
  EXPECT_EQ(r.value[0].seq, 3);
  EXPECT_EQ(undelivered("work", 100).value.size(), 1u);  // the beneficiary's message
}

TEST_F(Messages, UndeliveredSpansConversationsAndResumes) {
  auto a = make_conversation(*s_, "b1", "w");
  auto b = make_conversation(*s_, "b2", "w");
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(append(*s_, a, "a" + std::to_string(i), "x", "b1").ec);
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(append(*s_, b, "b" + std::to_string(i), "x", "b2").ec);
  auto first = undelivered("w", 4);
  ASSERT_EQ(first.value.size(), 4u);
  EXPECT_EQ(first.value[3].conversation, b);
  EXPECT_EQ(first.value[3].seq, 1);
  auto rest = undelivered("w", 4, b, 1);
  ASSERT_EQ(rest.value.size(), 2u);
  EXPECT_EQ(rest.value[0].seq, 2);
}

TEST_F(Messages, UndeliveredExcludesConversationsTheParticipantLeft) {
  auto c = make_conversation(*s_, "b", "w1");
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->add_participant(c, {"w2", core::participant_role::worker, 0, 5, 0, 0, 0}, std::move(h));
  }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->leave_conversation(c, "w1", 6, std::move(h)); }));
  ASSERT_FALSE(append(*s_, c, "1", "x", "b").ec);
  EXPECT_TRUE(undelivered("w1", 10).value.empty());
  EXPECT_EQ(undelivered("w2", 10).value.size(), 1u);
}

TEST_F(Messages, UndeliveredRejectsEmptyKeyAndBadLimit) {
  EXPECT_EQ(undelivered("", 10).ec, store_errc::invalid_argument);
  EXPECT_EQ(undelivered("k", 0).ec, store_errc::invalid_argument);
}

TEST_F(Messages, CursorsMoveForwardOnlyAndReadImpliesDelivered) {
  auto c = make_conversation(*s_, "b", "w");
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(append(*s_, c, std::to_string(i), "x", "w").ec);
  ASSERT_FALSE(cursor(c, "b", 4, 0));
  ASSERT_FALSE(cursor(c, "b", 2, 0));  // older receipt: ignored
  ASSERT_FALSE(cursor(c, "b", 0, 5));
  auto r = wait_for<core::conversation>([&](auto h) { s_->get_conversation(c, std::move(h)); });
  const auto& p = r.value.participants;
  auto it = std::find_if(p.begin(), p.end(), [](const auto& x) { return x.identity_key == "b"; });
  ASSERT_NE(it, p.end());
  EXPECT_EQ(it->delivered_seq, 5);
  EXPECT_EQ(it->read_seq, 5);
}

TEST_F(Messages, CursorPastLastSeqOrUnknownParticipantIsRefused) {
  auto c = make_conversation(*s_, "b", "w");
  ASSERT_FALSE(append(*s_, c, "1", "x", "w").ec);
  EXPECT_EQ(cursor(c, "b", 2, 0), store_errc::invalid_argument);
  EXPECT_EQ(cursor(c, "b", -1, 0), store_errc::invalid_argument);
  EXPECT_EQ(cursor(c, "stranger", 1, 0), store_errc::not_found);
  EXPECT_EQ(cursor(999, "b", 1, 0), store_errc::not_found);
}

TEST_F(Messages, ListsConversationsOfAParticipant) {
  auto a = make_conversation(*s_, "b", "w");
  auto b = make_conversation(*s_, "b2", "w");
  ASSERT_FALSE(wait_done([&](auto h) { s_->end_conversation(b, 50, std::move(h)); }));
  auto active = wait_for<std::vector<core::conversation>>(
      [&](auto h) { s_->list_conversations("w", false, std::move(h)); });
  ASSERT_EQ(active.value.size(), 1u);
  EXPECT_EQ(active.value[0].id, a);
  auto all = wait_for<std::vector<core::conversation>>(
      [&](auto h) { s_->list_conversations("w", true, std::move(h)); });
  ASSERT_EQ(all.value.size(), 2u);
  EXPECT_EQ(all.value[1].ended_at, 50);
  EXPECT_EQ(all.value[1].participants.size(), 2u);
}

TEST_F(Messages, EndingTwiceIsFineEndingNothingIsNotFound) {
  auto c = make_conversation(*s_, "b");
  EXPECT_FALSE(wait_done([&](auto h) { s_->end_conversation(c, 10, std::move(h)); }));
  EXPECT_FALSE(wait_done([&](auto h) { s_->end_conversation(c, 20, std::move(h)); }));
  auto r = wait_for<core::conversation>([&](auto h) { s_->get_conversation(c, std::move(h)); });
  EXPECT_EQ(r.value.ended_at, 10);
  EXPECT_EQ(wait_done([&](auto h) { s_->end_conversation(999, 10, std::move(h)); }),
            store_errc::not_found);
}

TEST_F(Messages, AddingAParticipantTwiceIsAlreadyExists) {
  auto c = make_conversation(*s_, "b", "w");
  auto ec = wait_done([&](auto h) {
    s_->add_participant(c, {"w", core::participant_role::worker, 0, 1, 0, 0, 0}, std::move(h));
  });
  EXPECT_EQ(ec, store_errc::already_exists);
  ec = wait_done([&](auto h) {
    s_->add_participant(999, {"x", core::participant_role::worker, 0, 1, 0, 0, 0}, std::move(h));
  });
  EXPECT_EQ(ec, store_errc::not_found);
  EXPECT_EQ(wait_done([&](auto h) { s_->leave_conversation(c, "nobody", 1, std::move(h)); }),
            store_errc::not_found);
}

TEST_F(Messages, AppendToAnEndedConversationIsAConflictAndStoresNothing) {
  auto c = make_conversation(*s_, "b", "w");
  ASSERT_FALSE(append(*s_, c, "before-end", "e1").ec);
  ASSERT_FALSE(wait_done([&](auto h) { s_->end_conversation(c, 50, std::move(h)); }));
  EXPECT_EQ(append(*s_, c, "after-end", "e2").ec, store_errc::conflict);
  auto conv = wait_for<core::conversation>([&](auto h) { s_->get_conversation(c, std::move(h)); });
  EXPECT_EQ(conv.value.last_seq, 1);  // no seq spent on the refused message
  auto all = page(c, 0, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].client_message_id, "before-end");
}

TEST_F(Messages, ARetryOfAMessageStoredBeforeTheEndStillGetsItsSeq) {
  auto c = make_conversation(*s_, "b", "w");
  ASSERT_FALSE(append(*s_, c, "m1", "e1").ec);
  ASSERT_FALSE(append(*s_, c, "m2", "e2").ec);
  ASSERT_FALSE(wait_done([&](auto h) { s_->end_conversation(c, 50, std::move(h)); }));
  auto retry = append(*s_, c, "m2", "e2");
  ASSERT_FALSE(retry.ec) << retry.ec.message();
  EXPECT_EQ(retry.value.seq, 2);
  EXPECT_TRUE(retry.value.duplicate);
}

TEST_F(Messages, AnAppendQueuedBehindTheEndInOneBatchIsRefused) {
  auto c = make_conversation(*s_, "b", "w");
  // Both queued before the writer runs them, in this order, most likely in one batch: the
  // end wins because it was first, whatever the batching.
  auto end = std::make_shared<std::promise<std::error_code>>();
  auto app = std::make_shared<std::promise<std::error_code>>();
  s_->end_conversation(c, 50, [end](std::error_code ec) { end->set_value(ec); });
  s_->append_message({c, "late", "b", "e", 60},
                     [app](std::error_code ec, core::append_result) { app->set_value(ec); });
  EXPECT_FALSE(end->get_future().get());
  EXPECT_EQ(app->get_future().get(), store_errc::conflict);
}

TEST_F(Messages, ListedConversationsCarryEveryParticipantWithCursors) {
  auto c = make_conversation(*s_, "b", "w");
  ASSERT_FALSE(append(*s_, c, "m1", "e1", "b").ec);
  ASSERT_FALSE(append(*s_, c, "m2", "e2", "b").ec);
  ASSERT_FALSE(append(*s_, c, "m3", "e3", "w").ec);
  ASSERT_FALSE(cursor(c, "w", 2, 1));
  ASSERT_FALSE(cursor(c, "b", 3, 3));
  // A transfer: a second worker joins, the first leaves.
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->add_participant(c, {"w2", core::participant_role::worker, 0, 2000, 0, 0, 0}, std::move(h));
  }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->leave_conversation(c, "w", 3000, std::move(h)); }));

  auto listed = wait_for<std::vector<core::conversation>>(
      [&](auto h) { s_->list_conversations("w2", false, std::move(h)); });
  ASSERT_FALSE(listed.ec);
  ASSERT_EQ(listed.value.size(), 1u);
  const auto& conv = listed.value[0];
  EXPECT_EQ(conv.id, c);
  EXPECT_EQ(conv.last_seq, 3);
  ASSERT_EQ(conv.participants.size(), 3u);  // the one who left too, with its left_at
  std::map<std::string, core::participant> by_key;
  for (const auto& p : conv.participants) by_key[p.identity_key] = p;
  EXPECT_EQ(by_key["w"].delivered_seq, 2);
  EXPECT_EQ(by_key["w"].read_seq, 1);
  EXPECT_EQ(by_key["w"].left_at, 3000);
  EXPECT_EQ(by_key["b"].delivered_seq, 3);
  EXPECT_EQ(by_key["b"].read_seq, 3);
  EXPECT_EQ(by_key["b"].role, core::participant_role::beneficiary);
  EXPECT_EQ(by_key["w2"].joined_at, 2000);
  EXPECT_EQ(by_key["w2"].delivered_seq, 0);
  // The worker who left no longer lists it; get_conversation gives the same participants.
  EXPECT_TRUE(wait_for<std::vector<core::conversation>>(
                  [&](auto h) { s_->list_conversations("w", true, std::move(h)); })
                  .value.empty());
  auto got = wait_for<core::conversation>([&](auto h) { s_->get_conversation(c, std::move(h)); });
  ASSERT_EQ(got.value.participants.size(), 3u);
}

/// A conversation between beneficiary "b" and the worker account `worker` (key `worker_key`).
core::conversation_id worker_conversation(sqlite_store& s, core::worker_id worker,
                                          const std::string& worker_key, core::unix_ms at = 10) {
  core::new_conversation n;
  n.beneficiary_key = "b";
  n.created_at = at;
  n.participants.push_back({"b", core::participant_role::beneficiary, 0, at});
  n.participants.push_back({worker_key, core::participant_role::worker, worker, at});
  auto r = wait_for<core::conversation_id>([&](auto h) { s.create_conversation(n, std::move(h)); });
  EXPECT_FALSE(r.ec) << r.ec.message();
  return r.value;
}

core::participant worker_participant(core::worker_id w, const std::string& key) {
  return {key, core::participant_role::worker, w};
}

const core::participant* find_participant(const core::conversation& c, const std::string& key) {
  for (const auto& p : c.participants)
    if (p.identity_key == key) return &p;
  return nullptr;
}

class Transfer : public Messages {
 protected:
  core::worker_id a_ = testing::make_worker(*s_, "alice", "ka");
  core::worker_id b_ = testing::make_worker(*s_, "bob", "kb");
  core::worker_id c_ = testing::make_worker(*s_, "carol", "kc");
  core::conversation_id conv_ = worker_conversation(*s_, a_, "ka");

  std::error_code transfer(core::worker_id from, core::participant to, core::unix_ms at = 50,
                           core::conversation_id conv = 0) {
    return wait_done([&](auto h) {
      s_->transfer_conversation({conv != 0 ? conv : conv_, from, std::move(to), at}, std::move(h));
    });
  }
  core::conversation get() {
    auto r = wait_for<core::conversation>([&](auto h) { s_->get_conversation(conv_, std::move(h)); });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
  }
  std::size_t open_for(const std::string& key) {
    return wait_for<std::vector<core::conversation>>(
               [&](auto h) { s_->list_conversations(key, false, std::move(h)); })
        .value.size();
  }
};

TEST_F(Transfer, HandsTheConversationToAColleagueWhoStartsAtTheCurrentSeq) {
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(append(*s_, conv_, "m" + std::to_string(i), "x", "b").ec);
  ASSERT_FALSE(cursor(conv_, "ka", 2, 1));
  ASSERT_FALSE(transfer(a_, worker_participant(b_, "kb"), 50));
  auto c = get();
  ASSERT_EQ(c.participants.size(), 3u);
  const auto* old_worker = find_participant(c, "ka");
  ASSERT_NE(old_worker, nullptr);
  EXPECT_EQ(old_worker->left_at, 50);
  EXPECT_EQ(old_worker->delivered_seq, 2);  // untouched
  EXPECT_EQ(old_worker->joined_seq, 0);
  const auto* newcomer = find_participant(c, "kb");
  ASSERT_NE(newcomer, nullptr);
  EXPECT_EQ(newcomer->role, core::participant_role::worker);
  EXPECT_EQ(newcomer->worker, b_);
  EXPECT_EQ(newcomer->joined_at, 50);
  EXPECT_EQ(newcomer->left_at, 0);
  EXPECT_EQ(newcomer->delivered_seq, 3);
  EXPECT_EQ(newcomer->read_seq, 3);
  EXPECT_EQ(newcomer->joined_seq, 3);
  EXPECT_EQ(find_participant(c, "b")->left_at, 0);
  // Who follows it now.
  EXPECT_EQ(open_for("ka"), 0u);
  EXPECT_EQ(open_for("kb"), 1u);
  EXPECT_EQ(open_for("b"), 1u);
  // The old messages are not "undelivered" to the newcomer; the next one is.
  auto none = undelivered("kb", 100);
  ASSERT_FALSE(none.ec);
  EXPECT_TRUE(none.value.empty());
  ASSERT_FALSE(append(*s_, conv_, "after", "y", "b").ec);
  auto next = undelivered("kb", 100);
  ASSERT_EQ(next.value.size(), 1u);
  EXPECT_EQ(next.value[0].seq, 4);
  // A receipt for an earlier seq changes nothing (cursors never go back).
  ASSERT_FALSE(cursor(conv_, "kb", 1, 1));
  EXPECT_EQ(find_participant(get(), "kb")->delivered_seq, 3);
  // The new worker may send; the one who left is no longer a recipient of anything.
  EXPECT_FALSE(append(*s_, conv_, "from-b", "z", "kb").ec);
  EXPECT_TRUE(undelivered("ka", 100).value.empty());
}

TEST_F(Transfer, RefusesWhatIsNotACurrentHandOver) {
  // Unknown conversation.
  EXPECT_EQ(transfer(a_, worker_participant(b_, "kb"), 50, 9999), store_errc::not_found);
  // From someone who is not (or no longer) in it.
  EXPECT_EQ(transfer(c_, worker_participant(b_, "kb")), store_errc::conflict);
  // To someone already in it: by key, by account, or oneself.
  EXPECT_EQ(transfer(a_, worker_participant(b_, "ka")), store_errc::conflict);
  EXPECT_EQ(transfer(a_, worker_participant(a_, "ka-new-device")), store_errc::conflict);
  EXPECT_EQ(transfer(a_, worker_participant(a_, "ka")), store_errc::conflict);
  EXPECT_EQ(transfer(a_, worker_participant(b_, "b")), store_errc::conflict);  // the beneficiary's key
  // Not a worker participant.
  EXPECT_EQ(transfer(a_, {"kb", core::participant_role::beneficiary, b_}), store_errc::invalid_argument);
  EXPECT_EQ(transfer(a_, worker_participant(0, "kb")), store_errc::invalid_argument);
  EXPECT_EQ(transfer(a_, worker_participant(b_, "")), store_errc::invalid_argument);
  EXPECT_EQ(transfer(0, worker_participant(b_, "kb")), store_errc::invalid_argument);
  // An account that does not exist: nothing changed either.
  EXPECT_EQ(transfer(a_, worker_participant(9999, "kz")), store_errc::not_found);
  auto c = get();
  EXPECT_EQ(c.participants.size(), 2u);
  EXPECT_EQ(find_participant(c, "ka")->left_at, 0);
  // Ended.
  ASSERT_FALSE(wait_done([&](auto h) { s_->end_conversation(conv_, 60, std::move(h)); }));
  EXPECT_EQ(transfer(a_, worker_participant(b_, "kb")), store_errc::conflict);
  EXPECT_EQ(find_participant(get(), "ka")->left_at, 0);
}

TEST_F(Transfer, AWorkerTransferredBackRejoinsHisEarlierRow) {
  ASSERT_FALSE(append(*s_, conv_, "m1", "x", "b").ec);
  ASSERT_FALSE(cursor(conv_, "ka", 1, 1));
  ASSERT_FALSE(transfer(a_, worker_participant(b_, "kb"), 50));
  for (int i = 0; i < 2; ++i) ASSERT_FALSE(append(*s_, conv_, "n" + std::to_string(i), "x", "b").ec);
  // Handed back to a, who is no longer in it: allowed, from b.
  EXPECT_EQ(transfer(a_, worker_participant(c_, "kc"), 60), store_errc::conflict);
  ASSERT_FALSE(transfer(b_, worker_participant(a_, "ka"), 70));
  auto c = get();
  ASSERT_EQ(c.participants.size(), 3u);
  const auto* back = find_participant(c, "ka");
  EXPECT_EQ(back->left_at, 0);
  EXPECT_EQ(back->joined_at, 70);
  EXPECT_EQ(back->joined_seq, 3);
  EXPECT_EQ(back->delivered_seq, 3);
  EXPECT_EQ(find_participant(c, "kb")->left_at, 70);
  EXPECT_EQ(open_for("ka"), 1u);
  EXPECT_EQ(open_for("kb"), 0u);
}

TEST_F(Transfer, OfTwoTransfersRacingExactlyOneWins) {
  for (int round = 0; round < 10; ++round) {
    auto conv = worker_conversation(*s_, a_, "ka", 100 + round);
    std::error_code to_b;
    std::error_code to_c;
    std::thread t1([&] { to_b = transfer(a_, worker_participant(b_, "kb"), 200, conv); });
    std::thread t2([&] { to_c = transfer(a_, worker_participant(c_, "kc"), 200, conv); });
    t1.join();
    t2.join();
    EXPECT_NE(!to_b, !to_c) << to_b.message() << " / " << to_c.message();
    EXPECT_TRUE(to_b == store_errc::conflict || to_c == store_errc::conflict);
    auto got = wait_for<core::conversation>([&](auto h) { s_->get_conversation(conv, std::move(h)); });
    int current_workers = 0;
    for (const auto& p : got.value.participants)
      if (p.role == core::participant_role::worker && p.left_at == 0) ++current_workers;
    EXPECT_EQ(current_workers, 1);
  }
}

TEST_F(Messages, GetConversationIsAPrimaryKeyRead) {
  sqlite3* db = nullptr;
  make_conversation(*s_, "b", "w");
  ASSERT_EQ(sqlite3_open_v2(options_in(dir_).path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto plan = [db](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string details;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return std::string("prepare failed");
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      details += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      details += "\n";
    }
    sqlite3_finalize(stmt);
    return details;
  };
  // The two statements get_conversation runs (keep them in step with the implementation).
  const auto conv = plan(
      "EXPLAIN QUERY PLAN SELECT id, beneficiary_key, created_at, ended_at, last_seq "
      "FROM conversations WHERE id = ?1");
  EXPECT_NE(conv.find("USING INTEGER PRIMARY KEY"), std::string::npos) << conv;
  const auto parts = plan(
      "EXPLAIN QUERY PLAN SELECT identity_key, role, worker_id, joined_at, left_at, "
      "delivered_seq, read_seq, joined_seq FROM participants WHERE conversation_id = ?1 "
      "ORDER BY joined_at, identity_key");
  EXPECT_NE(parts.find("USING PRIMARY KEY (conversation_id=?)"), std::string::npos) << parts;
  sqlite3_close(db);
}

}  // namespace
}  // namespace relais::store

namespace relais::store {
namespace {

// append_message runs without a savepoint: refusals inside a batch leave the others alone,
// and an append whose INSERT fails after its seq was taken rolls back the whole batch (a
// trigger makes that INSERT fail here), so no seq gap and no half-done append is committed.
TEST(MessagesUnguarded, RefusalsInABatchLeaveTheOthersAndALateFailureRollsBackTheBatch) {
  temp_dir dir;
  auto o = options_in(dir);
  core::conversation_id conv = 0;
  core::conversation_id ended = 0;
  {
    auto s = open_store(o);
    conv = make_conversation(*s, "b");
    ended = make_conversation(*s, "e");
    ASSERT_FALSE(wait_done([&](auto h) { s->end_conversation(ended, 5, std::move(h)); }));
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TRIGGER boom BEFORE INSERT ON messages "
                           "WHEN NEW.client_message_id = x'626f6f6d' "
                           "BEGIN SELECT RAISE(ABORT, 'boom'); END",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto s = open_store(o);
  auto batch = [&](std::vector<core::append_request> requests) {
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> holding;
    s->append_message({conv, "hold-" + requests.front().client_message_id, "b", "x", 1},
                      [released, &holding](std::error_code, core::append_result) {
                        holding.set_value();
                        released.wait();
                      });
    holding.get_future().wait();
    std::vector<std::future<testing::outcome<core::append_result>>> out;
    for (auto& r : requests) {
      auto p = std::make_shared<std::promise<testing::outcome<core::append_result>>>();
      out.push_back(p->get_future());
      s->append_message(r, [p](std::error_code ec, core::append_result v) { p->set_value({ec, v}); });
    }
    release.set_value();
    std::vector<testing::outcome<core::append_result>> results;
    for (auto& f : out) results.push_back(f.get());
    return results;
  };

  // Refusals before any change: the rest of the batch commits, seqs stay consecutive.
  auto r1 = batch({{conv, "a", "b", "x", 1},
                   {conv + 1000, "x", "b", "x", 1},
                   {ended, "y", "b", "x", 1},
                   {conv, "", "b", "x", 1},
                   {conv, "c", "b", "x", 1}});
  ASSERT_FALSE(r1[0].ec);
  EXPECT_EQ(r1[1].ec, store_errc::not_found);
  EXPECT_EQ(r1[2].ec, store_errc::conflict);
  EXPECT_EQ(r1[3].ec, store_errc::invalid_argument);
  ASSERT_FALSE(r1[4].ec);
  EXPECT_EQ(r1[4].value.seq, r1[0].value.seq + 1);

  // A failure after the seq was taken: nothing of the batch is committed.
  auto r2 = batch({{conv, "d", "b", "x", 1}, {conv, "boom", "b", "x", 1}, {conv, "f", "b", "x", 1}});
  EXPECT_TRUE(r2[0].ec);
  EXPECT_TRUE(r2[1].ec);
  EXPECT_TRUE(r2[2].ec);
  auto after = append(*s, conv, "g", "x", "b");
  ASSERT_FALSE(after.ec);
  auto all = wait_for<messages>([&](auto h) { s->read_messages({conv, 0, 100}, std::move(h)); });
  ASSERT_FALSE(all.ec);
  // hold-a, a, c, g (hold-d was committed before the failing batch: its own transaction).
  ASSERT_EQ(all.value.size(), 5u);
  for (std::size_t i = 0; i < all.value.size(); ++i)
    EXPECT_EQ(all.value[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(all.value[3].client_message_id, "hold-d");
  EXPECT_EQ(all.value[4].client_message_id, "g");
}

}  // namespace
}  // namespace relais::store
