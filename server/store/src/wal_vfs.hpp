#pragma once

#include <cstdint>

// A thin SQLite VFS over the default one ("unix") that coalesces the contiguous WAL writes of
// one commit into one write. SQLite writes each WAL frame with two pwrite calls (its 24-byte
// header, then the page); a group commit of ~370 pages made ~740 system calls before its
// fdatasync. The shim buffers them (in order, contiguous, up to a bound) and writes the buffer
// with one call of the wrapped file's xWrite:
//   * before xSync of the WAL (so the fsync covers every frame: synchronous=FULL acks rest on
//     it unchanged),
//   * before anything that could observe the buffered bytes: an xRead overlapping them,
//     xTruncate, xFileSize,
//     xFileControl, xClose, a lock call,
//   * when a write is not contiguous with the buffer or would pass the bound,
//   * before the wal-index header is published: the database file's xShmBarrier and xShmLock
//     flush its WAL's buffer (readers see a commit only through that header).
// A write error is reported by the call that flushed (xSync for a commit), with the wrapped
// VFS's own error code and errno. Only files opened with SQLITE_OPEN_WAL are buffered; every
// other file and call goes straight to the wrapped VFS.
//
// The store uses it only with synchronous=FULL, where every commit's frames are flushed by
// xSync before the header is published: xShmBarrier cannot report an error, so with NORMAL a
// failed flush there could publish a header over frames that were never written.

namespace relais::store::detail {

/// Registers the shim once per process (not as the default VFS) and returns its name.
/// Returns null if SQLite has no default VFS to wrap (never on Linux).
[[nodiscard]] const char* coalescing_vfs_name() noexcept;

/// Process-wide counters of the shim (every store of the process), for tests and stats.
struct coalescing_vfs_counters {
  std::uint64_t wal_writes = 0;   ///< xWrite calls SQLite made on WAL files
  std::uint64_t wal_flushes = 0;  ///< writes passed to the wrapped VFS for them
};
[[nodiscard]] coalescing_vfs_counters coalescing_vfs_totals() noexcept;

}  // namespace relais::store::detail
