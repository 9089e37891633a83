// retention_store: purge after the retention period, erasure that leaves no byte behind.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store_test_support.hpp"

namespace relais::store {
namespace {

using core::store_errc;
using testing::append;
using testing::make_conversation;
using testing::open_store;
using testing::options_in;
using testing::read_file;
using testing::temp_dir;
using testing::wait_done;
using testing::wait_for;

class Retention : public ::testing::Test {
 protected:
  temp_dir dir_;
  sqlite_options options_ = options_in(dir_);
  std::unique_ptr<sqlite_store> s_ = open_store(options_);

  /// Bytes of the database, its WAL and its shared-memory index.
  std::string all_files() {
    return read_file(options_.path) + read_file(options_.path + "-wal") +
           read_file(options_.path + "-shm");
  }
  void end(core::conversation_id c, core::unix_ms at) {
    ASSERT_FALSE(wait_done([&](auto h) { s_->end_conversation(c, at, std::move(h)); }));
  }
};

TEST_F(Retention, PurgesConversationsEndedBeforeTheCutoffOnly) {
  auto old_conv = make_conversation(*s_, "b1");
  auto recent = make_conversation(*s_, "b2");
  auto open_conv = make_conversation(*s_, "b3");
  for (auto c : {old_conv, recent, open_conv})
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(append(*s_, c, std::to_string(i), "x").ec);
  end(old_conv, 1000);
  end(recent, 5000);
  core::purge_request p;
  p.conversations_ended_before = 2000;
  auto r = wait_for<core::purge_result>([&](auto h) { s_->purge_expired(p, std::move(h)); });
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.value.conversations, 1);
  EXPECT_EQ(r.value.messages, 3);
  EXPECT_EQ(wait_for<core::conversation>([&](auto h) { s_->get_conversation(old_conv, std::move(h)); }).ec,
            store_errc::not_found);
  EXPECT_FALSE(wait_for<core::conversation>([&](auto h) { s_->get_conversation(recent, std::move(h)); }).ec);
  EXPECT_FALSE(wait_for<core::conversation>([&](auto h) { s_->get_conversation(open_conv, std::move(h)); }).ec);
}

TEST_F(Retention, PurgesFinishedQueueEntriesAnsweredInboxAndExpiredSessions) {
  core::queue_entry q;
  q.beneficiary_key = "b";
  q.joined_at = 10;
  auto qid = wait_for<core::queue_entry_id>([&](auto h) { s_->enqueue(q, std::move(h)); }).value;
  q.beneficiary_key = "still-waiting";
  ASSERT_FALSE(wait_for<core::queue_entry_id>([&](auto h) { s_->enqueue(q, std::move(h)); }).ec);
  ASSERT_FALSE(wait_done([&](auto h) { s_->finish_queue_entry(qid, core::queue_state::left, 20, std::move(h)); }));
  core::worker_account a;
  a.username = "w";
  a.password_hash = "h";
  auto w = wait_for<core::worker_id>([&](auto h) { s_->create_worker(a, std::move(h)); }).value;
  ASSERT_FALSE(wait_for<core::bytes>([&](auto h) { s_->create_session({"t", w, "d", 1, 30, false}, std::move(h)); }).ec);

  core::purge_request p;
  p.queue_entries_before = 100;
  p.inbox_answered_before = 100;
  p.sessions_expired_before = 100;
  auto r = wait_for<core::purge_result>([&](auto h) { s_->purge_expired(p, std::move(h)); });
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.value.queue_entries, 1);
  EXPECT_EQ(r.value.sessions, 1);
  EXPECT_EQ(wait_for<std::vector<core::queue_entry>>([&](auto h) { s_->list_waiting(std::move(h)); }).value.size(),
            1u);
}

TEST_F(Retention, PurgesAnsweredInboxEntriesWithTheirRecipientsAndOldUnansweredOnRequest) {
  auto w = testing::make_worker(*s_, "w");
  auto other = testing::make_worker(*s_, "other");
  auto add = [&](const std::string& bene, core::unix_ms at) {
    auto r = wait_for<core::inbox_entry_id>([&](auto h) {
      s_->add_inbox_entry(testing::inbox_message(bene, "m", {w, other}, "sealed", at), std::move(h));
    });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
  };
  auto answered_old = add("b1", 10);
  auto answered_recent = add("b2", 10);
  auto unread_old = add("b3", 10);
  auto unread_recent = add("b4", 500);
  ASSERT_FALSE(wait_for<core::inbox_entry>([&](auto h) {
                 s_->take_inbox_entry({answered_old, w, "ik", 20}, std::move(h));
               }).ec);
  ASSERT_FALSE(wait_for<core::inbox_entry>([&](auto h) {
                 s_->take_inbox_entry({answered_recent, w, "ik", 300}, std::move(h));
               }).ec);
  auto recipient_rows = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(options_.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM inbox_recipients", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
  };
  ASSERT_EQ(recipient_rows(), 8);

  // The usual purge: answered entries last changed before the cut-off, with their rows.
  core::purge_request p;
  p.inbox_answered_before = 100;
  auto r = wait_for<core::purge_result>([&](auto h) { s_->purge_expired(p, std::move(h)); });
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.value.inbox_entries, 1);
  EXPECT_EQ(recipient_rows(), 6);
  EXPECT_EQ(wait_for<std::int64_t>([&](auto h) { s_->count_unread_inbox(other, std::move(h)); }).value, 2);

  // Unanswered ones only when asked, by their age.
  p = {};
  p.inbox_unanswered_before = 100;
  r = wait_for<core::purge_result>([&](auto h) { s_->purge_expired(p, std::move(h)); });
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.value.inbox_entries, 1);
  EXPECT_EQ(recipient_rows(), 4);
  auto left = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s_->list_inbox_for_worker({other, 0, 10}, std::move(h)); });
  ASSERT_EQ(left.value.size(), 1u);
  EXPECT_EQ(left.value[0].id, unread_recent);
  (void)unread_old;
  auto answered = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s_->list_inbox(core::inbox_state::answered, 10, std::move(h)); });
  ASSERT_EQ(answered.value.size(), 1u);
  EXPECT_EQ(answered.value[0].id, answered_recent);
}

