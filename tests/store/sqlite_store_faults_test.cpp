// Faults: fsync and write errors (libfiu), a full file system, a read-only file system, a
// lock held by another process. In every case an append whose commit failed is completed
// with an error, never with success, and the store recovers once the fault is gone.
//
// The fiu tests need Debian's fiu_posix_preload.so in LD_PRELOAD (ctest sets it for the
// StoreFaults tests); they fail, not skip, without it.
#include <fiu-control.h>
#include <fiu.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
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

bool fiu_preloaded() {
  const char* p = std::getenv("LD_PRELOAD");
  return p != nullptr && std::strstr(p, "fiu_posix_preload") != nullptr;
}

void* errno_info(int e) { return reinterpret_cast<void*>(static_cast<std::intptr_t>(e)); }

/// Enables a set of libfiu failure points for its lifetime.
class fault {
 public:
  fault(std::initializer_list<const char*> names, int err, float probability = 1.0f)
      : names_(names) {
    fiu_init(0);
    for (const char* n : names_) {
      if (probability >= 1.0f) {
        fiu_enable(n, 1, errno_info(err), 0);
      } else {
        fiu_enable_random(n, 1, errno_info(err), 0, probability);
      }
    }
  }
  ~fault() { clear(); }
  fault(const fault&) = delete;
  fault& operator=(const fault&) = delete;
  void clear() {
    for (const char* n : names_) fiu_disable(n);
    names_.clear();
  }

 private:
  std::vector<const char*> names_;
};

constexpr auto syncs = {"posix/io/sync/fsync", "posix/io/sync/fdatasync"};
// SQLite writes with pwrite64 only; failing write(2) would also silence the test output.
constexpr auto writes = {"posix/io/rw/pwrite"};

std::vector<core::stored_message> all_messages(sqlite_store& s, core::conversation_id c) {
  std::vector<core::stored_message> out;
  for (core::sequence_number after = 0;;) {
    auto page = wait_for<std::vector<core::stored_message>>(
        [&](auto h) { s.read_messages({c, after, core::limits::max_page_messages}, std::move(h)); });
    EXPECT_FALSE(page.ec);
    if (page.value.empty()) return out;
    after = page.value.back().seq;
    for (auto& m : page.value) out.push_back(std::move(m));
  }
}

class StoreFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fiu_preloaded())
        << "run through ctest, which sets LD_PRELOAD=/usr/lib/fiu/fiu_posix_preload.so";
  }
  temp_dir dir_;
  sqlite_options options_ = options_in(dir_);
};

// `expected` lists the acceptable codes: SQLite reports a failed fsync as SQLITE_IOERR_FSYNC
// and a failed write as SQLITE_IOERR_WRITE whatever the errno (only ENOSPC on write becomes
// SQLITE_FULL), and the errno it keeps is not reliable after its own cleanup calls.
void expect_fault_then_recovery(sqlite_store& s, core::conversation_id conv,
                                 std::initializer_list<const char*> points, int err,
                                 std::initializer_list<store_errc> expected) {
  ASSERT_FALSE(append(s, conv, "before", "x").ec);
  {
    fault f(points, err);
    auto r = append(s, conv, "during", "x");
    bool matched = false;
    for (auto e : expected) matched = matched || r.ec == e;
    EXPECT_TRUE(matched) << r.ec.message();
    EXPECT_TRUE(core::is_transient_store_failure(r.ec));
  }
  // Fault gone: the same client id is retried and committed, with no gap in seqs.
  auto retry = append(s, conv, "during", "x");
  ASSERT_FALSE(retry.ec) << retry.ec.message();
  EXPECT_FALSE(retry.value.duplicate);
  EXPECT_EQ(retry.value.seq, 2);
  auto msgs = all_messages(s, conv);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].client_message_id, "during");
  EXPECT_GE(s.stats().writer_reopens, 1u);  // the suspect connection was replaced
}

TEST_F(StoreFaults, FsyncEioFailsTheAppendThenTheStoreRecovers) {
  auto s = open_store(options_);
  expect_fault_then_recovery(*s, make_conversation(*s, "b"), syncs, EIO, {store_errc::io_error});
}

TEST_F(StoreFaults, FsyncEnospcFailsTheAppend) {
  auto s = open_store(options_);
  expect_fault_then_recovery(*s, make_conversation(*s, "b"), syncs, ENOSPC,
                             {store_errc::io_error, store_errc::disk_full});
}

