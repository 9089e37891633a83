#include "json_tree.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "relais/protocol/error.hpp"

namespace relais::protocol::detail {
namespace {

std::error_code parse(json_tree& tree, std::string_view text, std::size_t depth = 4,
                      std::size_t values = 4096) {
  return tree.parse(text, depth, values);
}

TEST(JsonTree, BuildsLinkedNodes) {
  json_tree tree;
  ASSERT_FALSE(parse(tree, R"( {"a": [1, -2, true, null], "b": {"c": "d"}} )"));
  const json_node& root = tree.root();
  ASSERT_EQ(root.kind, json_kind::object);
  EXPECT_EQ(root.size, 2U);
  const json_node& a = tree.node(root.first_child);
  EXPECT_EQ(a.key, "a");
  ASSERT_EQ(a.kind, json_kind::array);
  EXPECT_EQ(a.size, 4U);
  const json_node& one = tree.node(a.first_child);
  EXPECT_EQ(one.kind, json_kind::integer);
  EXPECT_EQ(one.integer, 1);
  const json_node& minus_two = tree.node(one.next_sibling);
  EXPECT_EQ(minus_two.integer, -2);
  const json_node& t = tree.node(minus_two.next_sibling);
  EXPECT_EQ(t.kind, json_kind::boolean);
  EXPECT_TRUE(t.boolean);
  EXPECT_EQ(tree.node(t.next_sibling).kind, json_kind::null_value);
  const json_node& b = tree.node(a.next_sibling);
  EXPECT_EQ(b.key, "b");
  EXPECT_EQ(tree.node(b.first_child).text, "d");
  EXPECT_EQ(b.next_sibling, 0U);
}

TEST(JsonTree, StringsWithoutEscapesViewTheFrame) {
  json_tree tree;
  const std::string frame = R"({"k":"plain text"})";
  ASSERT_FALSE(parse(tree, frame));
  const json_node& v = tree.node(tree.root().first_child);
  EXPECT_EQ(v.text, "plain text");
  EXPECT_GE(v.text.data(), frame.data());
  EXPECT_LT(v.text.data(), frame.data() + frame.size());
}

TEST(JsonTree, UnescapesEscapes) {
  json_tree tree;
  ASSERT_FALSE(parse(tree, R"(["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "x\u0000y"])"));
  const json_node& s1 = tree.node(tree.root().first_child);
  EXPECT_EQ(s1.text, "a\"b\\c/d\b\f\n\r\t");
  const json_node& s2 = tree.node(s1.next_sibling);
  EXPECT_EQ(s2.text, "\xC3\xA9\xE2\x82\xAC");
  const json_node& s3 = tree.node(s2.next_sibling);
  EXPECT_EQ(s3.text, "\xF0\x9F\x98\x80");
  const json_node& s4 = tree.node(s3.next_sibling);
  EXPECT_EQ(s4.text, std::string_view("x\0y", 3));
}

TEST(JsonTree, ClassifiesNumbers) {
  json_tree tree;
  ASSERT_FALSE(parse(tree, "[0, -0, 9007199254740991, 999999999999999999, 1000000000000000000, "
                           "1.0, 1e3, -2E-2]"));
  std::vector<json_kind> kinds;
  for (std::uint32_t k = tree.root().first_child; k != 0; k = tree.node(k).next_sibling) {
    kinds.push_back(tree.node(k).kind);
  }
  const std::vector<json_kind> expected{json_kind::integer,     json_kind::integer,
                                        json_kind::integer,     json_kind::integer,
                                        json_kind::big_integer, json_kind::fraction,
                                        json_kind::fraction,    json_kind::fraction};
  EXPECT_EQ(kinds, expected);
  EXPECT_EQ(tree.node(tree.node(tree.root().first_child).next_sibling).integer, 0);
}

struct bad_case {
  std::string_view text;
  error expected;
};

TEST(JsonTree, RejectsMalformedInput) {
  const std::vector<bad_case> cases{
      {"", error::malformed_json},
      {"   ", error::malformed_json},
      {"{", error::malformed_json},
      {"{\"a\":1,}", error::malformed_json},
      {"[1,]", error::malformed_json},
      {"{\"a\" 1}", error::malformed_json},
      {"{a:1}", error::malformed_json},
      {"{'a':1}", error::malformed_json},
      {"{} {}", error::malformed_json},
      {"{}x", error::malformed_json},
      {"01", error::malformed_json},
      {"-", error::malformed_json},
      {"1.", error::malformed_json},
      {".5", error::malformed_json},
      {"1e", error::malformed_json},
      {"+1", error::malformed_json},
      {"NaN", error::malformed_json},
      {"Infinity", error::malformed_json},
      {"tru", error::malformed_json},
      {"nul", error::malformed_json},
      {"\"abc", error::malformed_json},
      {"\"a\tb\"", error::malformed_json},         // raw control character
      {"\"\\x\"", error::malformed_json},          // unknown escape
      {"\"\\u12\"", error::malformed_json},        // short \u
      {"\"\\ud800\"", error::malformed_json},      // lone high surrogate
      {"\"\\udc00\"", error::malformed_json},      // lone low surrogate
      {"\"\\ud800\\u0041\"", error::malformed_json},
      {"\"\xC0\x80\"", error::malformed_json},     // overlong NUL
      {"\"\xED\xA0\x80\"", error::malformed_json}, // UTF-8 encoded surrogate
      {"\"\xF4\x90\x80\x80\"", error::malformed_json},  // above U+10FFFF
      {"\"\xE2\x82\"", error::malformed_json},     // truncated sequence
      {"\"\xFF\"", error::malformed_json},
      {"\xEF\xBB\xBF{}", error::malformed_json},   // byte-order mark
      {"{\"a\":1}/*c*/", error::malformed_json},
  };
  json_tree tree;
  for (const auto& c : cases) {
    EXPECT_EQ(parse(tree, c.text), c.expected) << c.text;
  }
}

TEST(JsonTree, LimitsDepthWhileParsing) {
  json_tree tree;
  EXPECT_FALSE(parse(tree, "[[[[1]]]]"));
  EXPECT_EQ(parse(tree, "[[[[[1]]]]]"), error::too_deep);
  EXPECT_EQ(parse(tree, "{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}"), error::too_deep);
  // A hostile nest is refused at the fifth level, not after reading it all.
  const std::string deep(100000, '[');
  EXPECT_EQ(parse(tree, deep), error::too_deep);
  EXPECT_EQ(tree.error_offset(), 4U);
}

TEST(JsonTree, LimitsTheNumberOfValues) {
  json_tree tree;
  std::string many = "[";
  for (int i = 0; i < 10; ++i) {
    many += i == 0 ? "1" : ",1";
  }
  many += "]";
  EXPECT_FALSE(parse(tree, many, 4, 11));
  EXPECT_EQ(parse(tree, many, 4, 10), error::too_many_items);
}

TEST(JsonTree, ReusesItselfAcrossParses) {
  json_tree tree;
  ASSERT_FALSE(parse(tree, R"({"a":"\n"})"));
  ASSERT_FALSE(parse(tree, R"({"b":"x\ty"})"));
  EXPECT_EQ(tree.node(tree.root().first_child).key, "b");
  EXPECT_EQ(tree.node(tree.root().first_child).text, "x\ty");
}

// Found by the fuzzer, where nlohmann-json differs on purpose: it stops at a NUL byte as if
// the input ended, and it refuses numbers that overflow a double.
TEST(JsonTree, RejectsANulByteEvenWhereNlohmannStops) {
  json_tree tree;
  const std::string frame("{\"type\":\"ok\"}\0\0\x0F", 16);
  EXPECT_EQ(parse(tree, frame), error::malformed_json);
  EXPECT_TRUE(nlohmann::json::accept(frame.begin(), frame.end()));
}

TEST(JsonTree, KeepsHugeExponentsAsFractions) {
  json_tree tree;
  ASSERT_FALSE(parse(tree, "174e435203999"));
  EXPECT_EQ(tree.root().kind, json_kind::fraction);
}

TEST(JsonTree, AcceptsWhatNlohmannAcceptsWithinLimits) {
  const std::vector<std::string> corpus{
      "{}", "[]", "0", "-0", "1e-7", "\"\"", " \t\r\n{ } ", "[[],[{}],{\"\":[]}]",
      "{\"a\":1,\"a\":2}", "\"\\u0000\"", "\"\xEF\xBF\xBF\"", "\"\xF0\x90\x80\x80\"",
      "[1, 2", "[1 2]", "{\"a\":}", "\"\\/\"", "123456789012345678901234567890",
      "-1.5e+300", "[true,false,null]", "\"\xC2\"", "\"\\uD834\\uDD1E\"", "[-]", "[--1]",
      "[1e+]", "\"\x7F\""};
  json_tree tree;
  for (const std::string& text : corpus) {
    const bool ours = !parse(tree, text);
    const bool theirs = nlohmann::json::accept(text);
    EXPECT_EQ(ours, theirs) << text;
  }
}

}  // namespace
}  // namespace relais::protocol::detail
