#include "connection.hpp"

#include <gtest/gtest.h>

#include "store_test_support.hpp"

namespace relais::store::detail {
namespace {

using testing::options_in;
using testing::temp_dir;

TEST(Connection, WriterGetsDurableSettings) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c) << error.message;
  std::error_code ec;
  EXPECT_EQ(c->query_text("PRAGMA journal_mode", ec), "wal");
  EXPECT_EQ(c->query_text("PRAGMA synchronous", ec), "2");  // FULL
  EXPECT_EQ(c->query_text("PRAGMA foreign_keys", ec), "1");
  EXPECT_EQ(c->query_text("PRAGMA secure_delete", ec), "1");
  EXPECT_EQ(c->query_text("PRAGMA busy_timeout", ec), "5000");
  EXPECT_FALSE(ec);
}

TEST(Connection, ReaderIsQueryOnly) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::reader, error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->exec("CREATE TABLE t(x)"), core::store_errc::read_only);
}

TEST(Connection, CachesPreparedStatementsAndResetsThem) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  ASSERT_FALSE(c->exec("CREATE TABLE t(x BLOB)"));
  for (int i = 0; i < 3; ++i) {
    std::error_code ec;
    auto q = c->prepare("INSERT INTO t VALUES(?1)", ec);
    ASSERT_FALSE(ec);
    q.bind_blob(1, std::string("\0a", 2));
    ASSERT_FALSE(q.run());
  }
  std::error_code ec;
  auto q = c->prepare("SELECT x, count(*) FROM t", ec);
  ASSERT_TRUE(q.next(ec));
  EXPECT_EQ(q.blob(0), std::string("\0a", 2));
  EXPECT_EQ(q.int64(1), 3);
}

TEST(Connection, ReportsPrepareErrors) {
  temp_dir dir;
  open_error error;
  auto c = connection::open(options_in(dir), connection::role::writer, error);
  ASSERT_TRUE(c);
  std::error_code ec;
  (void)c->prepare("SELECT * FROM no_such_table", ec);
  EXPECT_EQ(ec, core::store_errc::internal);
  EXPECT_NE(c->describe_last_error().find("no_such_table"), std::string::npos);
}

}  // namespace
}  // namespace relais::store::detail