TEST_F(StoreFaults, WriteEioFailsTheAppend) {
  auto s = open_store(options_);
  expect_fault_then_recovery(*s, make_conversation(*s, "b"), writes, EIO, {store_errc::io_error});
}

TEST_F(StoreFaults, WriteEnospcIsDiskFull) {
  auto s = open_store(options_);
  expect_fault_then_recovery(*s, make_conversation(*s, "b"), writes, ENOSPC, {store_errc::disk_full});
}

TEST_F(StoreFaults, WriteErofsFailsTheAppend) {
  auto s = open_store(options_);
  expect_fault_then_recovery(*s, make_conversation(*s, "b"), writes, EROFS,
                             {store_errc::io_error, store_errc::read_only});
}

// The permanence's new writes follow the same discipline: a failed commit is a transient
// error, leaves nothing behind, and the retry succeeds exactly once.
TEST_F(StoreFaults, InboxSendWhoseCommitFailedIsStoredOnceByTheRetry) {
  auto s = open_store(options_);
  auto w = testing::make_worker(*s, "w");
  const auto message = testing::inbox_message("bene", "inbox-1", {w});
  {
    fault f(syncs, EIO);
    auto r = wait_for<core::inbox_entry_id>([&](auto h) { s->add_inbox_entry(message, std::move(h)); });
    EXPECT_EQ(r.ec, store_errc::io_error);
    EXPECT_TRUE(core::is_transient_store_failure(r.ec));
  }
  auto retry = wait_for<core::inbox_entry_id>([&](auto h) { s->add_inbox_entry(message, std::move(h)); });
  ASSERT_FALSE(retry.ec) << retry.ec.message();
  auto again = wait_for<core::inbox_entry_id>([&](auto h) { s->add_inbox_entry(message, std::move(h)); });
  EXPECT_EQ(again.value, retry.value);
  auto listed = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s->list_inbox_for_worker({w, 0, 10}, std::move(h)); });
  ASSERT_EQ(listed.value.size(), 1u);
  EXPECT_EQ(listed.value[0].id, retry.value);
  EXPECT_GE(s->stats().writer_reopens, 1u);
}

TEST_F(StoreFaults, InboxAnswerWhoseCommitFailedLeavesItUnreadAndOpensNothing) {
  auto s = open_store(options_);
  auto w = testing::make_worker(*s, "w");
  auto id = wait_for<core::inbox_entry_id>([&](auto h) {
    s->add_inbox_entry(testing::inbox_message("bene", "inbox-1", {w}), std::move(h));
  });
  ASSERT_FALSE(id.ec);
  {
    fault f(writes, ENOSPC);
    auto r = wait_for<core::inbox_entry>([&](auto h) { s->take_inbox_entry({id.value, w, "ik", 5}, std::move(h)); });
    EXPECT_TRUE(core::is_transient_store_failure(r.ec)) << r.ec.message();
    EXPECT_EQ(r.value.conversation, 0);
  }
  EXPECT_EQ(wait_for<std::int64_t>([&](auto h) { s->count_unread_inbox(w, std::move(h)); }).value, 1);
  EXPECT_TRUE(wait_for<std::vector<core::conversation>>([&](auto h) {
                s->list_conversations("bene", true, std::move(h));
              }).value.empty());
  auto retry = wait_for<core::inbox_entry>([&](auto h) { s->take_inbox_entry({id.value, w, "ik", 6}, std::move(h)); });
  ASSERT_FALSE(retry.ec) << retry.ec.message();
  EXPECT_EQ(wait_for<std::vector<core::conversation>>([&](auto h) {
              s->list_conversations("bene", true, std::move(h));
            }).value.size(),
            1u);
}

