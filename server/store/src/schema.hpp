#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace relais::store::detail {

class connection;

/// The schema version this program writes (PRAGMA user_version after migrating).
inline constexpr std::int64_t schema_version = 3;

/// Brings the database to schema_version, one migration per transaction, each setting
/// user_version in the same transaction so that a crash leaves a whole step or none.
/// unsupported_schema if the file is newer than this program; `detail` says why.
/// `target` below schema_version stops early (tests of an upgrade from an older version).
[[nodiscard]] std::error_code migrate(connection& c, std::string& detail,
                                      std::int64_t target = schema_version);

}  // namespace relais::store::detail
