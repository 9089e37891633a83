// The WAL write-coalescing VFS shim (server/store/src/wal_vfs.hpp): used by default with
// synchronous=FULL, not otherwise; fewer writes than SQLite asks for; every committed row
// readable by another connection and after reopening (FULL and NORMAL, buffer bound crossed).
#include "wal_vfs.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "relais/store/sqlite_store.hpp"
#include "store_test_support.hpp"

namespace relais::store {
namespace {

using testing::make_conversation;
using testing::open_store;
using testing::options_in;
using testing::temp_dir;

// Holds the writer in a handler, queues `n` appends spread over `conversations`, releases:
// the appends commit as one batch. Returns once all are acknowledged (and checks them).
void append_one_batch(sqlite_store& s, const std::vector<core::conversation_id>& conversations,
                      int n) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> holding;
  s.append_message({conversations[0], "hold", "b", "x", 1},
                   [released, &holding](std::error_code ec, core::append_result) {
                     EXPECT_FALSE(ec);
                     holding.set_value();
                     released.wait();
                   });
  holding.get_future().wait();
  std::vector<std::future<std::error_code>> acks;
  for (int i = 0; i < n; ++i) {
    auto p = std::make_shared<std::promise<std::error_code>>();
    acks.push_back(p->get_future());
    const auto conv = conversations[static_cast<std::size_t>(i) % conversations.size()];
    s.append_message({conv, "m" + std::to_string(i), "b", std::string(300, 'e'), 1},
                     [p](std::error_code ec, core::append_result) { p->set_value(ec); });
  }
  release.set_value();
  for (auto& a : acks) EXPECT_FALSE(a.get());
}

TEST(WalVfs, FullStoreWritesEachCommitsFramesInFewWrites) {
  temp_dir dir;
  auto o = options_in(dir);
  ASSERT_TRUE(o.coalesce_wal_writes);  // the default
  auto s = open_store(o);
  std::vector<core::conversation_id> conversations;
  for (int i = 0; i < 50; ++i) conversations.push_back(make_conversation(*s, "b" + std::to_string(i)));
  const auto before = s->stats();
  append_one_batch(*s, conversations, 500);
  const auto after = s->stats();
  const auto frames = after.wal_frames_written - before.wal_frames_written;
  const auto calls = after.wal_write_calls - before.wal_write_calls;
  const auto flushes = after.wal_write_flushes - before.wal_write_flushes;
  ASSERT_GT(frames, 20u) << "the batch should dirty many pages";
  // SQLite writes a frame header and a page per frame; the shim passes on whole runs.
  EXPECT_GE(calls, 2 * frames);
  EXPECT_LE(flushes * 10, calls) << flushes << " writes for " << calls << " frame writes";
  for (auto conv : conversations) {
    auto page = testing::wait_for<std::vector<core::stored_message>>(
        [&](auto h) { s->read_messages({conv, 0, 100}, std::move(h)); });
    ASSERT_FALSE(page.ec);
    EXPECT_GE(page.value.size(), 10u);
  }
}

TEST(WalVfs, NotUsedWithoutSynchronousFull) {
  temp_dir dir;
  auto o = options_in(dir);
  o.synchronous = sync_mode::normal;
  o.allow_unsafe_durability = true;
  auto s = open_store(o);
  std::vector<core::conversation_id> conversations{make_conversation(*s, "b")};
  const auto before = s->stats();
  append_one_batch(*s, conversations, 50);
  const auto after = s->stats();
  EXPECT_GT(after.wal_frames_written, before.wal_frames_written);
  EXPECT_EQ(after.wal_write_calls, before.wal_write_calls);
}

TEST(WalVfs, SwitchedOffByTheOption) {
  temp_dir dir;
  auto o = options_in(dir);
  o.coalesce_wal_writes = false;
  auto s = open_store(o);
  std::vector<core::conversation_id> conversations{make_conversation(*s, "b")};
  const auto before = s->stats();
  append_one_batch(*s, conversations, 50);
  EXPECT_EQ(s->stats().wal_write_calls, before.wal_write_calls);
}

// Raw SQLite through the shim: a transaction far larger than the buffer bound (4 MiB) and
// the 128 KiB pieces, then small commits; a second connection (default VFS) must read every
// committed row while the first stays open, and so must a fresh connection after closing.
void round_trip(const char* synchronous, bool small_cache) {
  temp_dir dir;
  const std::string path = dir.file("raw.db");
  const char* vfs = detail::coalescing_vfs_name();
  ASSERT_NE(vfs, nullptr);
  sqlite3* w = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
            SQLITE_OK);
  auto exec = [](sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  };
  exec(w, "PRAGMA journal_mode=WAL");
  exec(w, std::string("PRAGMA synchronous=") + synchronous);
  exec(w, "PRAGMA wal_autocheckpoint=0");
  // Small: the big transaction spills frames mid-way, rewrites some of them and reads them
  // back (each read of buffered bytes flushes). Large: one commit of ~9 MB of frames.
  exec(w, small_cache ? "PRAGMA cache_size=-512" : "PRAGMA cache_size=-65536");
  exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  const auto before = detail::coalescing_vfs_totals();
  exec(w, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
          "INSERT INTO t(id, v) SELECT i, randomblob(3000) FROM n; COMMIT");
  const auto after = detail::coalescing_vfs_totals();
  EXPECT_GT(after.wal_writes - before.wal_writes, 4000u);
  if (!small_cache) {
    EXPECT_LT(after.wal_flushes - before.wal_flushes, (after.wal_writes - before.wal_writes) / 10);
  }

  sqlite3* r = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &r, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [](sqlite3* db) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*), sum(length(v)) FROM t", -1, &st, nullptr);
    std::int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0) * 100000 + sqlite3_column_int64(st, 1) / 1000;
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count(r), 3000 * 100000 + 9000);
  for (int i = 0; i < 20; ++i) {
    exec(w, "INSERT INTO t(id, v) VALUES(" + std::to_string(10000 + i) + ", randomblob(1000))");
    EXPECT_EQ(count(r), (3001 + i) * 100000 + 9000 + i + 1) << "commit " << i;
  }
  sqlite3_close(r);
  sqlite3_close(w);

  sqlite3* again = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &again), SQLITE_OK);
  EXPECT_EQ(count(again), 3020 * 100000 + 9020);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(again, "PRAGMA integrity_check", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(again);
}

TEST(WalVfs, EveryCommitIsReadableWithSynchronousFull) { round_trip("FULL", false); }
TEST(WalVfs, EveryCommitIsReadableWhenATransactionSpills) { round_trip("FULL", true); }
// The store does not use the shim with NORMAL; this checks that the wal-index header is
// still published only after the frames were written (flush at the shm barrier).
TEST(WalVfs, EveryCommitIsReadableWithSynchronousNormal) { round_trip("NORMAL", false); }

}  // namespace
}  // namespace relais::store