TEST_F(StoreFaults, TransferWhoseCommitFailedChangesNothing) {
  auto s = open_store(options_);
  auto a = testing::make_worker(*s, "a");
  auto b = testing::make_worker(*s, "b");
  core::new_conversation n;
  n.beneficiary_key = "bene";
  n.participants.push_back({"bene", core::participant_role::beneficiary, 0, 1});
  n.participants.push_back({"ka", core::participant_role::worker, a, 1});
  auto conv = wait_for<core::conversation_id>([&](auto h) { s->create_conversation(n, std::move(h)); }).value;
  const core::transfer_request t{conv, a, {"kb", core::participant_role::worker, b}, 50};
  {
    fault f(syncs, EIO);
    auto ec = testing::wait_done([&](auto h) { s->transfer_conversation(t, std::move(h)); });
    EXPECT_EQ(ec, store_errc::io_error);
  }
  auto got = wait_for<core::conversation>([&](auto h) { s->get_conversation(conv, std::move(h)); });
  ASSERT_EQ(got.value.participants.size(), 2u);
  for (const auto& p : got.value.participants) EXPECT_EQ(p.left_at, 0);
  EXPECT_FALSE(testing::wait_done([&](auto h) { s->transfer_conversation(t, std::move(h)); }));
  got = wait_for<core::conversation>([&](auto h) { s->get_conversation(conv, std::move(h)); });
  EXPECT_EQ(got.value.participants.size(), 3u);
}

// Many appenders while fsync and write fail at random: whatever was acknowledged is on disk
// after a restart, exactly once, with its seq; the seqs have no gap.
TEST_F(StoreFaults, RandomFailuresNeverAcknowledgeALostMessage) {
  std::map<std::string, core::sequence_number> acked;
  std::set<std::string> failed;
  core::conversation_id conv = 0;
  {
    auto s = open_store(options_);
    conv = make_conversation(*s, "b");
    std::mutex m;
    {
      fault f1(syncs, EIO, 0.2f);
      fault f2(writes, ENOSPC, 0.05f);
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 100; ++i) {
            const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
            auto r = append(*s, conv, id, "payload-" + id);
            std::lock_guard lock(m);
            if (r.ec) {
              EXPECT_TRUE(core::is_transient_store_failure(r.ec)) << r.ec.message();
              failed.insert(id);
            } else {
              acked[id] = r.value.seq;
            }
          }
        });
      }
      for (auto& t : threads) t.join();
    }
    EXPECT_GT(failed.size(), 0u) << "no fault fired: the test proved nothing";
    EXPECT_GT(acked.size(), 0u);
  }
  auto s = open_store(options_);
  auto msgs = all_messages(*s, conv);
  std::map<std::string, core::sequence_number> stored;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].seq, static_cast<core::sequence_number>(i + 1)) << "gap in seqs";
    EXPECT_TRUE(stored.emplace(msgs[i].client_message_id, msgs[i].seq).second) << "stored twice";
    EXPECT_EQ(msgs[i].envelope, "payload-" + msgs[i].client_message_id);
  }
  for (const auto& [id, seq] : acked) {
    auto it = stored.find(id);
    ASSERT_NE(it, stored.end()) << "acknowledged message " << id << " lost";
    EXPECT_EQ(it->second, seq);
  }
  auto check = wait_for<std::string>([&](auto h) { s->integrity_check(std::move(h)); });
  EXPECT_EQ(check.value, "ok");
}

// fiu callback: fail only in the store's checkpointer thread (the engine names it).
int on_checkpointer_thread(const char*, int*, void**, unsigned int*) {
  char name[16] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return 0;
  return std::strcmp(name, "store-ckpt") == 0 ? 1 : 0;
}

/// Fails the given libfiu points with EIO on the store's checkpointer thread only.
class checkpointer_fault {
 public:
  explicit checkpointer_fault(std::vector<const char*> points) : points_(std::move(points)) {
    fiu_init(0);
    for (const char* point : points_) {
      fiu_enable_external(point, 1, errno_info(EIO), 0, on_checkpointer_thread);
    }
  }
  ~checkpointer_fault() { clear(); }
  checkpointer_fault(const checkpointer_fault&) = delete;
  checkpointer_fault& operator=(const checkpointer_fault&) = delete;
  void clear() {
    for (const char* point : points_) fiu_disable(point);
    points_.clear();
  }

 private:
  std::vector<const char*> points_;
};

