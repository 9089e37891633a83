#include "engine.hpp"

#include <sqlite3.h>

#include <pthread.h>

#include <chrono>
#include <exception>
#include <utility>

#include "error_map.hpp"
#include "relais/log/log.hpp"
#include "schema.hpp"
#include "wal_vfs.hpp"

namespace relais::store::detail {

using core::store_errc;

namespace {

const char* sync_name(sync_mode m) {
  switch (m) {
    case sync_mode::full: return "full";
    case sync_mode::normal: return "normal";
    case sync_mode::off: return "off";
  }
  return "unknown";
}

// Names the calling thread (top -H, perf, and the fault tests that fail only one thread's
// fsyncs). Linux keeps 15 characters.
void name_thread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace

std::unique_ptr<engine> engine::start(const sqlite_options& options, open_error& error) {
  if (options.path.empty()) {
    error = {store_errc::invalid_argument, "store path is empty"};
    return nullptr;
  }
  if (options.synchronous != sync_mode::full && !options.allow_unsafe_durability) {
    error = {store_errc::unsafe_settings,
             std::string("store synchronous=") + sync_name(options.synchronous) +
                 " can lose acknowledged messages on power loss; refusing without "
                 "allow_unsafe_durability"};
    return nullptr;
  }
  if (options.reader_threads == 0 || options.max_queued_writes == 0 ||
      options.max_queued_reads == 0) {
    error = {store_errc::invalid_argument, "store reader_threads and queue limits must be > 0"};
    return nullptr;
  }

  const auto ps = options.page_size;
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0 || options.checkpoint_wal_bytes <= 0 ||
      options.writer_cache_bytes <= 0) {
    error = {store_errc::invalid_argument,
             "store page_size must be a power of two from 512 to 65536, checkpoint_wal_bytes "
             "and writer_cache_bytes > 0"};
    return nullptr;
  }

  auto writer = connection::open(options, connection::role::writer, error);
  if (!writer) return nullptr;

  if (options.quick_check_on_open) {
    std::error_code ec;
    const std::string verdict = writer->query_text("PRAGMA quick_check", ec);
    if (ec || verdict != "ok") {
      error = {ec ? ec : make_error_code(store_errc::corrupt),
               "store file " + options.path + " failed its integrity check: " +
                   (ec ? writer->describe_last_error() : verdict)};
      return nullptr;
    }
  }
  std::string detail;
  if (auto ec = migrate(*writer, detail)) {
    error = {ec, "store file " + options.path + ": " + detail};
    return nullptr;
  }

  // The checkpointer writes the database file: it gets the writer's durability settings
  // (a checkpoint with synchronous=FULL fsyncs the database before the WAL is reused).
  auto checkpointer = connection::open(options, connection::role::checkpointer, error);
  if (!checkpointer) return nullptr;

  std::vector<std::unique_ptr<connection>> readers;
  for (std::size_t i = 0; i < options.reader_threads; ++i) {
    auto r = connection::open(options, connection::role::reader, error);
    if (!r) return nullptr;
    readers.push_back(std::move(r));
  }

  std::error_code page_ec;
  const std::string page_text = writer->query_text("PRAGMA page_size", page_ec);
  const std::int64_t page_size = page_ec || page_text.empty() ? 4096 : std::stoll(page_text);

  std::unique_ptr<engine> e(new engine(options, std::move(writer)));
  e->page_size_ = page_size;
  e->writer_thread_ = std::thread([p = e.get()] { p->writer_loop(); });
  e->checkpointer_thread_ = std::thread(
      [p = e.get(), c = std::move(checkpointer)]() mutable { p->checkpointer_loop(std::move(c)); });
  for (std::size_t i = 0; i < readers.size(); ++i) {
    e->reader_threads_.emplace_back(
        [p = e.get(), i, c = std::move(readers[i])]() mutable { p->reader_loop(i, std::move(c)); });
  }
  log::info("store.opened", {{"path", options.path},
                             {"synchronous", sync_name(options.synchronous)},
                             {"schema_version", schema_version},
                             {"readers", options.reader_threads}});
  if (options.synchronous != sync_mode::full) {
    log::warn("store.unsafe_durability",
              {{"synchronous", sync_name(options.synchronous)},
               {"effect", "acknowledged messages can be lost on power loss"}});
  }
  return e;
}

engine::engine(sqlite_options options, std::unique_ptr<connection> writer)
    : options_(std::move(options)), writer_(std::move(writer)) {}

engine::~engine() {
  {
    std::lock_guard lock(write_mutex_);
    write_stopping_ = true;
  }
  write_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_thread_.joinable()) checkpointer_thread_.join();
  {
    std::lock_guard lock(read_mutex_);
    read_stopping_ = true;
  }
  read_cv_.notify_all();
  for (auto& t : reader_threads_) {
    if (t.joinable()) t.join();
  }
}

