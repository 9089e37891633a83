#include "error_map.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cerrno>

namespace relais::store::detail {
namespace {

using core::store_errc;

TEST(ErrorMap, SuccessCodesAreNoError) {
  EXPECT_FALSE(map_sqlite_error(SQLITE_OK, 0));
  EXPECT_FALSE(map_sqlite_error(SQLITE_DONE, 0));
  EXPECT_FALSE(map_sqlite_error(SQLITE_ROW, 0));
}

TEST(ErrorMap, StorageFailures) {
  EXPECT_EQ(map_sqlite_error(SQLITE_FULL, 0), store_errc::disk_full);
  EXPECT_EQ(map_sqlite_error(SQLITE_IOERR_FSYNC, EIO), store_errc::io_error);
  EXPECT_EQ(map_sqlite_error(SQLITE_IOERR_FSYNC, ENOSPC), store_errc::disk_full);
  EXPECT_EQ(map_sqlite_error(SQLITE_IOERR_WRITE, EROFS), store_errc::read_only);
  EXPECT_EQ(map_sqlite_error(SQLITE_IOERR_WRITE, EDQUOT), store_errc::disk_full);
  EXPECT_EQ(map_sqlite_error(SQLITE_READONLY, 0), store_errc::read_only);
  EXPECT_EQ(map_sqlite_error(SQLITE_BUSY, 0), store_errc::locked);
  EXPECT_EQ(map_sqlite_error(SQLITE_BUSY_SNAPSHOT, 0), store_errc::locked);
  EXPECT_EQ(map_sqlite_error(SQLITE_NOTADB, 0), store_errc::corrupt);
  EXPECT_EQ(map_sqlite_error(SQLITE_CORRUPT, 0), store_errc::corrupt);
  EXPECT_EQ(map_sqlite_error(SQLITE_CANTOPEN, ENOENT), store_errc::io_error);
}

TEST(ErrorMap, ConstraintFailures) {
  EXPECT_EQ(map_sqlite_error(SQLITE_CONSTRAINT_UNIQUE, 0), store_errc::already_exists);
  EXPECT_EQ(map_sqlite_error(SQLITE_CONSTRAINT_PRIMARYKEY, 0), store_errc::already_exists);
  EXPECT_EQ(map_sqlite_error(SQLITE_CONSTRAINT_FOREIGNKEY, 0), store_errc::not_found);
  EXPECT_EQ(map_sqlite_error(SQLITE_CONSTRAINT_NOTNULL, 0), store_errc::invalid_argument);
  EXPECT_EQ(map_sqlite_error(SQLITE_TOOBIG, 0), store_errc::too_large);
  EXPECT_EQ(map_sqlite_error(SQLITE_MISUSE, 0), store_errc::internal);
}

TEST(ErrorMap, WhichFailuresAbortTheBatchAndReopen) {
  EXPECT_TRUE(aborts_batch(store_errc::io_error));
  EXPECT_TRUE(aborts_batch(store_errc::locked));
  EXPECT_FALSE(aborts_batch(store_errc::not_found));
  EXPECT_FALSE(aborts_batch(store_errc::conflict));
  EXPECT_TRUE(needs_reopen(store_errc::disk_full));
  EXPECT_TRUE(needs_reopen(store_errc::read_only));
  EXPECT_FALSE(needs_reopen(store_errc::locked));
  EXPECT_FALSE(needs_reopen(std::error_code{}));
  EXPECT_TRUE(needs_reopen(std::make_error_code(std::errc::io_error)));
}

TEST(StoreErrorCategory, NamesAndTransience) {
  const std::error_code ec = store_errc::disk_full;
  EXPECT_STREQ(ec.category().name(), "relais.store");
  EXPECT_EQ(ec.message(), "store disk full");
  EXPECT_TRUE(core::is_transient_store_failure(store_errc::busy));
  EXPECT_TRUE(core::is_transient_store_failure(store_errc::io_error));
  EXPECT_FALSE(core::is_transient_store_failure(store_errc::not_found));
  EXPECT_FALSE(core::is_transient_store_failure(std::make_error_code(std::errc::io_error)));
}

}  // namespace
}  // namespace relais::store::detail
