#include "schema.hpp"

#include <gtest/gtest.h>

#include "connection.hpp"
#include "store_test_support.hpp"

namespace relais::store::detail {
namespace {

using testing::options_in;
using testing::temp_dir;

TEST(Schema, MigratesAnEmptyFileAndIsIdempotent) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  std::string detail;
  ASSERT_FALSE(migrate(*c, detail)) << detail;
  std::error_code ec;
  EXPECT_EQ(c->query_text("PRAGMA user_version", ec), std::to_string(schema_version));
  ASSERT_FALSE(migrate(*c, detail)) << detail;
  EXPECT_EQ(c->query_text("SELECT count(*) FROM sqlite_schema WHERE name = 'messages'", ec), "1");
  EXPECT_EQ(c->query_text("PRAGMA foreign_key_check", ec), "");
}

TEST(Schema, RefusesANewerVersion) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->exec("PRAGMA user_version=1000"));
  std::string detail;
  EXPECT_EQ(migrate(*c, detail), core::store_errc::unsupported_schema);
  EXPECT_NE(detail.find("1000"), std::string::npos);
}

TEST(Schema, AFailedMigrationLeavesNothingBehind) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  // A table of the same name makes the migration's CREATE fail halfway.
  ASSERT_FALSE(c->exec("CREATE TABLE inbox_entries(x)"));
  std::string detail;
  EXPECT_TRUE(migrate(*c, detail));
  std::error_code ec;
  EXPECT_EQ(c->query_text("PRAGMA user_version", ec), "0");
  EXPECT_EQ(c->query_text("SELECT count(*) FROM sqlite_schema WHERE name = 'workers'", ec), "0");
  EXPECT_FALSE(c->in_transaction());
}

TEST(Schema, UpgradesAVersionOneFileKeepingItsData) {
  temp_dir dir;
  {
    open_error error;
    auto c = connection::open(options_in(dir), connection::role::writer, error);
    ASSERT_TRUE(c) << error.message;
    std::string detail;
    ASSERT_FALSE(migrate(*c, detail, 1)) << detail;
    std::error_code ec;
    ASSERT_EQ(c->query_text("PRAGMA user_version", ec), "1");
    // Rows as version 1 wrote them.
    ASSERT_FALSE(c->exec_script(
        "INSERT INTO workers(id, username, password_hash, totp_secret, identity_key, created_at) "
        "VALUES(7, 'alice', 'h', x'', x'6b6579', 1);"
        "INSERT INTO sessions(token_hash, worker_id, device, created_at, expires_at, revoked) "
        "VALUES(x'01', 7, 'laptop', 1, 100000, 0), (x'02', 7, 'phone', 1, 100000, 1);"
        "INSERT INTO backups(lookup_id, blob, updated_at) VALUES(x'aa', x'bb', 5);"));
  }
  // Opening the store migrates to the current version.
  auto s = testing::open_store(options_in(dir));
  ASSERT_TRUE(s);
  auto w = testing::wait_for<core::worker_account>([&](auto h) { s->get_worker(7, std::move(h)); });
  ASSERT_FALSE(w.ec);
  EXPECT_EQ(w.value.username, "alice");
  EXPECT_EQ(w.value.display_name, "");
  auto by_key = testing::wait_for<core::worker_account>(
      [&](auto h) { s->find_worker_by_identity("key", std::move(h)); });
  EXPECT_EQ(by_key.value.id, 7);
  auto b = testing::wait_for<core::backup_blob>([&](auto h) { s->get_backup("\xaa", std::move(h)); });
  ASSERT_FALSE(b.ec);
  EXPECT_EQ(b.value.version, 1);  // an old backup is version 1: the next put says 2
  EXPECT_FALSE(testing::wait_done([&](auto h) { s->put_backup({"\xaa", "new", 2, 6}, std::move(h)); }));
  auto old_revoked = testing::wait_for<core::worker_session>(
      [&](auto h) { s->find_session("\x02", std::move(h)); });
  EXPECT_TRUE(old_revoked.value.revoked);
  EXPECT_EQ(old_revoked.value.revoked_at, 0);
  EXPECT_TRUE(testing::wait_for<std::vector<core::revocation>>(
                  [&](auto h) { s->list_revoked_since(0, std::move(h)); })
                  .value.empty());
  ASSERT_FALSE(testing::wait_done([&](auto h) { s->revoke_session("\x01", 500, std::move(h)); }));
  auto log = testing::wait_for<std::vector<core::revocation>>(
      [&](auto h) { s->list_revoked_since(0, std::move(h)); });
  ASSERT_EQ(log.value.size(), 1u);
  EXPECT_EQ(log.value[0].worker, 7);
  auto check = testing::wait_for<std::string>([&](auto h) { s->integrity_check(std::move(h)); });
  EXPECT_EQ(check.value, "ok");
}