void engine::complete(operation& op, std::error_code ec) noexcept {
  // A throwing handler is a bug in the caller; it must not take the writer thread down
  // with the completions of everyone else in the batch.
  try {
    op.complete(ec);
  } catch (const std::exception& e) {
    log::error("store.handler_threw", {{"what", e.what()}});
  } catch (...) {
    log::error("store.handler_threw", {{"what", "unknown"}});
  }
}

void engine::submit_write(operation op) {
  store_errc refusal{};
  bool wake = false;
  {
    std::lock_guard lock(write_mutex_);
    if (write_stopping_) {
      refusal = store_errc::closed;
    } else if (write_queue_.size() >= options_.max_queued_writes) {
      refusal = store_errc::busy;
    } else {
      wake = write_queue_.empty();
      write_queue_.push_back(std::move(op));
    }
  }
  if (refusal != store_errc{}) {
    if (refusal == store_errc::busy) refused_busy_.fetch_add(1, std::memory_order_relaxed);
    complete(op, refusal);
    return;
  }
  // Only the first write of a batch needs to wake the writer; the others ride along.
  if (wake) write_cv_.notify_one();
}

void engine::submit_read(operation op) {
  store_errc refusal{};
  {
    std::lock_guard lock(read_mutex_);
    if (read_stopping_) {
      refusal = store_errc::closed;
    } else if (read_queue_.size() >= options_.max_queued_reads) {
      refusal = store_errc::busy;
    } else {
      read_queue_.push_back(std::move(op));
    }
  }
  if (refusal != store_errc{}) {
    if (refusal == store_errc::busy) refused_busy_.fetch_add(1, std::memory_order_relaxed);
    complete(op, refusal);
    return;
  }
  read_cv_.notify_one();
}

void engine::submit_checkpoint(operation op) {
  bool refused = false;
  {
    std::lock_guard lock(checkpoint_mutex_);
    refused = checkpoint_stopping_;
    if (!refused) checkpoint_ops_.push_back(std::move(op));
  }
  if (refused) {
    complete(op, store_errc::closed);
    return;
  }
  checkpoint_cv_.notify_one();
}

void engine::writer_loop() {
  name_thread("store-writer");
  std::vector<operation> batch;
  for (;;) {
    {
      std::unique_lock lock(write_mutex_);
      write_cv_.wait(lock, [this] { return !write_queue_.empty() || write_stopping_; });
      if (write_queue_.empty()) return;  // stopping and drained
      batch.swap(write_queue_);
    }
    run_transaction(batch);
    batch.clear();
    request_checkpoint_if_due();
    finish_checkpoint_if_due();
  }
}

bool engine::ensure_writer(std::error_code& ec, std::string& detail) {
  if (writer_) return true;
  open_error error;
  writer_ = connection::open(options_, connection::role::writer, error);
  if (!writer_) {
    ec = error.code;
    detail = error.message;
    return false;
  }
  writer_reopens_.fetch_add(1, std::memory_order_relaxed);
  log::info("store.writer_reopened", {{"path", options_.path}});
  return true;
}

