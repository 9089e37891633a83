#include "relais/store/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine.hpp"
#include "error_map.hpp"
#include "ops.hpp"
#include "relais/log/log.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;
using detail::operation;

namespace {

/// fsync a file or a directory by path; the errno on failure.
int fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

std::error_code errno_code(int err) {
  if (err == ENOSPC || err == EDQUOT) return store_errc::disk_full;
  if (err == EROFS || err == EACCES || err == EPERM) return store_errc::read_only;
  return store_errc::io_error;
}

/// Copies the database behind `source` (one consistent snapshot) to `destination` through
/// a temporary file that is fsync'd and renamed, so the destination is never half-written.
std::error_code run_backup(connection& source, const std::string& destination,
                           std::string& detail) {
  const std::string temporary = destination + ".partial";
  std::remove(temporary.c_str());
  sqlite3* dest = nullptr;
  int rc = sqlite3_open_v2(temporary.c_str(), &dest,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  auto fail_dest = [&](int code) {
    const int sys = dest != nullptr ? sqlite3_system_errno(dest) : 0;
    detail = "backup to " + temporary + ": " +
             (dest != nullptr ? sqlite3_errmsg(dest) : sqlite3_errstr(code));
    const std::error_code ec =
        detail::map_sqlite_error(dest != nullptr ? sqlite3_extended_errcode(dest) : code, sys);
    sqlite3_close_v2(dest);
    std::remove(temporary.c_str());
    return ec;
  };
  if (rc != SQLITE_OK) return fail_dest(rc);
  sqlite3_extended_result_codes(dest, 1);
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source.handle(), "main");
  if (backup == nullptr) return fail_dest(sqlite3_errcode(dest));
  // -1: all pages in one step, so the copy is one snapshot of the source (WAL lets the
  // writer go on meanwhile).
  rc = sqlite3_backup_step(backup, -1);
  const int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return fail_dest(rc);
  if (finish_rc != SQLITE_OK) return fail_dest(finish_rc);
  // A standalone file: no -wal beside the backup, which can then be copied on its own.
  rc = sqlite3_exec(dest, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail_dest(rc);
  rc = sqlite3_close_v2(dest);
  dest = nullptr;
  if (rc != SQLITE_OK) return fail_dest(rc);

  if (const int err = fsync_path(temporary, false)) {
    detail = "backup fsync " + temporary + ": " + std::strerror(err);
    std::remove(temporary.c_str());
    return errno_code(err);
  }
  if (std::rename(temporary.c_str(), destination.c_str()) != 0) {
    const int err = errno;
    detail = "backup rename to " + destination + ": " + std::strerror(err);
    std::remove(temporary.c_str());
    return errno_code(err);
  }
  std::filesystem::path dir = std::filesystem::path(destination).parent_path();
  if (dir.empty()) dir = ".";
  if (const int err = fsync_path(dir.string(), true)) {
    detail = "backup fsync directory " + dir.string() + ": " + std::strerror(err);
    return errno_code(err);
  }
  return {};
}

}  // namespace

std::unique_ptr<sqlite_store> sqlite_store::open(const sqlite_options& options,
                                                 open_error& error) {
  auto e = detail::engine::start(options, error);
  if (!e) {
    log::error("store.open_failed", {{"path", options.path}, {"error", error.message}});
    return nullptr;
  }
  return std::unique_ptr<sqlite_store>(new sqlite_store(std::move(e)));
}

sqlite_store::sqlite_store(std::unique_ptr<detail::engine> engine) : engine_(std::move(engine)) {}

sqlite_store::~sqlite_store() = default;

store_stats sqlite_store::stats() const { return engine_->stats(); }

void sqlite_store::backup_to(std::string destination, core::store_done_handler done) {
  operation op;
  op.in_transaction = false;
  auto path = engine_->options().path;
  op.apply = [destination, path](connection& c) {
    std::string detail;
    const auto ec = run_backup(c, destination, detail);
    if (ec) {
      log::error("store.backup_failed", {{"error", ec.message()}, {"detail", detail}});
    } else {
      log::info("store.backup_done", {{"source", path}, {"destination", destination}});
    }
    return ec;
  };
  op.complete = std::move(done);
  engine_->submit_read(std::move(op));
}

void sqlite_store::checkpoint_truncate(core::store_done_handler done) {
  operation op;
  op.in_transaction = false;
  op.apply = [](connection& c) -> std::error_code {
    int log_frames = 0;
    int copied = 0;
    // TRUNCATE waits (busy_timeout) for readers, copies every frame into the database and
    // cuts the -wal file to zero bytes.
    const int rc = sqlite3_wal_checkpoint_v2(c.handle(), "main", SQLITE_CHECKPOINT_TRUNCATE,
                                             &log_frames, &copied);
    if (rc != SQLITE_OK) return c.error_of(rc);
    // Trust the file, not the counters: an erasure is only done when no copy is left.
    std::error_code size_ec;
    const auto wal_size = std::filesystem::file_size(c.path() + "-wal", size_ec);
    if (!size_ec && wal_size != 0) return store_errc::locked;
    return {};
  };
  op.complete = std::move(done);
  engine_->submit_checkpoint(std::move(op));
}

void sqlite_store::integrity_check(core::store_handler<std::string> done) {
  detail::read_op<std::string>(*engine_, std::move(done),
                               [](connection& c, std::string& out) -> std::error_code {
                                 std::error_code ec;
                                 auto q = c.prepare("PRAGMA integrity_check", ec);
                                 if (ec) return ec;
                                 while (q.next(ec)) {
                                   if (!out.empty()) out += "\n";
                                   out += q.text(0);
                                 }
                                 return ec;
                               });
}

}  // namespace relais::store
