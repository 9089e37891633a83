#include "json_tree.hpp"

#include <cstring>

#include "relais/protocol/error.hpp"

namespace relais::protocol::detail {

class json_tree::parser {
 public:
  parser(json_tree& tree, std::string_view text, std::size_t max_depth, std::size_t max_values)
      : tree_(tree),
        begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(max_depth),
        max_values_(max_values) {}

  std::error_code run() {
    std::uint32_t root = 0;
    skip_ws();
    if (!new_node(root) || !value(root, 0)) {
      return ec_;
    }
    skip_ws();
    if (p_ != end_) {
      fail(error::malformed_json);  // trailing data after the value
      return ec_;
    }
    return {};
  }

 private:
  bool fail(error e) {
    ec_ = e;
    tree_.error_offset_ = static_cast<std::size_t>(p_ - begin_);
    return false;
  }

  void skip_ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  bool new_node(std::uint32_t& index) {
    if (tree_.nodes_.size() >= max_values_) {
      return fail(error::too_many_items);
    }
    index = static_cast<std::uint32_t>(tree_.nodes_.size());
    tree_.nodes_.emplace_back();
    return true;
  }

  // Parses one value into node `index`; `depth` is the number of enclosing containers.
  bool value(std::uint32_t index, std::size_t depth) {
    if (p_ == end_) {
      return fail(error::malformed_json);
    }
    switch (*p_) {
      case '{': return container(index, depth, true);
      case '[': return container(index, depth, false);
      case '"': {
        std::string_view s;
        if (!string(s)) {
          return false;
        }
        json_node& n = tree_.nodes_[index];
        n.kind = json_kind::string;
        n.text = s;
        return true;
      }
      case 't': return literal(index, "true", json_kind::boolean, true);
      case 'f': return literal(index, "false", json_kind::boolean, false);
      case 'n': return literal(index, "null", json_kind::null_value, false);
      default: return number(index);
    }
  }

