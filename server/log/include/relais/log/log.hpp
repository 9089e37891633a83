#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace relais::log {

/// Severity of a log line; lines below the configured level are dropped.
enum class level : std::uint8_t { debug, info, warn, error };

/// One key=value pair of a structured log line. Values are metadata only: never message
/// content, pre-chat answers, notes, tokens, passwords or keys (guarantee 1 of DESIGN.md).
struct field {
  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(v) {}
  field(std::string_view k, const std::string& v) : key(k), value(v) {}
  field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  template <typename Int>
    requires std::is_integral_v<Int>
  field(std::string_view k, Int v) : key(k), value(std::to_string(v)) {}

  std::string_view key;
  std::string value;
};

/// Sets the minimum level written; thread-safe.
void set_level(level min) noexcept;
/// Parses "debug", "info", "warn" or "error".
std::optional<level> parse_level(std::string_view name) noexcept;
[[nodiscard]] bool enabled(level l) noexcept;

/// Writes one line `ts=… level=… event=… key=value …` to stderr in a single write, so that
/// lines from several threads never interleave. Values are quoted when they need it.
void write(level l, std::string_view event, std::initializer_list<field> fields = {});

inline void debug(std::string_view event, std::initializer_list<field> f = {}) {
  if (enabled(level::debug)) write(level::debug, event, f);
}
inline void info(std::string_view event, std::initializer_list<field> f = {}) {
  write(level::info, event, f);
}
inline void warn(std::string_view event, std::initializer_list<field> f = {}) {
  write(level::warn, event, f);
}
inline void error(std::string_view event, std::initializer_list<field> f = {}) {
  write(level::error, event, f);
}

/// Formats a line without writing it (exposed for tests).
std::string format_line(level l, std::string_view event, std::initializer_list<field> fields);

}  // namespace relais::log
