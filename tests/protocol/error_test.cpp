#include "relais/protocol/error.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace relais::protocol {
namespace {

TEST(Error, EveryRowIsFoundByNumberAndName) {
  std::set<std::string_view> names;
  for (const error_info& row : error_table()) {
    const error_info* by_number = find_error(static_cast<std::int64_t>(row.code));
    ASSERT_NE(by_number, nullptr) << row.name;
    EXPECT_EQ(by_number, &row);
    EXPECT_EQ(find_error(row.name), &row);
    EXPECT_EQ(name(row.code), row.name);
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate name " << row.name;
    EXPECT_FALSE(row.meaning.empty());
  }
  EXPECT_EQ(error_table().size(), 46U);
}

TEST(Error, UnknownNumbersAndNamesHaveNoRow) {
  EXPECT_EQ(find_error(0), nullptr);
  EXPECT_EQ(find_error(99), nullptr);
  EXPECT_EQ(find_error(113), nullptr);
  EXPECT_EQ(find_error(-100), nullptr);
  EXPECT_EQ(find_error(std::int64_t{1} << 40), nullptr);
  EXPECT_EQ(find_error("no_such_error"), nullptr);
}

TEST(Error, CodesCompareEqualToTheirCondition) {
  const std::error_code too_long = make_error_code(error::too_long);
  EXPECT_EQ(too_long, condition::limit_exceeded);
  EXPECT_NE(too_long, condition::malformed);
  EXPECT_EQ(std::error_code(error::unknown_field), condition::malformed);
  EXPECT_EQ(std::error_code(error::invalid_token), condition::unauthorized);
  EXPECT_EQ(std::error_code(error::unsupported_version), condition::unsupported_version);
  EXPECT_EQ(std::error_code(error::already_taken), condition::conflict);
  EXPECT_EQ(std::error_code(error::queue_empty), condition::not_found);
  EXPECT_EQ(std::error_code(error::server_busy), condition::unavailable);
  for (const error_info& row : error_table()) {
    EXPECT_EQ(condition_of(row.code), row.condition);
    EXPECT_EQ(std::error_code(row.code), row.condition) << row.name;
  }
}

TEST(Error, CategoriesHaveNamesAndMessages) {
  EXPECT_STREQ(error_category().name(), "relais.protocol");
  EXPECT_STREQ(condition_category().name(), "relais.protocol.condition");
  EXPECT_EQ(make_error_code(error::malformed_json).message(), "not valid JSON");
  EXPECT_EQ(std::error_code(9999, error_category()).message(), "unknown relais.protocol error");
  EXPECT_EQ(make_error_condition(condition::conflict).message(), "conflict");
  // An unknown value maps to no condition of ours.
  EXPECT_NE(std::error_code(9999, error_category()), condition::malformed);
}

TEST(Error, ErrorsThatAlwaysCloseNameTheirCloseCode) {
  EXPECT_EQ(info(error::binary_frame).closes, close_code::unsupported_data);
  EXPECT_EQ(info(error::frame_too_large).closes, close_code::message_too_big);
  EXPECT_EQ(info(error::unsupported_version).closes, close_code::unsupported_version);
  EXPECT_EQ(info(error::rate_limited).closes, std::nullopt);
}

TEST(Error, CloseCodesHaveNames) {
  EXPECT_EQ(name(close_code::going_away), "going_away");
  EXPECT_EQ(name(close_code::try_again_later), "try_again_later");
  EXPECT_EQ(name(static_cast<close_code>(1234)), "unknown");
  EXPECT_EQ(close_code_table().size(), 14U);
  for (const close_code_info& row : close_code_table()) {
    EXPECT_EQ(name(row.code), row.name);
    const auto v = static_cast<int>(row.code);
    EXPECT_TRUE((v >= 1000 && v < 1016) || (v >= 4000 && v < 5000)) << v;
  }
}

}  // namespace
}  // namespace relais::protocol
