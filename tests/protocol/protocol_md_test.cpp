// PROTOCOL.md is test data: every ```json example must decode and re-encode to the same JSON
// value, every message type must have an example, and the error and close-code tables must
// match the C++ tables.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "relais/protocol/codec.hpp"
#include "relais/protocol/error.hpp"
#include "relais/protocol/limits.hpp"

namespace relais::protocol {
namespace {

std::string spec_text() {
  std::ifstream in(RELAIS_PROTOCOL_MD);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string& spec() {
  static const std::string text = spec_text();
  return text;
}

std::vector<std::string> json_examples() {
  std::vector<std::string> blocks;
  const std::string& text = spec();
  const std::string open = "```json\n";
  for (std::size_t at = text.find(open); at != std::string::npos; at = text.find(open, at)) {
    const std::size_t start = at + open.size();
    const std::size_t end = text.find("```", start);
    if (end == std::string::npos) {
      break;
    }
    blocks.push_back(text.substr(start, end - start));
    at = end + 3;
  }
  return blocks;
}

// Decodes with the side that receives it, re-encodes, and compares JSON values.
void check_example(const std::string& block) {
  SCOPED_TRACE(block);
  std::error_code ec;
  decode_diagnostics diag;
  const message m = decode(block, ec, &diag);
  ASSERT_FALSE(ec) << ec.message() << " at " << diag.field;
  std::error_code directed;
  if (origin_of(m) != origin::server) {
    (void)decode_from_client(block, directed);
  } else {
    (void)decode_from_server(block, directed);
  }
  EXPECT_FALSE(directed) << directed.message();
  const std::string encoded = encode(m);
  EXPECT_EQ(nlohmann::json::parse(encoded), nlohmann::json::parse(block)) << encoded;
  const message again = decode(encoded, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(again, m);
}

TEST(ProtocolMd, EveryJsonExampleDecodesAndReencodes) {
  const std::vector<std::string> blocks = json_examples();
  ASSERT_GE(blocks.size(), std::variant_size_v<message>);
  for (const std::string& block : blocks) {
    check_example(block);
  }
}

class ProtocolMdType : public testing::TestWithParam<std::string_view> {};

TEST_P(ProtocolMdType, HasAnExampleThatRoundTrips) {
  int found = 0;
  for (const std::string& block : json_examples()) {
    const auto value = nlohmann::json::parse(block);
    if (value.at("type").get<std::string>() == GetParam()) {
      ++found;
      check_example(block);
      std::error_code ec;
      EXPECT_EQ(type_name(decode(block, ec)), GetParam());
    }
  }
  EXPECT_GE(found, 1) << "no example for " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(EveryType, ProtocolMdType, testing::ValuesIn(message_type_names()),
                         [](const testing::TestParamInfo<std::string_view>& param_info) {
                           std::string name(param_info.param);
                           for (char& c : name) {
                             if (c == '.') {
                               c = '_';
                             }
                           }
                           return name;
                         });

std::string_view condition_name(condition c) {
  switch (c) {
    case condition::malformed: return "malformed";
    case condition::unauthorized: return "unauthorized";
    case condition::limit_exceeded: return "limit_exceeded";
    case condition::unsupported_version: return "unsupported_version";
    case condition::conflict: return "conflict";
    case condition::not_found: return "not_found";
    case condition::unavailable: return "unavailable";
  }
  return "";
}

// The cells of a Markdown table row ("| a | b |" -> {"a", "b"}), trimmed; empty if `line`
// is not a row.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  if (line.size() < 2 || line.front() != '|' || line.back() != '|') {
    return out;
  }
  std::size_t start = 1;
  for (std::size_t bar = line.find('|', start); bar != std::string::npos;
       bar = line.find('|', start)) {
    std::string cell = line.substr(start, bar - start);
    const std::size_t first = cell.find_first_not_of(' ');
    cell = first == std::string::npos ? "" : cell.substr(first, cell.find_last_not_of(' ') - first + 1);
    out.push_back(cell);
    start = bar + 1;
  }
  return out;
}

bool all_digits(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789") == std::string::npos;
}

// `name` in backticks -> name, else empty.
std::string code_span(const std::string& cell) {
  if (cell.size() > 2 && cell.front() == '`' && cell.back() == '`') {
    return cell.substr(1, cell.size() - 2);
  }
  return {};
}

// Rows whose first cell has `digits` digits, keyed by that number.
std::map<int, std::vector<std::string>> table_rows(std::size_t digits, std::size_t columns) {
  std::map<int, std::vector<std::string>> rows;
  std::istringstream lines(spec());
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> c = cells(line);
    if (c.size() == columns && all_digits(c[0], digits) && !code_span(c[1]).empty()) {
      rows[std::stoi(c[0])] = std::move(c);
    }
  }
  return rows;
}

TEST(ProtocolMd, ErrorTableMatchesTheLibrary) {
  const auto spec_rows = table_rows(3, 5);  // code | name | condition | meaning | close
  ASSERT_EQ(spec_rows.size(), error_table().size());
  for (const error_info& row : error_table()) {
    const auto it = spec_rows.find(static_cast<int>(row.code));
    ASSERT_NE(it, spec_rows.end()) << row.name << " missing from PROTOCOL.md";
    EXPECT_EQ(code_span(it->second[1]), row.name);
    EXPECT_EQ(it->second[2], condition_name(row.condition)) << row.name;
    const std::string& close = it->second[4];
    if (all_digits(close, 4)) {
      ASSERT_TRUE(row.closes) << row.name;
      EXPECT_EQ(static_cast<int>(*row.closes), std::stoi(close)) << row.name;
    } else {
      // Empty, or a conditional close the server decides ("1008 before `welcome`").
      EXPECT_FALSE(row.closes) << row.name;
    }
  }
}

TEST(ProtocolMd, CloseCodeTableMatchesTheLibrary) {
  const auto spec_rows = table_rows(4, 3);  // code | name | meaning
  ASSERT_EQ(spec_rows.size(), close_code_table().size());
  for (const close_code_info& row : close_code_table()) {
    const auto it = spec_rows.find(static_cast<int>(row.code));
    ASSERT_NE(it, spec_rows.end()) << row.name;
    EXPECT_EQ(code_span(it->second[1]), row.name);
  }
}

TEST(ProtocolMd, QuotesTheLibraryLimits) {
  EXPECT_EQ(limits::max_frame_bytes, 65536U);
  EXPECT_NE(spec().find("| frame | 65,536 bytes |"), std::string::npos);
  EXPECT_NE(spec().find("| nesting depth | 4 |"), std::string::npos);
  EXPECT_EQ(limits::max_depth, 4U);
  EXPECT_NE(spec().find("| JSON values per frame | 4,096 |"), std::string::npos);
  EXPECT_EQ(limits::max_json_values, 4096U);
  EXPECT_NE(spec().find("1–46,080 bytes (45 KiB)"), std::string::npos);
  EXPECT_EQ(limits::max_ciphertext_bytes, 46080U);
}

}  // namespace
}  // namespace relais::protocol