// The checkpointer writes back and fsyncs the database itself after each pass (the writer's catch-up then
// has only a few pages left to sync). While those fail, appends are still acknowledged
// (their WAL fsyncs succeed), no catch-up is asked for and the WAL never starts over, so no
// committed frame is overwritten before the database holds it on disk; once they
// succeed again the WAL starts over, and every acknowledged message is there after a restart.
// `sqlite_may_sync`: the fault leaves SQLite's own fsync at the end of a pass that reached the
// last commit working (then the WAL may legitimately start over).
void checkpoint_fault_never_lets_the_wal_start_over(sqlite_options options,
                                                    std::vector<const char*> points,
                                                    bool sqlite_may_sync) {
  options.checkpoint_wal_bytes = 64 * 1024;  // a checkpoint every ~16 frames
  std::vector<std::string> acked;
  core::conversation_id conv = 0;
  {
    auto s = open_store(options);
    conv = make_conversation(*s, "b");
    checkpointer_fault fault_on(std::move(points));
    // The schema's first commit already asked for a checkpoint. The checkpointer runs its
    // queued maintenance after the pass in progress: once this TRUNCATE returns (it fails:
    // its fsync is refused) no pass that began before the fault is still running. Two appends
    // then let the writer finish whatever that earlier pass asked for (a catch-up, a restart).
    (void)wait_done([&](auto h) { s->checkpoint_truncate(std::move(h)); });
    int n = 0;
    for (; n < 2; ++n) {
      const std::string id = "m" + std::to_string(n);
      ASSERT_FALSE(append(*s, conv, id, "payload-" + id).ec);
      acked.push_back(id);
    }
    const auto before = s->stats();
    // Far more WAL than one checkpoint interval: the checkpointer is asked many times.
    for (; n < 400; ++n) {
      const std::string id = "m" + std::to_string(n);
      auto r = append(*s, conv, id, "payload-" + id + std::string(2000, 'x'));
      ASSERT_FALSE(r.ec) << r.ec.message();
      acked.push_back(id);
    }
    const auto during = s->stats();
    fault_on.clear();
    EXPECT_GT(during.checkpoints, before.checkpoints);
    EXPECT_EQ(during.checkpoint_syncs, before.checkpoint_syncs);
    EXPECT_EQ(during.catch_ups, before.catch_ups);
    if (!sqlite_may_sync) {
      EXPECT_EQ(during.wal_restarts, before.wal_restarts) << "the WAL started over unsynced";
    }
    // Fsyncs succeed again: the next checkpoints sync, the writer catches up, the WAL starts
    // over (bounded: each append adds WAL, and checkpoints are asked for every ~16 frames).
    for (; s->stats().wal_restarts == during.wal_restarts && n < 4000; ++n) {
      const std::string id = "m" + std::to_string(n);
      auto r = append(*s, conv, id, "payload-" + id + std::string(2000, 'x'));
      ASSERT_FALSE(r.ec) << r.ec.message();
      acked.push_back(id);
    }
    const auto after = s->stats();
    EXPECT_GT(after.checkpoint_syncs, during.checkpoint_syncs);
    EXPECT_GT(after.catch_ups, during.catch_ups);
    EXPECT_GT(after.wal_restarts, during.wal_restarts) << "no restart after the fault";
  }
  auto s = open_store(options);
  auto msgs = all_messages(*s, conv);
  ASSERT_EQ(msgs.size(), acked.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].seq, static_cast<core::sequence_number>(i + 1));
    EXPECT_EQ(msgs[i].client_message_id, acked[i]);
    EXPECT_EQ(msgs[i].envelope.rfind("payload-" + acked[i], 0), 0u);
  }
  auto check = wait_for<std::string>([&](auto h) { s->integrity_check(std::move(h)); });
  EXPECT_EQ(check.value, "ok");
}

TEST_F(StoreFaults, ACheckpointWhoseDatabaseFsyncFailsNeverLetsTheWalStartOver) {
  checkpoint_fault_never_lets_the_wal_start_over(
      options_, {"posix/io/sync/fsync", "posix/io/sync/fdatasync"}, false);
}

// The same when the piecewise write-back before that fsync (sync_file_range) fails: the pass
// counts as failed, no fsync of ours follows and no catch-up is asked for.
TEST_F(StoreFaults, ACheckpointWhoseWriteBackFailsAsksForNoCatchUp) {
  checkpoint_fault_never_lets_the_wal_start_over(options_, {"linux/io/sync_file_range"}, true);
}

/// A tmpfs of a few hundred KiB mounted for the test (needs CAP_SYS_ADMIN).
class small_tmpfs {
 public:
  explicit small_tmpfs(const std::string& dir, const char* size) : dir_(dir) {
    const std::string opts = std::string("size=") + size;
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    error_ = mounted_ ? 0 : errno;
  }
  ~small_tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  small_tmpfs(const small_tmpfs&) = delete;
  small_tmpfs& operator=(const small_tmpfs&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] int error() const { return error_; }
  bool remount(const char* opts, unsigned long flags = 0) {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | flags, opts) == 0;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  int error_ = 0;
};

