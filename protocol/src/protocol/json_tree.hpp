#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// A strict RFC 8259 parser into a flat, bounded tree (internal to relais_protocol; the
// fuzzer and tests include it to compare it with nlohmann-json).
//
// Why not nlohmann-json here: measured on this machine, nlohmann::json::sax_parse with an
// empty handler takes about 2.2 us for a 380-byte conversation.message, above the whole
// decode budget (2 us, issue 3); its lexer copies every character twice. This parser keeps
// strings as views into the frame when they have no escapes and enforces depth and value
// limits while parsing. Its acceptance is checked against nlohmann::json::accept by the
// fuzzer (tests/fuzz) and the unit tests.

namespace relais::protocol::detail {

/// Length of the valid UTF-8 sequence starting at `p` (a byte >= 0x80) with `avail` bytes
/// available, or 0 if invalid: overlong forms, UTF-16 surrogates and code points above
/// U+10FFFF are rejected (RFC 3629).
[[nodiscard]] inline std::size_t utf8_sequence_length(const unsigned char* p,
                                                      std::size_t avail) noexcept {
  const unsigned char c0 = p[0];
  std::size_t trail = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    trail = 1;
  } else if (c0 == 0xE0) {
    trail = 2;
    lo = 0xA0;
  } else if ((c0 >= 0xE1 && c0 <= 0xEC) || c0 == 0xEE || c0 == 0xEF) {
    trail = 2;
  } else if (c0 == 0xED) {
    trail = 2;
    hi = 0x9F;
  } else if (c0 == 0xF0) {
    trail = 3;
    lo = 0x90;
  } else if (c0 >= 0xF1 && c0 <= 0xF3) {
    trail = 3;
  } else if (c0 == 0xF4) {
    trail = 3;
    hi = 0x8F;
  } else {
    return 0;
  }
  if (avail <= trail || p[1] < lo || p[1] > hi) {
    return 0;
  }
  for (std::size_t i = 2; i <= trail; ++i) {
    if ((p[i] & 0xC0U) != 0x80U) {
      return 0;
    }
  }
  return trail + 1;
}

/// The JSON type of a node, with integers split by what v1 can use.
enum class json_kind : std::uint8_t {
  null_value,
  boolean,
  integer,      ///< no fraction or exponent, fits in 18 digits: value in `integer`
  big_integer,  ///< no fraction or exponent, 19 digits or more (out of every v1 range)
  fraction,     ///< has a fraction or an exponent (never valid in v1)
  string,
  array,
  object,
};

/// One JSON value; children are linked by index (0 = none: the root is node 0).
struct json_node {
  json_kind kind = json_kind::null_value;
  bool boolean = false;
  std::int64_t integer = 0;
  std::string_view text;  ///< string value (unescaped), views the frame or the scratch
  std::string_view key;   ///< member name when the parent is an object
  std::uint32_t first_child = 0;
  std::uint32_t next_sibling = 0;
  std::uint32_t size = 0;  ///< number of children
};

/// A parsed frame. Views stay valid until the next parse() and while the frame lives.
class json_tree {
 public:
  /// Parses `text` as one JSON value. Errors: error::malformed_json (syntax, invalid UTF-8,
  /// trailing data, empty), error::too_deep (more than `max_depth` nested containers),
  /// error::too_many_items (more than `max_values` values).
  [[nodiscard]] std::error_code parse(std::string_view text, std::size_t max_depth,
                                      std::size_t max_values);

  [[nodiscard]] const json_node& root() const noexcept { return nodes_.front(); }
  [[nodiscard]] const json_node& node(std::uint32_t i) const noexcept { return nodes_[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }

  /// Byte offset where parsing stopped on error.
  [[nodiscard]] std::size_t error_offset() const noexcept { return error_offset_; }

 private:
  class parser;

  std::vector<json_node> nodes_;
  std::string scratch_;  ///< unescaped strings; sized to the frame so views never move
  std::size_t error_offset_ = 0;
};

}  // namespace relais::protocol::detail
