#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "relais/core/store.hpp"

namespace relais::store {

namespace detail {
class engine;
}  // namespace detail

namespace limits {

/// Writes (appends and every other write) waiting for the writer (operations). Past it a
/// write fails at once with store_errc::busy, so a stalled disk turns into negative acks
/// instead of unbounded memory. 16,384 x 64 KiB envelopes is 1 GiB at worst; typical 300-byte
/// messages make it about 5 MiB.
inline constexpr std::size_t default_max_queued_writes = 16384;

/// Reads waiting for a reader thread (operations); past it a read fails with busy.
inline constexpr std::size_t default_max_queued_reads = 16384;

/// How long a write waits for a lock held by another process (milliseconds) before failing
/// with store_errc::locked. Long enough for a backup or sqlite3 shell, short enough that the
/// bounded queue does not sit full for minutes.
inline constexpr std::int64_t default_busy_timeout_ms = 5000;

/// WAL written since the last checkpoint that triggers the next one (bytes). The checkpointer
/// thread copies it into the database on its own connection (its database fsync never sits
/// between two group commits); the writer then copies the few frames committed meanwhile
/// between two batches, so that the WAL starts over instead of growing. 16 MiB rather than
/// SQLite's 4 MiB: the same index leaves are rewritten by every group commit, so a larger
/// interval copies each of them once for many commits (README: 50 -> 14 checkpoints per
/// 60,000 appends). The -wal file stays near this size plus one checkpoint's worth of commits.
inline constexpr std::int64_t default_checkpoint_wal_bytes = 16 * 1024 * 1024;

/// Page size of a newly created database file (bytes). SQLite's default; measured against
/// 1 and 2 KiB pages (README): smaller pages write fewer bytes per append but more frames and
/// more CPU per commit, and were not faster.
inline constexpr std::size_t default_page_size = 4096;

/// Page cache of the writer connection (bytes); SQLite's default.
inline constexpr std::int64_t default_writer_cache_bytes = 2 * 1024 * 1024;

/// The WAL file is truncated back to this size after a checkpoint (bytes).
inline constexpr std::int64_t wal_size_limit_bytes = 64 * 1024 * 1024;

/// Reader threads, each with its own connection (threads); WAL lets them read while the
/// writer commits. Two match the 2-core target machine.
inline constexpr std::size_t default_reader_threads = 2;

}  // namespace limits

/// How commits reach the disk (PRAGMA synchronous).
enum class sync_mode : std::uint8_t {
  /// fsync the WAL on every commit: an acknowledged message survives a power cut. The only
  /// setting allowed without allow_unsafe_durability.
  full,
  /// WAL mode NORMAL fsyncs only at checkpoints: a power cut can lose the last commits,
  /// which had already been acknowledged. Refused unless allow_unsafe_durability.
  normal,
  /// never fsync: benchmark ceiling and throwaway test servers only.
  off,
};

/// Configuration of a SQLite store; relaisd maps its [store] config section onto it.
struct sqlite_options {
  std::string path;                  ///< the database file; -wal and -shm live beside it
  sync_mode synchronous = sync_mode::full;
  bool allow_unsafe_durability = false;  ///< required for normal/off
  std::chrono::milliseconds busy_timeout{limits::default_busy_timeout_ms};
  std::size_t reader_threads = limits::default_reader_threads;
  std::size_t max_queued_writes = limits::default_max_queued_writes;
  std::size_t max_queued_reads = limits::default_max_queued_reads;
  bool quick_check_on_open = true;   ///< PRAGMA quick_check at open (O(size); turn off for huge files)
  /// Page size of a file created by this open (512-65536, power of two); an existing file
  /// keeps its own.
  std::size_t page_size = limits::default_page_size;
  /// WAL bytes written since the last checkpoint that trigger the next one.
  std::int64_t checkpoint_wal_bytes = limits::default_checkpoint_wal_bytes;
  /// Page cache of the writer connection (bytes).
  std::int64_t writer_cache_bytes = limits::default_writer_cache_bytes;
  /// With synchronous=FULL, write each commit's WAL frames with one write instead of two
  /// per frame (a VFS shim, see server/store/README.md). For benchmarks and tests.
  bool coalesce_wal_writes = true;
};

/// Why open failed: a code for the program, a message naming the file for the operator.
struct open_error {
  std::error_code code;
  std::string message;
};

/// Counters for metrics and tests (monotonic since open).
struct store_stats {
  std::uint64_t writes_committed = 0;   ///< write operations whose commit succeeded
  std::uint64_t writes_failed = 0;      ///< write operations completed with an error
  std::uint64_t commits = 0;            ///< successful transactions (one fsync each)
  std::uint64_t failed_commits = 0;     ///< transactions that failed and were rolled back
  std::uint64_t largest_batch = 0;      ///< most operations in one transaction
  std::uint64_t writer_reopens = 0;     ///< writer connection replaced after a failure
  std::uint64_t refused_busy = 0;       ///< operations refused because a queue was full
  std::uint64_t wal_frames_written = 0; ///< pages appended to the WAL by the writer's commits
  std::uint64_t wal_restarts = 0;       ///< commits that wrote the WAL from its start again
  std::uint64_t checkpoints = 0;        ///< checkpoints run by the checkpointer thread
  /// fsyncs of the database file by the checkpointer after its passes (see README, Threads)
  std::uint64_t checkpoint_syncs = 0;
  std::uint64_t catch_ups = 0;          ///< catch-up checkpoints run by the writer thread
  std::uint64_t catch_up_us = 0;        ///< microseconds the writer spent in them, in all
  std::uint64_t page_size = 0;          ///< the database's page size (bytes)
  /// Process-wide (every store of the process): WAL writes SQLite made through the
  /// coalescing shim, and the writes the shim passed on for them.
  std::uint64_t wal_write_calls = 0;
  std::uint64_t wal_write_flushes = 0;
};

/// The SQLite implementation of core::store: one writer thread with group commit, a
/// checkpointer thread, reader threads with their own connections, WAL, synchronous=FULL. Thread-safe: every public
/// function may be called from any thread. See server/store/README.md.
class sqlite_store final : public core::store {
 public:
  /// Opens (creating if needed), checks and migrates the database, then starts the threads.
  /// Returns null and fills `error` (naming the file) on any failure: never an empty store
  /// in place of an unreadable one.
  [[nodiscard]] static std::unique_ptr<sqlite_store> open(const sqlite_options& options,
                                                          open_error& error);

