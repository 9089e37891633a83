#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "relais/core/clock.hpp"

// The permanence's weekly on-call schedule (issue 7): local wall-clock slots in one time
// zone, split shifts, slots past midnight, dated exceptions. Pure: answers "who is on call at
// this instant" and "when does it next open or close" from the config alone; the worker's own
// modes (manual start/stop, holiday) are the permanence's business.

namespace relais::core {

/// A day of the week, Monday first (ISO 8601).
enum class weekday : std::uint8_t { mon = 0, tue, wed, thu, fri, sat, sun };

/// A local wall-clock time of day, minutes since midnight (0-1439).
struct local_time {
  int minutes = 0;
};

/// One weekly slot: on `days`, from `start` to `end` local time. `end` <= `start` means the
/// slot runs past midnight into the next day (21:00-02:00); it belongs to the day it starts.
struct weekly_slot {
  std::vector<weekday> days;
  local_time start;
  local_time end;
  /// Usernames on call during the slot; empty: every worker account.
  std::vector<std::string> workers;
};

/// A local calendar date.
struct local_date {
  int year = 2026;
  int month = 1;  ///< 1-12
  int day = 1;    ///< 1-31
};

/// A dated exception: `closed` removes every weekly slot that starts on `date` (a public
/// holiday, a closure); otherwise it adds a one-off slot on `date` from `start` to `end`.
struct dated_exception {
  local_date date;
  bool closed = false;
  local_time start;
  local_time end;
  std::vector<std::string> workers;  ///< for an added slot; empty: every worker
};

/// The schedule as configured ([permanence] in config/README.md).
struct schedule_config {
  std::string time_zone = "Europe/Paris";  ///< an IANA name from the system's tzdata
  std::vector<weekly_slot> slots;
  std::vector<dated_exception> exceptions;
};

/// Why a schedule_config is refused (config names the key; see schedule_category()).
enum class schedule_errc {
  unknown_time_zone = 1,  ///< not in the system's tzdata
  empty_slot,             ///< start == end
  bad_time,               ///< minutes outside 0-1439
  bad_date,               ///< no such calendar date
  no_days,                ///< a weekly slot with no day
  overlapping_slots,      ///< two slots of the same worker overlap (weekly or on a date)
};
[[nodiscard]] const std::error_category& schedule_category() noexcept;
[[nodiscard]] std::error_code make_error_code(schedule_errc e) noexcept;

/// An on-call window in absolute time: [start, end).
struct on_call_window {
  unix_ms start = 0;
  unix_ms end = 0;
};

/// A validated schedule bound to its time zone. Thread-safe to query (immutable after
/// creation). Local times that do not exist (the spring-forward hour) move forward by the
/// gap; ambiguous ones (the fall-back hour) take their first occurrence.
class schedule {
 public:
  /// Validates and loads the time zone; an error names the first problem found.
  [[nodiscard]] static std::error_code create(const schedule_config& config, std::shared_ptr<const schedule>& out);
  /// A schedule with no slot: closed except for manual shifts.
  [[nodiscard]] static std::shared_ptr<const schedule> none();

  /// True if no slot is configured at all (the permanence runs on manual shifts only).
  [[nodiscard]] bool empty() const noexcept;
  /// The window of `username` containing `at`, if she is scheduled on call then. Adjacent or
  /// chained slots (22:00-24:00 then 00:00-02:00) merge into one window.
  [[nodiscard]] std::optional<on_call_window> window_at(std::string_view username, unix_ms at) const;
  /// The first window of `username` starting after `at` (within the next 400 days).
  [[nodiscard]] std::optional<on_call_window> next_window(std::string_view username, unix_ms at) const;
  /// The first instant after `at` at which any slot starts (within the next 400 days):
  /// the "next opening" shown while closed.
  [[nodiscard]] std::optional<unix_ms> next_opening(unix_ms at) const;
  /// The configured time zone name.
  [[nodiscard]] const std::string& time_zone() const noexcept;

  ~schedule();
  schedule(const schedule&) = delete;
  schedule& operator=(const schedule&) = delete;

 private:
  struct impl;
  explicit schedule(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace relais::core

template <>
struct std::is_error_code_enum<relais::core::schedule_errc> : std::true_type {};