TEST(Schema, UpgradesAVersionTwoFileKeepingItsData) {
  temp_dir dir;
  {
    open_error error;
    auto c = connection::open(options_in(dir), connection::role::writer, error);
    ASSERT_TRUE(c) << error.message;
    std::string detail;
    ASSERT_FALSE(migrate(*c, detail, 2)) << detail;
    std::error_code ec;
    ASSERT_EQ(c->query_text("PRAGMA user_version", ec), "2");
    // Rows as version 2 wrote them: two workers on shift, a conversation with messages and
    // cursors, people waiting, an inbox entry without recipients or client id.
    ASSERT_FALSE(c->exec_script(
        "INSERT INTO workers(id, username, password_hash, totp_secret, identity_key, created_at, "
        "display_name) VALUES(7, 'alice', 'h', x'', x'6b61', 1, 'Alice'), "
        "(8, 'bob', 'h', x'', x'6b62', 1, 'Bob');"
        "INSERT INTO shift_states(worker_id, mode, on_call, capacity, since) "
        "VALUES(7, 1, 1, 2, 100), (8, 3, 0, 1, 200);"
        "INSERT INTO conversations(id, beneficiary_key, created_at, last_seq) "
        "VALUES(40, x'62', 10, 2);"
        "INSERT INTO participants(conversation_id, identity_key, role, worker_id, joined_at, "
        "delivered_seq, read_seq) VALUES(40, x'62', 0, NULL, 10, 2, 1), "
        "(40, x'6b61', 1, 7, 10, 1, 1);"
        "INSERT INTO messages(conversation_id, seq, client_message_id, sender_key, envelope, "
        "received_at) VALUES(40, 1, x'01', x'62', x'aa', 11), (40, 2, x'02', x'6b61', x'bb', 12);"
        "INSERT INTO queue_entries(beneficiary_key, urgency, prechat, joined_at, state, updated_at) "
        "VALUES(x'71', 0, x'', 5, 0, 5), (x'72', 1, x'', 6, 0, 6), (x'73', 0, x'', 4, 2, 7);"
        "INSERT INTO inbox_entries(id, beneficiary_key, envelope, created_at, state, updated_at) "
        "VALUES(3, x'69', x'cc', 20, 0, 20);"));
  }
  auto s = testing::open_store(options_in(dir));
  ASSERT_TRUE(s);
  std::error_code ec;
  // Shift states: no end yet.
  auto states = testing::wait_for<std::vector<core::shift_state>>(
      [&](auto h) { s->list_shift_states(std::move(h)); });
  ASSERT_EQ(states.value.size(), 2u);
  EXPECT_EQ(states.value[0].capacity, 2);
  EXPECT_TRUE(states.value[0].on_call);
  EXPECT_EQ(states.value[0].until, 0);
  EXPECT_EQ(states.value[1].mode, core::shift_mode::holiday);
  ASSERT_FALSE(testing::wait_done([&](auto h) {
    s->set_shift_state({8, core::shift_mode::holiday, false, 1, 300, 900}, std::move(h));
  }));
  // The conversation, its cursors, and its first participants (joined_seq 0).
  auto conv = testing::wait_for<core::conversation>([&](auto h) { s->get_conversation(40, std::move(h)); });
  ASSERT_FALSE(conv.ec);
  EXPECT_EQ(conv.value.last_seq, 2);
  ASSERT_EQ(conv.value.participants.size(), 2u);
  for (const auto& p : conv.value.participants) EXPECT_EQ(p.joined_seq, 0);
  // It can be transferred, and its worker is a follower of its beneficiary.
  EXPECT_EQ(testing::wait_for<std::vector<core::worker_id>>([&](auto h) {
              s->list_followers("b", std::move(h));
            }).value,
            (std::vector<core::worker_id>{7}));
  ASSERT_FALSE(testing::wait_done([&](auto h) {
    s->transfer_conversation({40, 7, {"kb", core::participant_role::worker, 8}, 50}, std::move(h));
  }));
  conv = testing::wait_for<core::conversation>([&](auto h) { s->get_conversation(40, std::move(h)); });
  for (const auto& p : conv.value.participants) {
    if (p.worker == 8) {
      EXPECT_EQ(p.joined_seq, 2);
    }
  }
  EXPECT_EQ(testing::append(*s, 40, "after", "x", "b").value.seq, 3);
  // The queue, in service order.
  auto waiting = testing::wait_for<std::vector<core::queue_entry>>([&](auto h) { s->list_waiting(std::move(h)); });
  ASSERT_EQ(waiting.value.size(), 2u);
  EXPECT_EQ(waiting.value[0].beneficiary_key, "r");
  EXPECT_EQ(testing::wait_for<std::int64_t>([&](auto h) { s->count_waiting(std::move(h)); }).value, 2);
  // The old inbox entry is still there (for list_inbox), addressed to nobody in particular.
  auto old_inbox = testing::wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s->list_inbox(core::inbox_state::unread, 10, std::move(h)); });
  ASSERT_EQ(old_inbox.value.size(), 1u);
  EXPECT_EQ(old_inbox.value[0].id, 3);
  EXPECT_EQ(old_inbox.value[0].client_msg_id, "");
  EXPECT_EQ(testing::wait_for<std::int64_t>([&](auto h) { s->count_unread_inbox(7, std::move(h)); }).value, 0);
  // New entries with recipients and idempotency beside it; an empty client id never matches
  // the old one.
  auto added = testing::wait_for<core::inbox_entry_id>([&](auto h) {
    s->add_inbox_entry(testing::inbox_message("i", "c1", {7, 8}), std::move(h));
  });
  ASSERT_FALSE(added.ec) << added.ec.message();
  EXPECT_GT(added.value, 3);
  EXPECT_EQ(testing::wait_for<std::int64_t>([&](auto h) { s->count_unread_inbox(7, std::move(h)); }).value, 1);
  auto taken = testing::wait_for<core::inbox_entry>(
      [&](auto h) { s->take_inbox_entry({added.value, 7, "ka", 60}, std::move(h)); });
  ASSERT_FALSE(taken.ec) << taken.ec.message();
  auto check = testing::wait_for<std::string>([&](auto h) { s->integrity_check(std::move(h)); });
  EXPECT_EQ(check.value, "ok");
  s.reset();
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->query_text("PRAGMA user_version", ec), "3");
  EXPECT_EQ(c->query_text("PRAGMA foreign_key_check", ec), "");
}

TEST(Schema, AFailedUpgradeLeavesTheOldVersionIntact) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  std::string detail;
  ASSERT_FALSE(migrate(*c, detail, 1)) << detail;
  // Two accounts with the same identity key: version 2's unique index cannot be built.
  ASSERT_FALSE(c->exec_script(
      "INSERT INTO workers(username, password_hash, totp_secret, identity_key, created_at) "
      "VALUES('a', 'h', x'', x'01', 1), ('b', 'h', x'', x'01', 1);"));
  EXPECT_TRUE(migrate(*c, detail));
  EXPECT_NE(detail.find("schema version 2"), std::string::npos) << detail;
  std::error_code ec;
  EXPECT_EQ(c->query_text("PRAGMA user_version", ec), "1");
  EXPECT_EQ(c->query_text("SELECT count(*) FROM sqlite_schema WHERE name = 'revocations'", ec), "0");
  EXPECT_FALSE(c->in_transaction());
}

}  // namespace
}  // namespace relais::store::detail
