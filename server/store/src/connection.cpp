#include "connection.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <limits>

#include "error_map.hpp"
#include "wal_vfs.hpp"

namespace relais::store::detail {

namespace {

int to_int(std::size_t n) {
  // Sizes reaching SQLite are bounded by core::limits far below INT_MAX.
  return n > static_cast<std::size_t>(std::numeric_limits<int>::max())
             ? std::numeric_limits<int>::max()
             : static_cast<int>(n);
}

const char* sync_pragma(sync_mode m) {
  switch (m) {
    case sync_mode::full: return "PRAGMA synchronous=FULL";
    case sync_mode::normal: return "PRAGMA synchronous=NORMAL";
    case sync_mode::off: return "PRAGMA synchronous=OFF";
  }
  return "PRAGMA synchronous=FULL";
}

}  // namespace

// ---------------------------------------------------------------- query

query::~query() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

query& query::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

query& query::bind_blob(int index, std::string_view value) {
  // A zero-length blob must still be a BLOB, not NULL: pass a non-null pointer.
  sqlite3_bind_blob64(stmt_, index, value.empty() ? "" : value.data(), value.size(),
                      SQLITE_TRANSIENT);
  return *this;
}

query& query::bind_text(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

query& query::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool query::next(std::error_code& ec) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  ec = owner_->error_of(rc);
  return false;
}

std::error_code query::run() {
  std::error_code ec;
  while (next(ec)) {
  }
  return ec;
}

std::int64_t query::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string query::blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::string query::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr || n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

bool query::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---------------------------------------------------------------- connection

connection::connection(sqlite3* db, std::string path) noexcept : db_(db), path_(std::move(path)) {}

connection::~connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  // close_v2 never fails for busy statements (all finalized above); a failed checkpoint at
  // close is harmless: the WAL stays and is replayed at the next open.
  sqlite3_close_v2(db_);
}

int connection::on_wal_commit(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  auto* c = static_cast<connection*>(self);
  // `frames` is the WAL's length after this commit: shorter than before means the commit
  // wrote from the start of the file again (the previous content was all checkpointed).
  const bool restarted = frames < c->wal_frames_;
  c->commit_info_.frames += restarted ? frames : frames - c->wal_frames_;
  if (restarted) ++c->commit_info_.restarts;
  c->wal_frames_ = frames;
  return SQLITE_OK;
}

std::unique_ptr<connection> connection::open(const sqlite_options& options, role r,
                                             open_error& error) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the writer or one reader), so
  // SQLite's per-connection mutex would only cost.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  // Every connection of a store uses the same VFS: the shim's buffering matters only on the
  // writer's WAL file, but all of them see one consistent set of files and locks.
  const char* vfs = options.synchronous == sync_mode::full && options.coalesce_wal_writes
                        ? coalescing_vfs_name()
                        : nullptr;
  const int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    const int sys = db != nullptr ? sqlite3_system_errno(db) : errno;
    error.code = map_sqlite_error(db != nullptr ? sqlite3_extended_errcode(db) : rc, sys);
    error.message = "cannot open store file " + options.path + ": " +
                    (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                    (sys != 0 ? std::string(" (") + std::strerror(sys) + ")" : std::string());
    sqlite3_close_v2(db);
    return nullptr;
  }
  std::unique_ptr<connection> c(new connection(db, options.path));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));

  auto fail = [&](std::error_code ec, const std::string& what) {
    error.code = ec;
    error.message = "store file " + options.path + ": " + what;
    return nullptr;
  };

  // Only a file being created takes it (SQLite ignores it once the file has pages).
  if (auto e = c->exec("PRAGMA page_size=" + std::to_string(options.page_size)))
    return fail(e, c->describe_last_error());
  // Setting WAL reads the header: this is where a file that is not a database says so.
  std::error_code ec;
  const std::string mode = c->query_text("PRAGMA journal_mode=WAL", ec);
  if (ec) return fail(ec, c->describe_last_error());
  if (mode != "wal")
    return fail(core::store_errc::io_error, "cannot use WAL journal mode (got '" + mode + "')");
  if (sqlite3_db_readonly(db, "main") == 1)
    return fail(core::store_errc::read_only,
                "opened read-only (read-only file system or permissions); refusing to run");

  const char* const common[] = {
      "PRAGMA foreign_keys=ON",
      // Our own checkpoints run after the acks (engine), never inside a commit.
      "PRAGMA wal_autocheckpoint=0",
  };
  for (const char* sql : common) {
    if (auto e = c->exec(sql)) return fail(e, c->describe_last_error());
  }
  if (r == role::writer) {
    const std::string limit =
        "PRAGMA journal_size_limit=" + std::to_string(limits::wal_size_limit_bytes);
    // Negative: a size in KiB rather than in pages.
    const std::string cache =
        "PRAGMA cache_size=-" + std::to_string(std::max<std::int64_t>(options.writer_cache_bytes / 1024, 64));
    const char* const writer_pragmas[] = {
        sync_pragma(options.synchronous),
        // Deleted rows are overwritten with zeros in the database pages: erasure is real.
        "PRAGMA secure_delete=ON",
        limit.c_str(),
        cache.c_str(),
    };
    for (const char* sql : writer_pragmas) {
      if (auto e = c->exec(sql)) return fail(e, c->describe_last_error());
    }
    sqlite3_wal_hook(db, &connection::on_wal_commit, c.get());
  } else if (r == role::checkpointer) {
    if (auto e = c->exec(sync_pragma(options.synchronous))) return fail(e, c->describe_last_error());
  } else {
    if (auto e = c->exec("PRAGMA query_only=ON")) return fail(e, c->describe_last_error());
  }
  return c;
}

