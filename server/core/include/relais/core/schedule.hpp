#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "relais/core/clock.hpp"
#include "relais/core/store_types.hpp"

// The permanence's weekly on-call schedule (issue 7): local wall-clock slots in one time
// zone, split shifts, slots past midnight, dated exceptions. Pure: answers "who is on call at
// this instant" and "when does it next open or close" from the config alone; the worker's own
// modes (manual start/stop, holiday) are the permanence's business.

namespace relais::core {

namespace limits {
/// How far ahead next_window / next_opening look, and how far a chain of touching slots is
/// followed when merging them into one window (days). A year and a month: a schedule that
/// has no slot within it is closed for good, and a round-the-clock chain stops there.
inline constexpr int schedule_horizon_days = 400;
/// Most weekly slots in one schedule (slots). Validation compares every pair of them day by
/// day; a real rota has a few dozen.
inline constexpr std::size_t max_schedule_slots = 512;
/// Most dated exceptions in one schedule (exceptions): years of public holidays and closures.
inline constexpr std::size_t max_schedule_exceptions = 2048;
}  // namespace limits

/// A day of the week, Monday first (ISO 8601).
enum class weekday : std::uint8_t { mon = 0, tue, wed, thu, fri, sat, sun };

/// A local wall-clock time of day, minutes since midnight (0-1439; 1440, "24:00", only as the
/// end of a slot).
struct local_time {
  int minutes = 0;
};

/// One weekly slot: on `days`, from `start` to `end` local time. `end` <= `start` means the
/// slot runs past midnight into the next day (21:00-02:00); it belongs to the day it starts.
/// `end` 00:00 and 24:00 (1440) both mean midnight at the end of the starting day; 00:00-24:00
/// is a whole day. A day listed twice counts once.
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
  bad_time,               ///< a start outside 0-1439 or an end outside 0-1440
  bad_date,               ///< no such calendar date
  no_days,                ///< a weekly slot with no day
  overlapping_slots,      ///< two slots of the same worker overlap (weekly or on a date)
  bad_day,                ///< a weekday value outside mon-sun
  too_many_entries,       ///< more slots or exceptions than limits:: allows
};
[[nodiscard]] const std::error_category& schedule_category() noexcept;
[[nodiscard]] std::error_code make_error_code(schedule_errc e) noexcept;

/// An on-call window in absolute time: [start, end).
struct on_call_window {
  unix_ms start = 0;
  unix_ms end = 0;
  friend bool operator==(const on_call_window&, const on_call_window&) = default;
};

/// Where schedule::create found its first problem, so that config can name the key
/// ("[permanence.slot] #2: overlaps slot #1 for worker camille").
struct schedule_problem {
  /// One entry of the config: a weekly slot or a dated exception, by 0-based index.
  struct entry {
    bool exception = false;  ///< else a weekly slot
    std::size_t index = 0;   ///< in schedule_config::slots or ::exceptions
  };
  std::optional<entry> subject;  ///< the entry at fault; empty for the time zone
  std::optional<entry> other;    ///< for overlapping_slots: the earlier entry it overlaps
  std::string worker;            ///< for overlapping_slots: whose slots ("" : every worker)
  std::optional<local_date> date;  ///< for an overlap on a date: that date
};

/// A validated schedule bound to its time zone. Thread-safe to query (immutable after
/// creation). A slot's local start and end become instants through the zone's rules: a local
/// time that does not exist (the spring-forward hour, 02:00-03:00 in Paris on 29 March 2026)
/// becomes the instant of the change (02:30 -> 03:00, so 01:30-03:30 lasts one hour); an
/// ambiguous one (the fall-back hour, 02:00-03:00 on 25 October 2026) takes its first
/// occurrence, in summer time (so 01:00-04:00 lasts four hours). An occurrence that comes out
/// empty (02:10-02:50 on the spring-forward day) is skipped.
/// Queries scan local days from the query's date and stop at the first answer (about a
/// microsecond for a usual rota); merging a chain of touching slots follows it day by day up
/// to limits::schedule_horizon_days (about 0.1 ms for a round-the-clock rota, measured on the
/// 2-core machine). Instants outside years 1900-9999 find nothing.
class schedule {
 public:
  /// Validates and loads the time zone (reading the system's tzdata: call it at start, not on
  /// a hot path); an error names the first problem found.
  [[nodiscard]] static std::error_code create(const schedule_config& config, std::shared_ptr<const schedule>& out);
  /// The same, also saying which entry is at fault (for config's message).
  [[nodiscard]] static std::error_code create(const schedule_config& config, std::shared_ptr<const schedule>& out,
                                              schedule_problem& problem);
  /// A schedule with no slot: closed except for manual shifts.
  [[nodiscard]] static std::shared_ptr<const schedule> none();

  /// True if no slot is configured at all, weekly or added (closures alone leave it empty):
  /// the permanence runs on manual shifts only.
  [[nodiscard]] bool empty() const noexcept;
  /// The window of `username` containing `at`, if she is scheduled on call then. Adjacent or
  /// chained slots (22:00-24:00 then 00:00-02:00) merge into one window.
  [[nodiscard]] std::optional<on_call_window> window_at(std::string_view username, unix_ms at) const;
  /// The first window of `username` starting strictly after `at` (within the next 400 days);
  /// a window that contains `at` or starts at `at` is window_at's.
  [[nodiscard]] std::optional<on_call_window> next_window(std::string_view username, unix_ms at) const;
  /// The first instant strictly after `at` at which the permanence opens by schedule (within
  /// the next 400 days): the start of the next stretch covered by any slot of any worker,
  /// touching or overlapping slots counting as one stretch. The "next opening" shown while
  /// closed; while open, the opening after the current stretch ends.
  [[nodiscard]] std::optional<unix_ms> next_opening(unix_ms at) const;
  /// The stretch covered by any slot of any worker that contains `at` (merged like
  /// window_at): open by schedule, whoever is on call.
  [[nodiscard]] std::optional<on_call_window> any_window_at(unix_ms at) const;
  /// The local days closed by a dated exception that overlap [from, to), each as the span of
  /// that day in absolute time (midnight to midnight, 23 or 25 hours on a change night), in
  /// date order: what the console's week view marks as closed. At most `max` of them.
  [[nodiscard]] std::vector<on_call_window> closed_days(unix_ms from, unix_ms to, std::size_t max) const;
  /// Every username a slot or an added slot names, sorted, once each (to check them against
  /// the accounts at start).
  [[nodiscard]] std::vector<std::string> named_workers() const;
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
