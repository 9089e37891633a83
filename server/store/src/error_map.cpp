#include "error_map.hpp"

#include <sqlite3.h>

#include <cerrno>

namespace relais::store::detail {

using core::store_errc;

std::error_code map_sqlite_error(int extended_code, int system_errno) noexcept {
  if (extended_code == SQLITE_OK || extended_code == SQLITE_ROW || extended_code == SQLITE_DONE)
    return {};
  // The OS error tells more than SQLite's generic I/O code: a write on a file system that
  // went read-only, or ENOSPC surfacing through fsync or a short write.
  const int primary = extended_code & 0xff;
  if (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL) {
    if (system_errno == ENOSPC || system_errno == EDQUOT) return store_errc::disk_full;
    if (system_errno == EROFS) return store_errc::read_only;
  }
  switch (extended_code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return store_errc::already_exists;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return store_errc::not_found;
    default: break;
  }
  switch (primary) {
    case SQLITE_FULL: return store_errc::disk_full;
    case SQLITE_IOERR: return store_errc::io_error;
    case SQLITE_CANTOPEN: return store_errc::io_error;
    case SQLITE_READONLY:
    case SQLITE_PERM: return store_errc::read_only;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return store_errc::locked;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return store_errc::corrupt;
    case SQLITE_TOOBIG: return store_errc::too_large;
    case SQLITE_CONSTRAINT: return store_errc::invalid_argument;
    case SQLITE_NOTFOUND: return store_errc::not_found;
    default: return store_errc::internal;
  }
}

bool needs_reopen(std::error_code ec) noexcept {
  if (ec.category() != core::store_category()) return static_cast<bool>(ec);
  switch (static_cast<store_errc>(ec.value())) {
    case store_errc::io_error:
    case store_errc::disk_full:
    case store_errc::read_only:
    case store_errc::corrupt:
    case store_errc::internal: return true;
    default: return false;
  }
}

bool aborts_batch(std::error_code ec) noexcept {
  return needs_reopen(ec) || ec == store_errc::locked;
}

}  // namespace relais::store::detail