query connection::prepare(std::string_view sql, std::error_code& ec) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), to_int(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      ec = error_of(rc);
      sqlite3_finalize(stmt);
      return query(*this, nullptr);
    }
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return query(*this, it->second);
}

std::error_code connection::exec(std::string_view sql) {
  std::error_code ec;
  query q = prepare(sql, ec);
  if (ec) return ec;
  return q.run();
}

std::error_code connection::exec_script(std::string_view sql) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? std::error_code{} : error_of(rc);
}

std::string connection::query_text(std::string_view sql, std::error_code& ec) {
  query q = prepare(sql, ec);
  if (ec) return {};
  if (!q.next(ec)) return {};
  std::string out = q.text(0);
  // Drain the statement so that it releases its read lock.
  while (q.next(ec)) {
  }
  return out;
}

std::error_code connection::error_of(int rc) const noexcept {
  const int ext = sqlite3_extended_errcode(db_);
  // The connection's extended code is the precise one when it matches the primary rc.
  return map_sqlite_error((ext & 0xff) == (rc & 0xff) ? ext : rc, sqlite3_system_errno(db_));
}

std::error_code connection::write_back_database_file(std::int64_t piece_bytes) {
  // Our own descriptor: sync_file_range acts on the file's pages, whichever descriptor names
  // it. The final fsync (sync_database_file) stays SQLite's, through its VFS.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return map_sqlite_error(SQLITE_IOERR_FSYNC, errno);
  struct stat st {};
  std::error_code ec;
  if (::fstat(fd, &st) != 0) {
    ec = map_sqlite_error(SQLITE_IOERR_FSTAT, errno);
  } else {
    constexpr unsigned flags =
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    for (off_t at = 0; at < st.st_size; at += piece_bytes) {
      if (::sync_file_range(fd, at, piece_bytes, flags) != 0) {
        ec = map_sqlite_error(SQLITE_IOERR_FSYNC, errno);
        break;
      }
    }
  }
  ::close(fd);
  return ec;
}

std::error_code connection::sync_database_file() {
  sqlite3_file* file = nullptr;
  if (const int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file);
      rc != SQLITE_OK) {
    return error_of(rc);
  }
  // Not opened yet: nothing was ever written through this connection.
  if (file == nullptr || file->pMethods == nullptr) return {};
  errno = 0;
  const int rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
  // The VFS reports the failed fsync's errno only in errno (not through the connection).
  return rc == SQLITE_OK ? std::error_code{} : map_sqlite_error(rc, errno);
}

std::string connection::describe_last_error() const {
  const int sys = sqlite3_system_errno(db_);
  std::string out = sqlite3_errmsg(db_);
  out += " (sqlite code " + std::to_string(sqlite3_extended_errcode(db_));
  if (sys != 0) out += std::string(", ") + std::strerror(sys);
  out += ")";
  return out;
}

bool connection::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

std::int64_t connection::changes() const noexcept { return sqlite3_changes64(db_); }

std::int64_t connection::total_changes() const noexcept { return sqlite3_total_changes64(db_); }

std::int64_t connection::last_insert_rowid() const noexcept {
  return sqlite3_last_insert_rowid(db_);
}

}  // namespace relais::store::detail
