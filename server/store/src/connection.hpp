#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "relais/store/sqlite_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace relais::store::detail {

class connection;

/// One use of a cached prepared statement: binds, steps, reads columns, and resets the
/// statement when it goes out of scope so that the next user finds it clean.
class query {
 public:
  query(connection& owner, sqlite3_stmt* stmt) noexcept : owner_(&owner), stmt_(stmt) {}
  ~query();
  query(const query&) = delete;
  query& operator=(const query&) = delete;
  query(query&& other) noexcept : owner_(other.owner_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  query& operator=(query&&) = delete;

  query& bind(int index, std::int64_t value);
  /// Binds opaque bytes as a BLOB (copied by SQLite: the view need not outlive the call).
  query& bind_blob(int index, std::string_view value);
  query& bind_text(int index, std::string_view value);
  query& bind_null(int index);

  /// Steps once: true with a row, false when done; `ec` set on failure (then false).
  [[nodiscard]] bool next(std::error_code& ec);
  /// Steps to the end (statements without rows); the mapped error or success.
  [[nodiscard]] std::error_code run();

  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] std::string blob(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] bool is_null(int column) const;

 private:
  connection* owner_;
  sqlite3_stmt* stmt_;
};

/// WAL volume of commits: frames (pages) appended and how often the WAL started over.
struct wal_commit_info {
  std::int64_t frames = 0;
  std::int64_t restarts = 0;
};

/// A SQLite connection used by one thread at a time, with its prepared-statement cache.
class connection {
 public:
  /// Which pragmas to apply: the writer and the checkpointer get the durability settings,
  /// readers are query-only.
  enum class role : std::uint8_t { writer, checkpointer, reader };

  /// Opens and configures a connection; null with `error` naming the file on failure.
  [[nodiscard]] static std::unique_ptr<connection> open(const sqlite_options& options, role r,
                                                        open_error& error);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// The cached statement for `sql` (prepared on first use), ready to bind.
  [[nodiscard]] query prepare(std::string_view sql, std::error_code& ec);
  /// Runs a statement without parameters or results (BEGIN, COMMIT, SAVEPOINT ...).
  [[nodiscard]] std::error_code exec(std::string_view sql);
  /// Runs a script of several statements once (migrations); not cached.
  [[nodiscard]] std::error_code exec_script(std::string_view sql);
  /// Runs a single-row pragma or query and returns its first column as text.
  [[nodiscard]] std::string query_text(std::string_view sql, std::error_code& ec);

  /// The mapped error of a SQLite result code on this connection (with its errno).
  [[nodiscard]] std::error_code error_of(int rc) const noexcept;
  /// SQLite's message for the last error, with the extended code and errno, for logs.
  [[nodiscard]] std::string describe_last_error() const;
  [[nodiscard]] bool in_transaction() const noexcept;
  [[nodiscard]] std::int64_t changes() const noexcept;
  /// Rows changed by INSERT, UPDATE and DELETE since the connection opened.
  [[nodiscard]] std::int64_t total_changes() const noexcept;
  [[nodiscard]] std::int64_t last_insert_rowid() const noexcept;
  /// Frames in the WAL after the last commit of this connection (fed by the WAL hook).
  [[nodiscard]] std::int64_t wal_frames() const noexcept { return wal_frames_; }
  /// What the commits since the previous call wrote to the WAL; then starts counting afresh
  /// (a commit that changed nothing does not reach the WAL hook, so it counts nothing).
  [[nodiscard]] wal_commit_info take_wal_commit_info() noexcept {
    return std::exchange(commit_info_, wal_commit_info{});
  }

  /// fsyncs the database file itself (not the WAL), as a checkpoint does when it has
  /// copied every frame: the writes of a checkpoint pass that stopped short of the last
  /// commit are otherwise left in the page cache for whoever completes the checkpoint.
  [[nodiscard]] std::error_code sync_database_file();
  /// Writes the database file's dirty pages back to the disk one piece of the file at a
  /// time, waiting for each piece (sync_file_range), so that the device never holds more
  /// than one piece's writes in front of a WAL fsync. Durable only after sync_database_file.
  [[nodiscard]] std::error_code write_back_database_file(std::int64_t piece_bytes);

  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  connection(sqlite3* db, std::string path) noexcept;
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);

  sqlite3* db_;
  std::string path_;
  std::int64_t wal_frames_ = 0;
  wal_commit_info commit_info_;
  // Transparent lookup: finding a cached statement by its SQL (a string_view) allocates
  // nothing (5 lookups per append on the writer's hot path).
  struct sql_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, sqlite3_stmt*, sql_hash, std::equal_to<>> statements_;
};

}  // namespace relais::store::detail