  /// Commits what is queued, completes what is left with store_errc::closed, joins threads.
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  // message_store
  void create_conversation(core::new_conversation c,
                           core::store_handler<core::conversation_id> done) override;
  void get_conversation(core::conversation_id id,
                        core::store_handler<core::conversation> done) override;
  void list_conversations(core::bytes identity_key, bool include_ended,
                          core::store_handler<std::vector<core::conversation>> done) override;
  void add_participant(core::conversation_id id, core::participant p,
                       core::store_done_handler done) override;
  void leave_conversation(core::conversation_id id, core::bytes identity_key, core::unix_ms at,
                          core::store_done_handler done) override;
  void transfer_conversation(core::transfer_request request,
                             core::store_done_handler done) override;
  void end_conversation(core::conversation_id id, core::unix_ms at,
                        core::store_done_handler done) override;
  void append_message(core::append_request request,
                      core::store_handler<core::append_result> done) override;
  void read_messages(core::message_page_query query,
                     core::store_handler<std::vector<core::stored_message>> done) override;
  void read_undelivered(core::undelivered_query query,
                        core::store_handler<std::vector<core::stored_message>> done) override;
  void update_cursor(core::cursor_update update, core::store_done_handler done) override;

  // key_store
  void publish_bundle(core::prekey_bundle bundle, core::store_done_handler done) override;
  void add_one_time_prekeys(core::bytes identity_key, std::vector<core::one_time_prekey> keys,
                            core::store_handler<std::int64_t> done) override;
  void claim_bundle(core::bytes identity_key,
                    core::store_handler<core::claimed_bundle> done) override;
  void count_one_time_prekeys(core::bytes identity_key,
                              core::store_handler<std::int64_t> done) override;
  void put_backup(core::backup_blob blob, core::store_done_handler done) override;
  void get_backup(core::bytes lookup_id, core::store_handler<core::backup_blob> done) override;
  void delete_backup(core::bytes lookup_id, core::store_done_handler done) override;

