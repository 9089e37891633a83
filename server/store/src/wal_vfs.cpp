#include "wal_vfs.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace relais::store::detail {

namespace {

// Writes beyond this many buffered bytes flush first; a single write at least this large
// goes straight through. A 370-page commit of 4 KiB pages is ~1.5 MB.
constexpr std::size_t max_buffered_bytes = 4 * 1024 * 1024;

std::atomic<std::uint64_t> g_wal_writes{0};
std::atomic<std::uint64_t> g_wal_flushes{0};

// The unix VFS writes at most 128 KiB - 1 bytes per pwrite and takes a write whose size is a
// multiple of 128 KiB for a full disk (seekAndWriteFd masks the size with 0x1ffff): hand it
// the buffer in pieces below that.
constexpr std::size_t max_write_piece = 124 * 1024;

struct shim_file;

/// Pending contiguous bytes of a WAL file, starting at `offset`.
struct wal_buffer {
  std::vector<unsigned char> bytes;
  sqlite3_int64 offset = 0;
};

// SQLite allocates szOsFile bytes per file and never constructs them: plain fields only,
// the buffer lives on the heap (xOpen/xClose).
struct shim_file {
  sqlite3_file base;
  sqlite3_file* real;   // the wrapped VFS's file, in the same allocation after this struct
  wal_buffer* buffer;   // WAL files only
  shim_file* database;  // WAL files: the database file whose shm publishes this WAL
  shim_file* wal;       // database files: their open WAL file (null when none)
};

constexpr std::size_t real_offset = (sizeof(shim_file) + 15) & ~std::size_t{15};

sqlite3_vfs* real_vfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
shim_file* self(sqlite3_file* f) { return reinterpret_cast<shim_file*>(f); }
const sqlite3_io_methods* real_methods(shim_file* f) { return f->real->pMethods; }

int write_pieces(shim_file* f, const unsigned char* p, std::size_t n, sqlite3_int64 offset) {
  while (n > 0) {
    const std::size_t piece = n < max_write_piece ? n : max_write_piece;
    g_wal_flushes.fetch_add(1, std::memory_order_relaxed);
    if (const int rc = real_methods(f)->xWrite(f->real, p, static_cast<int>(piece), offset);
        rc != SQLITE_OK) {
      return rc;
    }
    p += piece;
    n -= piece;
    offset += static_cast<sqlite3_int64>(piece);
  }
  return SQLITE_OK;
}

int flush(shim_file* f) {
  if (f->buffer == nullptr || f->buffer->bytes.empty()) return SQLITE_OK;
  wal_buffer& b = *f->buffer;
  const int rc = write_pieces(f, b.bytes.data(), b.bytes.size(), b.offset);
  // Dropped either way: after a failed write the transaction is rolled back and the store
  // reopens its connection; retrying a write the kernel refused proves nothing.
  b.bytes.clear();
  return rc;
}

int flush_wal_of(shim_file* database) {
  return database->wal != nullptr ? flush(database->wal) : SQLITE_OK;
}

// ------------------------------------------------------------------ io methods

int x_close(sqlite3_file* file) {
  shim_file* f = self(file);
  int rc = flush(f);
  if (f->database != nullptr && f->database->wal == f) f->database->wal = nullptr;
  f->database = nullptr;
  if (f->wal != nullptr) {
    f->wal->database = nullptr;
    f->wal = nullptr;
  }
  delete f->buffer;
  f->buffer = nullptr;
  const int rc2 = real_methods(f)->xClose(f->real);
  return rc != SQLITE_OK ? rc : rc2;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  shim_file* f = self(file);
  // Only a read of buffered bytes needs them in the file first. A read beyond them is short
  // whether or not they were written; one before them reads what the file already holds.
  if (f->buffer != nullptr && !f->buffer->bytes.empty()) {
    const wal_buffer& b = *f->buffer;
    const sqlite3_int64 end = b.offset + static_cast<sqlite3_int64>(b.bytes.size());
    if (offset < end && offset + amount > b.offset) {
      if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    }
  }
  return real_methods(f)->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  shim_file* f = self(file);
  if (f->buffer == nullptr || amount <= 0) {
    return real_methods(f)->xWrite(f->real, data, amount, offset);
  }
  g_wal_writes.fetch_add(1, std::memory_order_relaxed);
  wal_buffer& b = *f->buffer;
  const auto n = static_cast<std::size_t>(amount);
  if (!b.bytes.empty() &&
      (offset != b.offset + static_cast<sqlite3_int64>(b.bytes.size()) ||
       b.bytes.size() + n > max_buffered_bytes)) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (n >= max_buffered_bytes) {
    return write_pieces(f, static_cast<const unsigned char*>(data), n, offset);
  }
  if (b.bytes.empty()) b.offset = offset;
  const auto* p = static_cast<const unsigned char*>(data);
  b.bytes.insert(b.bytes.end(), p, p + n);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xLock(f->real, level);
}

int x_unlock(sqlite3_file* file, int level) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xUnlock(f->real, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  shim_file* f = self(file);
  return real_methods(f)->xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFileControl(f->real, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  shim_file* f = self(file);
  return real_methods(f)->xSectorSize(f->real);
}

int x_device_characteristics(sqlite3_file* file) {
  shim_file* f = self(file);
  return real_methods(f)->xDeviceCharacteristics(f->real);
}

int x_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  shim_file* f = self(file);
  return real_methods(f)->xShmMap(f->real, page, page_size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  shim_file* f = self(file);
  if (const int rc = flush_wal_of(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xShmLock(f->real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  shim_file* f = self(file);
  // The wal-index header is written around this barrier: the frames it will point at must
  // be in the file first. No error can be reported here (see wal_vfs.hpp).
  (void)flush_wal_of(f);
  real_methods(f)->xShmBarrier(f->real);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  shim_file* f = self(file);
  if (const int rc = flush_wal_of(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xShmUnmap(f->real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  shim_file* f = self(file);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFetch(f->real, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  shim_file* f = self(file);
  return real_methods(f)->xUnfetch(f->real, offset, p);
}

const sqlite3_io_methods shim_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

// ------------------------------------------------------------------ vfs

int v_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = self(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + real_offset);
  f->buffer = nullptr;
  f->database = nullptr;
  f->wal = nullptr;
  const int rc = real_vfs(vfs)->xOpen(real_vfs(vfs), name, f->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open: mirror the
  // wrapped file so that its close is forwarded too.
  if (f->real->pMethods == nullptr) return rc;
  if (f->real->pMethods->iVersion < 3) {
    // Not the unix VFS this shim was written against: refuse rather than guess.
    f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &shim_methods;
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0 && name != nullptr) {
    f->buffer = new (std::nothrow) wal_buffer;
    if (f->buffer == nullptr) {
      x_close(file);
      f->base.pMethods = nullptr;
      return SQLITE_NOMEM;
    }
    sqlite3_file* db = sqlite3_database_file_object(name);
    if (db != nullptr && db->pMethods == &shim_methods) {
      f->database = self(db);
      f->database->wal = f;
    }
  }
  return rc;
}

int v_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}
int v_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}
int v_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, n, out);
}
void* v_dl_open(sqlite3_vfs* vfs, const char* name) {
  return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}
void v_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  real_vfs(vfs)->xDlError(real_vfs(vfs), n, out);
}
void (*v_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return real_vfs(vfs)->xDlSym(real_vfs(vfs), handle, symbol);
}
void v_dl_close(sqlite3_vfs* vfs, void* handle) { real_vfs(vfs)->xDlClose(real_vfs(vfs), handle); }
int v_randomness(sqlite3_vfs* vfs, int n, char* out) {
  return real_vfs(vfs)->xRandomness(real_vfs(vfs), n, out);
}
int v_sleep(sqlite3_vfs* vfs, int micros) { return real_vfs(vfs)->xSleep(real_vfs(vfs), micros); }
int v_current_time(sqlite3_vfs* vfs, double* out) {
  return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}
int v_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  return real_vfs(vfs)->xGetLastError(real_vfs(vfs), n, out);
}
int v_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}

sqlite3_vfs g_vfs{};
const char* g_name = nullptr;

}  // namespace

const char* coalescing_vfs_name() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) return;
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(real_offset) + real->szOsFile;
    g_vfs.mxPathname = real->mxPathname;
    g_vfs.zName = "relais-coalesce";
    g_vfs.pAppData = real;
    g_vfs.xOpen = v_open;
    g_vfs.xDelete = v_delete;
    g_vfs.xAccess = v_access;
    g_vfs.xFullPathname = v_full_pathname;
    g_vfs.xDlOpen = real->xDlOpen != nullptr ? v_dl_open : nullptr;
    g_vfs.xDlError = real->xDlError != nullptr ? v_dl_error : nullptr;
    g_vfs.xDlSym = real->xDlSym != nullptr ? v_dl_sym : nullptr;
    g_vfs.xDlClose = real->xDlClose != nullptr ? v_dl_close : nullptr;
    g_vfs.xRandomness = v_randomness;
    g_vfs.xSleep = v_sleep;
    g_vfs.xCurrentTime = v_current_time;
    g_vfs.xGetLastError = v_get_last_error;
    g_vfs.xCurrentTimeInt64 = real->xCurrentTimeInt64 != nullptr ? v_current_time_int64 : nullptr;
    if (sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK) g_name = g_vfs.zName;
  });
  return g_name;
}

coalescing_vfs_counters coalescing_vfs_totals() noexcept {
  return {g_wal_writes.load(std::memory_order_relaxed),
          g_wal_flushes.load(std::memory_order_relaxed)};
}

}  // namespace relais::store::detail
