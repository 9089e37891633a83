#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "connection.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store::detail {

/// One unit of work for the writer or a reader: `apply` runs on the connection (inside the
/// group-commit transaction for a write), `complete` runs after the outcome is known (for a
/// write: after COMMIT returned, i.e. after the fsync).
struct operation {
  std::function<std::error_code(connection&)> apply;
  std::function<void(std::error_code)> complete;
  /// False for a read that must run outside a read transaction (the online backup).
  bool in_transaction = true;
  /// False for a write that changes nothing when it fails on its own (it checks before its
  /// first change): it runs without a savepoint (two statements and the sub-journal's page
  /// copies less per operation). If it fails after changing a row anyway, the whole batch
  /// is rolled back (`internal`), so nothing half-done is ever committed.
  bool needs_savepoint = true;
};

/// The threads of a sqlite_store: one writer doing group commit, one checkpointer, N readers.
class engine {
 public:
  /// Opens the writer (checks, migrates) and the readers, then starts the threads.
  [[nodiscard]] static std::unique_ptr<engine> start(const sqlite_options& options,
                                                     open_error& error);
  /// Drains both queues (queued writes are still committed), then joins the threads.
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Queues a write for the next group commit. Completes inline with busy when the queue is
  /// full and with closed after shutdown began.
  void submit_write(operation op);
  /// Queues a read for a reader thread (same refusals).
  void submit_read(operation op);
  /// Queues maintenance for the checkpointer thread (TRUNCATE checkpoints after erasure),
  /// serialised with its own passive checkpoints.
  void submit_checkpoint(operation op);

  [[nodiscard]] store_stats stats() const;
  [[nodiscard]] const sqlite_options& options() const noexcept { return options_; }

 private:
  engine(sqlite_options options, std::unique_ptr<connection> writer);

  void writer_loop();
  void run_transaction(std::vector<operation>& batch);
  /// Reopens the writer after a failure; false with `ec`/`detail` if that fails too.
  bool ensure_writer(std::error_code& ec, std::string& detail);
  void request_checkpoint_if_due();
  void finish_checkpoint_if_due();
  void checkpointer_loop(std::unique_ptr<connection> conn);
  /// The checkpointer's passes for one request (each followed by an fsync of the database);
  /// asks the writer for its catch-up when they succeeded.
  std::error_code checkpoint_passes(connection& conn);
  static constexpr int checkpoint_passes_per_request = 2;
  /// Bytes of the database file written back at a time before the checkpointer's fsync.
  static constexpr std::int64_t checkpoint_write_back_piece = 256 * 1024;
  void reader_loop(std::size_t index, std::unique_ptr<connection> conn);
  static void complete(operation& op, std::error_code ec) noexcept;

  const sqlite_options options_;

  // writer-thread only
  std::unique_ptr<connection> writer_;
  std::int64_t frames_since_checkpoint_ = 0;  // WAL frames committed since the last request
  // Set by the checkpointer after a pass: the writer copies the rest between two batches.
  std::atomic<bool> catch_up_due_{false};

  // Queue of writes; the writer swaps it out whole: everything queued while the previous
  // commit was in flight becomes the next transaction.
  std::mutex write_mutex_;
  std::condition_variable write_cv_;
  std::vector<operation> write_queue_;  // guarded by write_mutex_
  bool write_stopping_ = false;         // guarded by write_mutex_

  // The checkpointer copies WAL frames into the database on its own connection and thread,
  // so that the database fsync of a checkpoint never sits between two group commits.
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false;             // guarded by checkpoint_mutex_
  std::vector<operation> checkpoint_ops_;   // guarded by checkpoint_mutex_
  bool checkpoint_stopping_ = false;        // guarded by checkpoint_mutex_

  std::mutex read_mutex_;
  std::condition_variable read_cv_;
  std::deque<operation> read_queue_;    // guarded by read_mutex_
  bool read_stopping_ = false;          // guarded by read_mutex_

  std::atomic<std::uint64_t> writes_committed_{0};
  std::atomic<std::uint64_t> writes_failed_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> failed_commits_{0};
  std::atomic<std::uint64_t> largest_batch_{0};
  std::atomic<std::uint64_t> writer_reopens_{0};
  std::atomic<std::uint64_t> refused_busy_{0};
  std::atomic<std::uint64_t> wal_frames_written_{0};
  std::atomic<std::uint64_t> wal_restarts_{0};
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> checkpoint_syncs_{0};
  std::atomic<std::uint64_t> catch_ups_{0};
  std::atomic<std::uint64_t> catch_up_us_{0};
  std::int64_t page_size_ = 4096;  // set before the threads start, then read-only

  std::thread writer_thread_;
  std::thread checkpointer_thread_;
  std::vector<std::thread> reader_threads_;
};

}  // namespace relais::store::detail
