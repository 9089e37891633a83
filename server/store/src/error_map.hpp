#pragma once

#include <string>
#include <system_error>

#include "relais/core/store_error.hpp"

namespace relais::store::detail {

/// Maps a SQLite extended result code, with the OS errno SQLite saw (0 if none), onto the
/// store's backend-neutral errors.
[[nodiscard]] std::error_code map_sqlite_error(int extended_code, int system_errno) noexcept;

/// True for failures of the database rather than of one operation's request (I/O, full disk,
/// read-only, corruption, lock): the whole group-commit transaction is rolled back.
[[nodiscard]] bool aborts_batch(std::error_code ec) noexcept;

/// True for failures that leave the connection's state suspect (I/O, full disk, read-only,
/// corruption, unexpected): it is closed and reopened before the next transaction. A lock
/// held by another process is not one of them.
[[nodiscard]] bool needs_reopen(std::error_code ec) noexcept;

}  // namespace relais::store::detail