void engine::run_transaction(std::vector<operation>& batch) {
  std::vector<std::error_code> results(batch.size());
  std::error_code batch_ec;
  std::string detail;
  std::size_t failed_at = batch.size();

  if (ensure_writer(batch_ec, detail)) {
    connection& c = *writer_;
    // IMMEDIATE takes the write lock now, so a lock held by another process shows here (after
    // busy_timeout) rather than halfway through the batch.
    batch_ec = c.exec("BEGIN IMMEDIATE");
    for (std::size_t i = 0; !batch_ec && i < batch.size(); ++i) {
      // A savepoint per operation: a request that fails on its own (not found, conflict)
      // is undone alone and the rest of the batch still commits. An operation that checks
      // before it changes anything (append_message) needs none.
      const bool guarded = batch[i].needs_savepoint;
      if (guarded && (batch_ec = c.exec("SAVEPOINT op"))) break;
      const std::int64_t changes_before = guarded ? 0 : c.total_changes();
      const std::error_code ec = batch[i].apply(c);
      if (ec && aborts_batch(ec)) {
        batch_ec = ec;
        failed_at = i;
        break;
      }
      if (ec && !guarded) {
        results[i] = ec;
        if (c.total_changes() == changes_before) continue;
        // It changed rows before failing and has no savepoint to undo them alone.
        batch_ec = make_error_code(store_errc::internal);
        failed_at = i;
        break;
      }
      if (!guarded) continue;
      if (ec) {
        results[i] = ec;
        if ((batch_ec = c.exec("ROLLBACK TO op"))) break;
      }
      batch_ec = c.exec("RELEASE op");
    }
    // One COMMIT, one fsync of the WAL (synchronous=FULL), for the whole batch.
    if (!batch_ec) batch_ec = c.exec("COMMIT");
    if (batch_ec) {
      detail = c.describe_last_error();
      // A failed COMMIT may leave the transaction open (SQLITE_BUSY) or SQLite may have
      // rolled it back itself (I/O error, full disk); end it either way. Nothing of it is
      // ever reported as committed, and it is never retried: the senders retry.
      if (c.in_transaction()) (void)c.exec("ROLLBACK");
    }
  }

  if (batch_ec) {
    failed_commits_.fetch_add(1, std::memory_order_relaxed);
    log::error("store.commit_failed",
               {{"error", batch_ec.message()},
                {"detail", detail},
                {"operations", batch.size()},
                {"failed_operation", failed_at < batch.size() ? static_cast<std::int64_t>(failed_at)
                                                              : std::int64_t{-1}}});
    // After a failed write or fsync the connection's page cache and the kernel's dirty pages
    // are suspect (a later fsync can succeed without the lost pages): start afresh.
    if (needs_reopen(batch_ec)) writer_.reset();
    for (auto& r : results) {
      if (!r) r = batch_ec;
    }
  } else {
    commits_.fetch_add(1, std::memory_order_relaxed);
    const auto wal = writer_->take_wal_commit_info();
    frames_since_checkpoint_ += wal.frames;
    wal_frames_written_.fetch_add(static_cast<std::uint64_t>(wal.frames), std::memory_order_relaxed);
    wal_restarts_.fetch_add(static_cast<std::uint64_t>(wal.restarts), std::memory_order_relaxed);
    std::uint64_t prev = largest_batch_.load(std::memory_order_relaxed);
    while (batch.size() > prev &&
           !largest_batch_.compare_exchange_weak(prev, batch.size(), std::memory_order_relaxed)) {
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    (results[i] ? writes_failed_ : writes_committed_).fetch_add(1, std::memory_order_relaxed);
    complete(batch[i], results[i]);
  }
}

void engine::request_checkpoint_if_due() {
  // Counted in frames written since the last request, not in WAL length: under continuous
  // load the WAL cannot start over while the checkpointer runs, and a length trigger would
  // then fire at every commit (one database fsync per group commit, measured: 222
  // checkpoints for 236 commits, durable rate down to 0.3 of the ceiling).
  if (frames_since_checkpoint_ * page_size_ < options_.checkpoint_wal_bytes) return;
  frames_since_checkpoint_ = 0;
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_due_ = true;
  }
  checkpoint_cv_.notify_one();
}

void engine::finish_checkpoint_if_due() {
  // The checkpointer copied the bulk of the WAL while commits went on; the frames committed
  // meanwhile are copied here, between two group commits (after the previous batch's
  // handlers, before the next BEGIN), so that the next transaction finds the WAL fully
  // checkpointed and writes it from the start again instead of growing it forever. It costs
  // the writer one small copy and one database fsync per checkpoint cycle: small because the
  // checkpointer already fsynced everything it copied (checkpoint_passes); `catch_up_us`
  // tells how long the writer spent here.
  if (!writer_ || !catch_up_due_.exchange(false, std::memory_order_acq_rel)) return;
  int log_frames = 0;
  int copied = 0;
  const auto started = std::chrono::steady_clock::now();
  const int rc = sqlite3_wal_checkpoint_v2(writer_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &copied);
  catch_ups_.fetch_add(1, std::memory_order_relaxed);
  catch_up_us_.fetch_add(static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count()),
                         std::memory_order_relaxed);
  // BUSY: the checkpointer is on its next pass; it will ask again when done.
  if (rc == SQLITE_OK || rc == SQLITE_BUSY) return;
  const std::error_code ec = writer_->error_of(rc);
  log::error("store.checkpoint_failed",
             {{"error", ec.message()}, {"detail", writer_->describe_last_error()}});
  if (needs_reopen(ec)) writer_.reset();
}