  // account_store
  void create_worker(core::worker_account account,
                     core::store_handler<core::worker_id> done) override;
  void get_worker(core::worker_id id, core::store_handler<core::worker_account> done) override;
  void find_worker(std::string username,
                   core::store_handler<core::worker_account> done) override;
  void find_worker_by_identity(core::bytes identity_key,
                               core::store_handler<core::worker_account> done) override;
  void list_workers(core::store_handler<std::vector<core::worker_account>> done) override;
  void update_worker(core::worker_update update, core::store_done_handler done) override;
  void record_login_failure(core::worker_id id, core::unix_ms locked_until,
                            core::store_handler<std::int32_t> done) override;
  void reset_login_failures(core::worker_id id, core::store_done_handler done) override;
  void consume_totp_step(core::worker_id id, std::int64_t step,
                         core::store_done_handler done) override;
  void remove_worker(core::worker_id id, core::unix_ms at, core::store_done_handler done) override;
  void remove_worker(core::worker_id id, core::store_done_handler done) override;
  void create_session(core::worker_session session,
                      core::store_handler<core::bytes> done) override;
  void find_session(core::bytes token_hash,
                    core::store_handler<core::worker_session> done) override;
  void revoke_session(core::bytes token_hash, core::unix_ms at,
                      core::store_done_handler done) override;
  void revoke_session(core::bytes token_hash, core::store_done_handler done) override;
  void revoke_worker_sessions(core::worker_id id, core::unix_ms at,
                              core::store_handler<std::vector<core::bytes>> done) override;
  void revoke_worker_sessions(core::worker_id id,
                              core::store_handler<std::vector<core::bytes>> done) override;
  void list_revoked_since(core::unix_ms since,
                          core::store_handler<std::vector<core::revocation>> done) override;

  // permanence_store
  void enqueue(core::queue_entry entry, core::store_handler<core::queue_entry_id> done) override;
  void list_waiting(core::store_handler<std::vector<core::queue_entry>> done) override;
  void take_queue_entry(core::take_request request,
                        core::store_handler<core::queue_entry> done) override;
  void finish_queue_entry(core::queue_entry_id id, core::queue_state state, core::unix_ms at,
                          core::store_done_handler done) override;
  void count_waiting(core::store_handler<std::int64_t> done) override;
  void set_shift_state(core::shift_state state, core::store_done_handler done) override;
  void list_shift_states(core::store_handler<std::vector<core::shift_state>> done) override;
  void list_followers(core::bytes beneficiary_key,
                      core::store_handler<std::vector<core::worker_id>> done) override;
  void add_inbox_entry(core::inbox_entry entry,
                       core::store_handler<core::inbox_entry_id> done) override;
  void list_inbox_for_worker(core::inbox_query query,
                             core::store_handler<std::vector<core::inbox_entry>> done) override;
  void count_unread_inbox(core::worker_id worker, core::store_handler<std::int64_t> done) override;
  void take_inbox_entry(core::inbox_take_request request,
                        core::store_handler<core::inbox_entry> done) override;
  void list_inbox(core::inbox_state state, std::size_t limit,
                  core::store_handler<std::vector<core::inbox_entry>> done) override;
  void claim_inbox_entry(core::inbox_entry_id id, core::worker_id worker, core::unix_ms at,
                         core::store_done_handler done) override;
  void answer_inbox_entry(core::inbox_entry_id id, core::conversation_id conversation,
                          core::unix_ms at, core::store_done_handler done) override;

  // retention_store
  void purge_expired(core::purge_request request,
                     core::store_handler<core::purge_result> done) override;
  void erase_beneficiary(core::erase_request request,
                         core::store_handler<core::purge_result> done) override;

  // SQLite-specific maintenance (relaisd's admin commands)

  /// Online backup (SQLite backup API) of a consistent snapshot to `destination`, written to
  /// a temporary file beside it, fsync'd, then renamed into place: the destination is either
  /// the previous file or a complete backup. Writers continue meanwhile.
  void backup_to(std::string destination, core::store_done_handler done);
  /// Checkpoints the WAL into the database and truncates it to zero bytes, so that no old
  /// page copy remains in the -wal file (run after each erasure, also callable on its own).
  void checkpoint_truncate(core::store_done_handler done);
  /// Runs PRAGMA integrity_check; yields "ok" or the first problems found.
  void integrity_check(core::store_handler<std::string> done);

  /// A snapshot of the counters.
  [[nodiscard]] store_stats stats() const;

 private:
  explicit sqlite_store(std::unique_ptr<detail::engine> engine);

  std::unique_ptr<detail::engine> engine_;
};

}  // namespace relais::store