  bool literal(std::uint32_t index, std::string_view word, json_kind kind, bool b) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return fail(error::malformed_json);
    }
    p_ += word.size();
    json_node& n = tree_.nodes_[index];
    n.kind = kind;
    n.boolean = b;
    return true;
  }

  static bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

  bool number(std::uint32_t index) {
    const char* p = p_;
    const bool negative = *p == '-';
    if (negative) {
      ++p;
    }
    const char* digits = p;
    if (p == end_) {
      p_ = p;
      return fail(error::malformed_json);
    }
    if (*p == '0') {
      ++p;  // no leading zeros: "01" stops here and fails as trailing data
    } else if (*p >= '1' && *p <= '9') {
      while (p != end_ && digit(*p)) {
        ++p;
      }
    } else {
      p_ = p;
      return fail(error::malformed_json);
    }
    const auto int_digits = static_cast<std::size_t>(p - digits);
    bool fractional = false;
    if (p != end_ && *p == '.') {
      ++p;
      if (p == end_ || !digit(*p)) {
        p_ = p;
        return fail(error::malformed_json);
      }
      while (p != end_ && digit(*p)) {
        ++p;
      }
      fractional = true;
    }
    if (p != end_ && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p != end_ && (*p == '+' || *p == '-')) {
        ++p;
      }
      if (p == end_ || !digit(*p)) {
        p_ = p;
        return fail(error::malformed_json);
      }
      while (p != end_ && digit(*p)) {
        ++p;
      }
      fractional = true;
    }
    json_node& n = tree_.nodes_[index];
    if (fractional) {
      n.kind = json_kind::fraction;
    } else if (int_digits > 18) {
      n.kind = json_kind::big_integer;  // >= 10^18, beyond every v1 range; no overflow math
    } else {
      std::int64_t v = 0;
      for (const char* d = digits; d != digits + int_digits; ++d) {
        v = v * 10 + (*d - '0');
      }
      n.kind = json_kind::integer;
      n.integer = negative ? -v : v;
    }
    p_ = p;
    return true;
  }

  // Validates one UTF-8 sequence starting at p_ (a byte >= 0x80) and advances past it.
  bool utf8() noexcept {
    const std::size_t n = utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                               static_cast<std::size_t>(end_ - p_));
    p_ += n;
    return n != 0;
  }

  bool hex4(std::uint32_t& out) noexcept {
    if (end_ - p_ < 4) {
      return false;
    }
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      v <<= 4U;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    out = v;
    return true;
  }

  static char* put_utf8(char* o, std::uint32_t cp) noexcept {
    if (cp < 0x80) {
      *o++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
      *o++ = static_cast<char>(0xC0U | (cp >> 6U));
      *o++ = static_cast<char>(0x80U | (cp & 0x3FU));
    } else if (cp < 0x10000) {
      *o++ = static_cast<char>(0xE0U | (cp >> 12U));
      *o++ = static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
      *o++ = static_cast<char>(0x80U | (cp & 0x3FU));
    } else {
      *o++ = static_cast<char>(0xF0U | (cp >> 18U));
      *o++ = static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
      *o++ = static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
      *o++ = static_cast<char>(0x80U | (cp & 0x3FU));
    }
    return o;
  }

  // Parses a string at p_ (on the opening quote). Without escapes the result views the
  // frame; with escapes it is unescaped into the scratch buffer (never longer than the
  // escaped form, so the buffer sized to the frame never reallocates).
  bool string(std::string_view& out) {
    ++p_;
    const char* start = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') {
        break;
      }
      if (c < 0x20) {
        return fail(error::malformed_json);
      }
      if (c < 0x80) {
        ++p_;
      } else if (!utf8()) {
        return fail(error::malformed_json);
      }
    }
    if (p_ == end_) {
      return fail(error::malformed_json);
    }
    char* const first = tree_.scratch_.data() + scratch_used_;
    const auto prefix = static_cast<std::size_t>(p_ - start);
    std::memcpy(first, start, prefix);
    char* o = first + prefix;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        out = std::string_view(first, static_cast<std::size_t>(o - first));
        scratch_used_ += out.size();
        return true;
      }
      if (c == '\\') {
        ++p_;
        if (p_ == end_) {
          return fail(error::malformed_json);
        }
        const char e = *p_++;
        switch (e) {
          case '"': *o++ = '"'; break;
          case '\\': *o++ = '\\'; break;
          case '/': *o++ = '/'; break;
          case 'b': *o++ = '\b'; break;
          case 'f': *o++ = '\f'; break;
          case 'n': *o++ = '\n'; break;
          case 'r': *o++ = '\r'; break;
          case 't': *o++ = '\t'; break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!hex4(cp)) {
              return fail(error::malformed_json);
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return fail(error::malformed_json);  // a lone low surrogate
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              std::uint32_t low = 0;
              if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
                return fail(error::malformed_json);  // a lone high surrogate
              }
              p_ += 2;
              if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) {
                return fail(error::malformed_json);
              }
              cp = 0x10000 + ((cp - 0xD800) << 10U) + (low - 0xDC00);
            }
            o = put_utf8(o, cp);
            break;
          }
          default: return fail(error::malformed_json);
        }
      } else if (c < 0x20) {
        return fail(error::malformed_json);
      } else if (c < 0x80) {
        *o++ = static_cast<char>(c);
        ++p_;
      } else {
        const char* s = p_;
        if (!utf8()) {
          return fail(error::malformed_json);
        }
        const auto n = static_cast<std::size_t>(p_ - s);
        std::memcpy(o, s, n);
        o += n;
      }
    }
    return fail(error::malformed_json);
  }

  bool container(std::uint32_t index, std::size_t depth, bool is_object) {
    if (depth + 1 > max_depth_) {
      return fail(error::too_deep);
    }
    tree_.nodes_[index].kind = is_object ? json_kind::object : json_kind::array;
    const char close = is_object ? '}' : ']';
    ++p_;
    skip_ws();
    if (p_ != end_ && *p_ == close) {
      ++p_;
      return true;
    }
    std::uint32_t previous = 0;
    std::uint32_t count = 0;
    for (;;) {
      std::string_view key;
      if (is_object) {
        if (p_ == end_ || *p_ != '"') {
          return fail(error::malformed_json);
        }
        if (!string(key)) {
          return false;
        }
        skip_ws();
        if (p_ == end_ || *p_ != ':') {
          return fail(error::malformed_json);
        }
        ++p_;
        skip_ws();
      }
      std::uint32_t child = 0;
      if (!new_node(child)) {
        return false;
      }
      tree_.nodes_[child].key = key;
      if (previous == 0) {
        tree_.nodes_[index].first_child = child;
      } else {
        tree_.nodes_[previous].next_sibling = child;
      }
      previous = child;
      ++count;
      if (!value(child, depth + 1)) {
        return false;
      }
      skip_ws();
      if (p_ == end_) {
        return fail(error::malformed_json);
      }
      if (*p_ == ',') {
        ++p_;
        skip_ws();
        continue;
      }
      if (*p_ == close) {
        ++p_;
        tree_.nodes_[index].size = count;
        return true;
      }
      return fail(error::malformed_json);
    }
  }

  json_tree& tree_;
  const char* begin_;
  const char* p_;
  const char* end_;
  std::size_t max_depth_;
  std::size_t max_values_;
  std::size_t scratch_used_ = 0;
  std::error_code ec_;
};

std::error_code json_tree::parse(std::string_view text, std::size_t max_depth,
                                 std::size_t max_values) {
  nodes_.clear();
  error_offset_ = 0;
  if (scratch_.size() < text.size()) {
    scratch_.resize(text.size());
  }
  parser p(*this, text, max_depth, max_values);
  return p.run();
}

}  // namespace relais::protocol::detail