// The real thing rather than an injected errno: a file system that fills up.
TEST_F(StoreFaults, FullFileSystemFailsAppendsThenRecoversWhenSpaceReturns) {
  const std::string mnt = dir_.file("small");
  std::filesystem::create_directory(mnt);
  small_tmpfs fs(mnt, "384k");
  if (!fs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(fs.error())
                 << "); ENOSPC is covered by WriteEnospcIsDiskFull and FsyncEnospcFailsTheAppend";
  sqlite_options o;
  o.path = mnt + "/relais.db";
  {
    auto s = open_store(o);
    ASSERT_TRUE(s);
    auto conv = make_conversation(*s, "b");
    std::vector<std::string> acked;
    std::error_code failure;
    for (int i = 0; i < 1000 && !failure; ++i) {
      const std::string id = "m" + std::to_string(i);
      auto r = append(*s, conv, id, std::string(2048, 'f'));
      if (r.ec) {
        failure = r.ec;
      } else {
        acked.push_back(id);
      }
    }
    ASSERT_EQ(failure, store_errc::disk_full) << failure.message();
    ASSERT_FALSE(acked.empty());
    // Still full: still refused, and the store is still up.
    EXPECT_EQ(append(*s, conv, "again", std::string(2048, 'f')).ec, store_errc::disk_full);
    ASSERT_TRUE(fs.remount("size=8m"));
    auto r = append(*s, conv, "after", std::string(2048, 'f'));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.value.seq, static_cast<core::sequence_number>(acked.size() + 1));
    auto msgs = all_messages(*s, conv);
    ASSERT_EQ(msgs.size(), acked.size() + 1);
  }
}

TEST_F(StoreFaults, ReadOnlyFileSystemAtOpenIsRefusedNamingTheFile) {
  const std::string mnt = dir_.file("ro");
  std::filesystem::create_directory(mnt);
  small_tmpfs fs(mnt, "4m");
  if (!fs.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(fs.error())
                 << "); EROFS is covered by WriteErofsFailsTheAppend";
  sqlite_options o;
  o.path = mnt + "/relais.db";
  {
    auto s = open_store(o);
    ASSERT_TRUE(s);
  }
  ASSERT_TRUE(fs.remount("size=4m", MS_RDONLY));
  open_error error;
  EXPECT_FALSE(sqlite_store::open(o, error));
  EXPECT_TRUE(error.code == store_errc::read_only || error.code == store_errc::io_error)
      << error.code.message();
  EXPECT_NE(error.message.find(o.path), std::string::npos) << error.message;
  ASSERT_TRUE(fs.remount("size=4m"));
  EXPECT_TRUE(sqlite_store::open(o, error)) << error.message;
}

// Another process holds the write lock longer than busy_timeout: the append fails with
// `locked`; once it lets go, appends succeed. (Forked before the store exists, so the child
// inherits no SQLite state and no threads.)
TEST_F(StoreFaults, LockHeldByAnotherProcessFailsAppendsThenRecovers) {
  { auto s = open_store(options_); ASSERT_TRUE(s); }
  int to_child[2];
  int to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sqlite3* db = nullptr;
    int status = 1;
    if (sqlite3_open(options_.path.c_str(), &db) == SQLITE_OK &&
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK) {
      char c = 'L';
      if (::write(to_parent[1], &c, 1) == 1 && ::read(to_child[0], &c, 1) == 1 &&
          sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK)
        status = 0;
    }
    sqlite3_close(db);
    ::_exit(status);
  }
  char c = 0;
  ASSERT_EQ(::read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(c, 'L');

  options_.busy_timeout = std::chrono::milliseconds(100);
  auto s = open_store(options_);  // reading is not blocked by the other writer (WAL)
  ASSERT_TRUE(s);
  auto r = wait_for<core::conversation_id>([&](auto h) {
    s->create_conversation({"b", {}, 1}, std::move(h));
  });
  EXPECT_EQ(r.ec, store_errc::locked);
  EXPECT_TRUE(core::is_transient_store_failure(r.ec));

  c = 'U';
  ASSERT_EQ(::write(to_child[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);

  auto conv = make_conversation(*s, "b");
  EXPECT_FALSE(append(*s, conv, "after", "x").ec);
}

}  // namespace
}  // namespace relais::store
