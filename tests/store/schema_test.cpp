#include "schema.hpp"

#include <gtest/gtest.h>

#include "connection.hpp"
#include "store_test_support.hpp"

namespace relais::store::detail {
namespace {

using testing::options_in;
using testing::temp_dir;

TEST(Schema, MigratesAnEmptyFileAndIsIdempotent) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  std::string detail;
  ASSERT_FALSE(migrate(*c, detail)) << detail;
  std::error_code ec;
  EXPECT_EQ(c->query_text("PRAGMA user_version", ec), std::to_string(schema_version));
  ASSERT_FALSE(migrate(*c, detail)) << detail;
  EXPECT_EQ(c->query_text("SELECT count(*) FROM sqlite_schema WHERE name = 'messages'", ec), "1");
  EXPECT_EQ(c->query_text("PRAGMA foreign_key_check", ec), "");
}

TEST(Schema, RefusesANewerVersion) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->exec("PRAGMA user_version=1000"));
  std::string detail;
  EXPECT_EQ(migrate(*c, detail), core::store_errc::unsupported_schema);
  EXPECT_NE(detail.find("1000"), std::string::npos);
}

TEST(Schema, AFailedMigrationLeavesNothingBehind) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  // A table of the same name makes the migration's CREATE fail halfway.
  ASSERT_FALSE(c->exec("CREATE TABLE inbox_entries(x)"));
  std::string detail;
  EXPECT_TRUE(migrate(*c, detail));
  std::error_code ec;
  EXPECT_EQ(c->query_text("PRAGMA user_version", ec), "0");
  EXPECT_EQ(c->query_text("SELECT count(*) FROM sqlite_schema WHERE name = 'workers'", ec), "0");
  EXPECT_FALSE(c->in_transaction());
}

}  // namespace
}  // namespace relais::store::detail