TEST_F(Retention, ZeroCutoffsPurgeNothing) {
  auto c = make_conversation(*s_, "b");
  end(c, 1);
  auto r = wait_for<core::purge_result>([&](auto h) { s_->purge_expired({}, std::move(h)); });
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(r.value.conversations, 0);
}

// The GDPR erasure test the issue asks for: a recognisable canary is in the database file
// and in the WAL before; after erasure none of the three files holds it.
TEST_F(Retention, ErasedBytesAreAbsentFromDatabaseWalAndShm) {
  const std::string canary = "CANARY-7f3a9c-erase-me-CANARY";
  const std::string key = "beneficiary-" + canary;
  auto c = make_conversation(*s_, key);
  for (int i = 0; i < 50; ++i)
    ASSERT_FALSE(append(*s_, c, "m" + std::to_string(i), canary + std::string(300, 'p'), key).ec);
  // Half in the main file, half only in the WAL.
  ASSERT_FALSE(wait_done([&](auto h) { s_->checkpoint_truncate(std::move(h)); }));
  for (int i = 50; i < 100; ++i)
    ASSERT_FALSE(append(*s_, c, "m" + std::to_string(i), canary + std::string(300, 'p'), key).ec);
  core::queue_entry q;
  q.beneficiary_key = key;
  q.prechat = canary;
  ASSERT_FALSE(wait_for<core::queue_entry_id>([&](auto h) { s_->enqueue(q, std::move(h)); }).ec);
  auto w = testing::make_worker(*s_, "worker");
  auto inbox = testing::inbox_message(key, "inbox-1", {w}, canary);
  inbox.recipients[0].wrapped_key = "wrapped-" + canary;
  ASSERT_FALSE(wait_for<core::inbox_entry_id>([&](auto h) { s_->add_inbox_entry(inbox, std::move(h)); }).ec);
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"lookup-1", canary, 1, 0}, std::move(h)); }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->publish_bundle({key, canary, 1}, std::move(h)); }));
  // Someone else's data must survive.
  auto other = make_conversation(*s_, "other");
  ASSERT_FALSE(append(*s_, other, "o", "KEEP-ME", "other").ec);

  ASSERT_NE(all_files().find(canary), std::string::npos) << "the test would prove nothing";
  core::erase_request e;
  e.identity_key = key;
  e.backup_lookup_ids = {"lookup-1"};
  auto r = wait_for<core::purge_result>([&](auto h) { s_->erase_beneficiary(e, std::move(h)); });
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.value.conversations, 1);
  EXPECT_EQ(r.value.messages, 100);
  EXPECT_EQ(r.value.queue_entries, 1);
  EXPECT_EQ(r.value.inbox_entries, 1);
  EXPECT_EQ(r.value.backups, 1);
  EXPECT_EQ(wait_for<std::int64_t>([&](auto h) { s_->count_unread_inbox(w, std::move(h)); }).value, 0);

  EXPECT_EQ(all_files().find(canary), std::string::npos);
  EXPECT_EQ(read_file(options_.path + "-wal").size(), 0u);
  // Also after closing (the last close checkpoints again and removes the WAL).
  s_.reset();
  EXPECT_EQ(all_files().find(canary), std::string::npos);
  s_ = open_store(options_);
  auto kept = wait_for<std::vector<core::stored_message>>(
      [&](auto h) { s_->read_messages({other, 0, 10}, std::move(h)); });
  ASSERT_EQ(kept.value.size(), 1u);
  EXPECT_EQ(kept.value[0].envelope, "KEEP-ME");
}

TEST_F(Retention, ErasureNeedsAnIdentityKey) {
  auto r = wait_for<core::purge_result>([&](auto h) { s_->erase_beneficiary({}, std::move(h)); });
  EXPECT_EQ(r.ec, store_errc::invalid_argument);
}

}  // namespace
}  // namespace relais::store
