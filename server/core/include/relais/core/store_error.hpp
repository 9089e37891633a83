#pragma once

#include <string>
#include <system_error>

namespace relais::core {

/// Why a store operation failed. Every backend (SQLite today, PostgreSQL later) maps its own
/// failures onto these so that core and net decide on a code, never on a backend message.
enum class store_errc {
  // 0 is reserved for success (std::error_code convention).
  busy = 1,           ///< the write queue is full: refused at once, retry later (negative ack)
  io_error,           ///< a write or fsync failed; nothing was acknowledged
  disk_full,          ///< ENOSPC or SQLITE_FULL; nothing was acknowledged
  read_only,          ///< the file system or database file is read-only
  locked,             ///< another process holds the database lock longer than the busy timeout
  corrupt,            ///< the file is not a database or fails its integrity check
  closed,             ///< the store is shutting down
  not_found,          ///< the referenced row does not exist
  already_exists,     ///< a unique row of that key exists (queue entry, username, ...)
  conflict,           ///< a compare-and-set lost: someone else changed the row first
  no_one_time_prekey, ///< not an error for the caller's protocol: the supply is empty
  too_large,          ///< a blob exceeds the store's size limit
  invalid_argument,   ///< a caller bug: empty key, negative limit, ...
  unsafe_settings,    ///< non-durable settings without the explicit unsafe flag
  unsupported_schema, ///< the file was written by a newer version (schema version too high)
  internal,           ///< an unexpected backend failure (logged with its detail)
};

/// The error category of store_errc ("relais.store").
class store_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "relais.store"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<store_errc>(ev)) {
      case store_errc::busy: return "store write queue full";
      case store_errc::io_error: return "store I/O error (write or fsync failed)";
      case store_errc::disk_full: return "store disk full";
      case store_errc::read_only: return "store is read-only";
      case store_errc::locked: return "store locked by another process";
      case store_errc::corrupt: return "store file corrupt or not a database";
      case store_errc::closed: return "store closed";
      case store_errc::not_found: return "not found";
      case store_errc::already_exists: return "already exists";
      case store_errc::conflict: return "changed concurrently";
      case store_errc::no_one_time_prekey: return "no one-time prekey left";
      case store_errc::too_large: return "value too large for the store";
      case store_errc::invalid_argument: return "invalid store argument";
      case store_errc::unsafe_settings: return "non-durable store settings refused";
      case store_errc::unsupported_schema: return "store schema newer than this program";
      case store_errc::internal: return "internal store error";
    }
    return "unknown store error";
  }
};

/// The single instance of the store category (inline: one object across translation units).
[[nodiscard]] inline const std::error_category& store_category() noexcept {
  static const store_category_impl instance;
  return instance;
}

[[nodiscard]] inline std::error_code make_error_code(store_errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

/// True for the failures after which the sender must get a negative ack and may retry with
/// the same client message id: the write was not durably committed (as far as we know).
[[nodiscard]] inline bool is_transient_store_failure(std::error_code ec) noexcept {
  if (ec.category() != store_category()) return false;
  switch (static_cast<store_errc>(ec.value())) {
    case store_errc::busy:
    case store_errc::io_error:
    case store_errc::disk_full:
    case store_errc::read_only:
    case store_errc::locked:
    case store_errc::closed: return true;
    default: return false;
  }
}

}  // namespace relais::core

template <>
struct std::is_error_code_enum<relais::core::store_errc> : std::true_type {};
