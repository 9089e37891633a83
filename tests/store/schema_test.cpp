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