std::error_code engine::checkpoint_passes(connection& conn) {
  // SQLite fsyncs the database at the end of a checkpoint only when the pass copied every
  // frame up to the last commit. Under continuous load commits arrive during the pass, so it
  // stops short and syncs nothing: all the pages it wrote would be fsynced by the writer's
  // catch-up, between two group commits (measured in relaisd at 5,000 msg/s: 4 - 35 ms, the
  // 99th percentile of the acks). So each pass is followed by our own fsync of the database
  // here, and a second pass copies what was committed during the first: the catch-up is left
  // with the frames of a few commits and an fsync of those pages only.
  const bool sync = options_.synchronous != sync_mode::off;
  for (int pass = 0; pass < checkpoint_passes_per_request; ++pass) {
    int log_frames = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn.handle(), "main", SQLITE_CHECKPOINT_PASSIVE,
                                             &log_frames, &copied);
    // BUSY: another checkpoint holds the checkpoint lock (the writer's catch-up); it asks
    // again after the next interval.
    if (rc == SQLITE_BUSY) return {};
    // A failure loses nothing (every committed frame stays in the WAL): the next request
    // copies again.
    if (rc != SQLITE_OK) return conn.error_of(rc);
    if (sync) {
      // The pass left ~1,000 random pages dirty; one fsync would queue all of them in front
      // of the writer's next WAL fsync (measured: 2 ms median, 5 - 7 ms p90 instead of 0.2).
      // Written back piece by piece, a WAL fsync waits for one piece at most.
      if (auto ec = conn.write_back_database_file(checkpoint_write_back_piece)) return ec;
      if (auto ec = conn.sync_database_file()) return ec;
      checkpoint_syncs_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  catch_up_due_.store(true, std::memory_order_release);
  return {};
}

void engine::checkpointer_loop(std::unique_ptr<connection> conn) {
  name_thread("store-ckpt");
  for (;;) {
    std::vector<operation> ops;
    bool passive = false;
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_cv_.wait(lock, [this] {
        return checkpoint_due_ || !checkpoint_ops_.empty() || checkpoint_stopping_;
      });
      if (checkpoint_stopping_ && checkpoint_ops_.empty()) return;
      ops.swap(checkpoint_ops_);
      passive = checkpoint_due_;
      checkpoint_due_ = false;
    }
    std::error_code ec;
    if (!conn) {
      open_error error;
      conn = connection::open(options_, connection::role::checkpointer, error);
      if (!conn) {
        ec = error.code;
        log::error("store.checkpointer_open_failed", {{"error", error.message}});
      }
    }
    if (conn && passive) {
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
      const std::error_code cec = checkpoint_passes(*conn);
      if (cec) {
        log::error("store.checkpoint_failed",
                   {{"error", cec.message()}, {"detail", conn->describe_last_error()}});
        if (needs_reopen(cec)) conn.reset();
      }
    }
    for (auto& op : ops) {
      std::error_code op_ec = ec;
      if (conn) {
        op_ec = op.apply(*conn);
        if (op_ec) {
          log::error("store.maintenance_failed",
                     {{"error", op_ec.message()}, {"detail", conn->describe_last_error()}});
          if (needs_reopen(op_ec)) conn.reset();
        }
      }
      complete(op, op_ec);
    }
  }
}

void engine::reader_loop(std::size_t index, std::unique_ptr<connection> conn) {
  name_thread("store-reader");
  for (;;) {
    operation op;
    {
      std::unique_lock lock(read_mutex_);
      read_cv_.wait(lock, [this] { return !read_queue_.empty() || read_stopping_; });
      if (read_queue_.empty()) return;
      op = std::move(read_queue_.front());
      read_queue_.pop_front();
    }
    std::error_code ec;
    if (!conn) {
      open_error error;
      conn = connection::open(options_, connection::role::reader, error);
      if (!conn) ec = error.code;
    }
    if (conn) {
      // A read transaction gives multi-statement reads one consistent snapshot.
      if (op.in_transaction) ec = conn->exec("BEGIN");
      if (!ec) ec = op.apply(*conn);
      if (op.in_transaction && conn->in_transaction()) (void)conn->exec("COMMIT");
      if (ec && needs_reopen(ec)) {
        log::error("store.read_failed", {{"reader", index},
                                         {"error", ec.message()},
                                         {"detail", conn->describe_last_error()}});
        conn.reset();
      }
    }
    complete(op, ec);
  }
}

store_stats engine::stats() const {
  store_stats s;
  s.writes_committed = writes_committed_.load(std::memory_order_relaxed);
  s.writes_failed = writes_failed_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
  s.largest_batch = largest_batch_.load(std::memory_order_relaxed);
  s.writer_reopens = writer_reopens_.load(std::memory_order_relaxed);
  s.refused_busy = refused_busy_.load(std::memory_order_relaxed);
  s.wal_frames_written = wal_frames_written_.load(std::memory_order_relaxed);
  s.wal_restarts = wal_restarts_.load(std::memory_order_relaxed);
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.checkpoint_syncs = checkpoint_syncs_.load(std::memory_order_relaxed);
  s.catch_ups = catch_ups_.load(std::memory_order_relaxed);
  s.catch_up_us = catch_up_us_.load(std::memory_order_relaxed);
  s.page_size = static_cast<std::uint64_t>(page_size_);
  const auto vfs = coalescing_vfs_totals();
  s.wal_write_calls = vfs.wal_writes;
  s.wal_write_flushes = vfs.wal_flushes;
  return s;
}

}  // namespace relais::store::detail
