#include "relais/core/schedule.hpp"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace relais::core {
namespace {

constexpr int minutes_per_day = 24 * 60;
constexpr int minutes_per_week = 7 * minutes_per_day;
// Days a merge loads at once once a chain of slots crosses the days it started with.
constexpr int days_per_load = 7;

// Instants outside years 1900-9999 are refused by the queries: cctz saturates far beyond that
// and the conversion back to milliseconds would overflow.
constexpr unix_ms earliest_query_ms = -2'208'988'800'000;  // 1900-01-01T00:00:00Z
constexpr unix_ms latest_query_ms = 253'402'300'799'999;   // 9999-12-31T23:59:59.999Z

class schedule_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "relais.schedule"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<schedule_errc>(ev)) {
      case schedule_errc::unknown_time_zone: return "unknown time zone (not in the system's tzdata)";
      case schedule_errc::empty_slot: return "slot starts and ends at the same time";
      case schedule_errc::bad_time: return "time of day outside 00:00-24:00";
      case schedule_errc::bad_date: return "no such calendar date";
      case schedule_errc::no_days: return "weekly slot with no day";
      case schedule_errc::overlapping_slots: return "slots of the same worker overlap";
      case schedule_errc::bad_day: return "day of the week outside mon-sun";
      case schedule_errc::too_many_entries: return "too many slots or exceptions";
    }
    return "unknown schedule error";
  }
};

/// One slot as the queries use it: minutes after the midnight that starts its day.
struct compiled_slot {
  int start = 0;
  int end = 0;                       // in (start, start + 1440]: past midnight when > 1440
  std::vector<std::string> workers;  // sorted, unique; empty: every worker
};

/// Which slots a query looks at: one worker's (with the every-worker slots) or all of them.
struct who {
  bool any = false;
  std::string_view user;

  [[nodiscard]] bool matches(const compiled_slot& s) const {
    return any || s.workers.empty() || std::binary_search(s.workers.begin(), s.workers.end(), user);
  }
};

struct date_entry {
  bool closed = false;
  std::vector<compiled_slot> added;
};

using tp_seconds = cctz::time_point<cctz::seconds>;

[[nodiscard]] tp_seconds to_tp(unix_ms ms) {
  auto s = ms / 1000;
  if (ms % 1000 < 0) --s;  // floor: -1 ms is in the second before the epoch
  return tp_seconds(cctz::seconds(s));
}

[[nodiscard]] unix_ms to_ms(tp_seconds tp) { return static_cast<unix_ms>(tp.time_since_epoch().count()) * 1000; }

[[nodiscard]] std::size_t weekday_index(cctz::civil_day d) {
  switch (cctz::get_weekday(d)) {
    case cctz::weekday::monday: return 0;
    case cctz::weekday::tuesday: return 1;
    case cctz::weekday::wednesday: return 2;
    case cctz::weekday::thursday: return 3;
    case cctz::weekday::friday: return 4;
    case cctz::weekday::saturday: return 5;
    case cctz::weekday::sunday: return 6;
  }
  return 0;
}

[[nodiscard]] bool valid_date(const local_date& d) {
  if (d.year < 1900 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31) return false;
  const cctz::civil_day c(d.year, d.month, d.day);  // normalises 31 April to 1 May
  return c.year() == d.year && c.month() == d.month && c.day() == d.day;
}

[[nodiscard]] cctz::civil_day to_civil(const local_date& d) { return cctz::civil_day(d.year, d.month, d.day); }

// The IANA names tzdata uses ("Europe/Paris", "America/Port-au-Prince", "Etc/GMT+1", "UTC").
// Anything else (a path, "localtime", which cctz reads from the environment) is refused
// before cctz opens a file named after it.
[[nodiscard]] bool plausible_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name == "localtime") return false;
  if (name.find("..") != std::string::npos || name.find("//") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '/' ||
           ch == '_' || ch == '-' || ch == '+';
  });
}

/// The end of a slot in minutes after its day's midnight: past 1440 when it runs past midnight.
[[nodiscard]] int absolute_end(int start, int end) { return end > start ? end : end + minutes_per_day; }

[[nodiscard]] std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// The worker two slots share ("" when both are for every worker), or nothing.
[[nodiscard]] std::optional<std::string> shared_worker(const compiled_slot& a, const compiled_slot& b) {
  if (a.workers.empty() && b.workers.empty()) return std::string();
  if (a.workers.empty()) return b.workers.front();
  if (b.workers.empty()) return a.workers.front();
  for (const auto& w : a.workers) {
    if (std::binary_search(b.workers.begin(), b.workers.end(), w)) return w;
  }
  return std::nullopt;
}

[[nodiscard]] int floor_mod(int a, int m) {
  const int r = a % m;
  return r < 0 ? r + m : r;
}

/// Two intervals [a, a + al) and [b, b + bl) on the week's circle (minutes) overlap.
[[nodiscard]] bool overlap_on_week(int a, int al, int b, int bl) {
  return floor_mod(b - a, minutes_per_week) < al || floor_mod(a - b, minutes_per_week) < bl;
}

}  // namespace

const std::error_category& schedule_category() noexcept {
  static const schedule_category_impl instance;
  return instance;
}

std::error_code make_error_code(schedule_errc e) noexcept { return {static_cast<int>(e), schedule_category()}; }

struct schedule::impl {
  std::string name;
  cctz::time_zone tz;
  std::array<std::vector<compiled_slot>, 7> weekly;  // Monday first
  std::map<cctz::civil_day, date_entry> dates;
  bool empty = true;
  std::vector<std::string> named;

  /// An instant for a local wall-clock time: a skipped time becomes the instant of the change
  /// (02:30 on a spring-forward night is 03:00), a repeated one its first occurrence.
  [[nodiscard]] unix_ms instant(const cctz::civil_second& cs) const {
    const auto lookup = tz.lookup(cs);
    switch (lookup.kind) {
      case cctz::time_zone::civil_lookup::SKIPPED: return to_ms(lookup.trans);
      case cctz::time_zone::civil_lookup::REPEATED:
      case cctz::time_zone::civil_lookup::UNIQUE: return to_ms(lookup.pre);
    }
    return to_ms(lookup.pre);
  }

  [[nodiscard]] cctz::civil_day local_day(unix_ms at) const { return cctz::civil_day(tz.lookup(to_tp(at)).cs); }

  /// Appends the windows of the slots that start on local day `d` and match `w`.
  void occurrences(cctz::civil_day d, const who& w, std::vector<on_call_window>& out) const {
    const auto add = [&](const compiled_slot& s) {
      if (!w.matches(s)) return;
      const on_call_window o{instant(cctz::civil_second(d.year(), d.month(), d.day(), 0, s.start, 0)),
                             instant(cctz::civil_second(d.year(), d.month(), d.day(), 0, s.end, 0))};
      if (o.end > o.start) out.push_back(o);  // 02:10-02:50 on a spring-forward night is empty
    };
    const auto it = dates.find(d);
    if (it == dates.end() || !it->second.closed) {
      for (const auto& s : weekly[weekday_index(d)]) add(s);
    }
    if (it != dates.end()) {
      for (const auto& s : it->second.added) add(s);
    }
  }

  /// The merged window containing `at`: the occurrence holding it, extended both ways through
  /// every occurrence that touches or overlaps, day by day, within the horizon.
  [[nodiscard]] std::optional<on_call_window> window_containing(const who& w, unix_ms at) const {
    if (empty || at < earliest_query_ms || at > latest_query_ms) return std::nullopt;
    const auto day = local_day(at);
    auto lo = day - 1;  // the previous day's slots may run past midnight into this one
    auto hi = day;
    std::vector<on_call_window> occ;
    occurrences(lo, w, occ);
    occurrences(hi, w, occ);
    std::optional<on_call_window> found;
    for (const auto& o : occ) {
      if (o.start <= at && at < o.end) {
        found = o;
        break;
      }
    }
    if (!found) return std::nullopt;
    auto win = *found;
    const auto first_day = day - limits::schedule_horizon_days;
    const auto last_day = day + limits::schedule_horizon_days;
    for (;;) {
      bool grew = false;
      for (const auto& o : occ) {
        if (o.start < win.start && o.end >= win.start) {
          win.start = o.start;
          grew = true;
        }
      }
      // A slot of the day before the start's may run past midnight into it.
      const auto need = local_day(win.start) - 1;
      if (need < lo && lo > first_day) {
        // A chain reaching this far likely goes on (a rota of whole days): a week at a time.
        const auto to = std::max(std::min(need, lo - days_per_load), first_day);
        while (lo > to) occurrences(--lo, w, occ);
        continue;
      }
      if (!grew) break;
    }
    for (;;) {
      bool grew = false;
      for (const auto& o : occ) {
        if (o.start <= win.end && o.end > win.end) {
          win.end = o.end;
          grew = true;
        }
      }
      // A slot of the end's own day may start right at it (22:00-24:00 then 00:00-02:00).
      const auto need = local_day(win.end);
      if (need > hi && hi < last_day) {
        const auto to = std::min(std::max(need, hi + days_per_load), last_day);
        while (hi < to) occurrences(++hi, w, occ);
        continue;
      }
      if (!grew) break;
    }
    return win;
  }

  /// The earliest occurrence start strictly after `t`, scanning local days from t's up to
  /// `last_day`; stops at the first day that has one.
  [[nodiscard]] std::optional<unix_ms> first_start_after(const who& w, unix_ms t, cctz::civil_day last_day) const {
    std::vector<on_call_window> occ;
    for (auto d = local_day(t); d <= last_day; ++d) {
      occ.clear();
      occurrences(d, w, occ);
      std::optional<unix_ms> best;
      for (const auto& o : occ) {
        if (o.start > t && (!best || o.start < *best)) best = o.start;
      }
      if (best) return best;
    }
    return std::nullopt;
  }

  [[nodiscard]] std::optional<on_call_window> next_window(const who& w, unix_ms at) const {
    if (empty || at < earliest_query_ms || at > latest_query_ms) return std::nullopt;
    const auto last_day = local_day(at) + limits::schedule_horizon_days;
    auto t = at;
    for (;;) {
      const auto start = first_start_after(w, t, last_day);
      if (!start) return std::nullopt;
      const auto win = window_containing(w, *start);
      if (!win) return std::nullopt;  // cannot happen: the occurrence starting there holds it
      if (win->start > at) return win;
      // That start continues a window already running at `at`: look past its end (which is
      // after `start`, so this moves on).
      t = win->end;
    }
  }
};

schedule::schedule(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
schedule::~schedule() = default;

std::error_code schedule::create(const schedule_config& config, std::shared_ptr<const schedule>& out) {
  schedule_problem ignored;
  return create(config, out, ignored);
}

std::error_code schedule::create(const schedule_config& config, std::shared_ptr<const schedule>& out,
                                 schedule_problem& problem) {
  problem = {};
  const auto fail = [&](schedule_errc e, std::optional<schedule_problem::entry> subject) {
    problem.subject = subject;
    return make_error_code(e);
  };
  const auto slot_entry = [](std::size_t i) { return schedule_problem::entry{false, i}; };
  const auto exception_entry = [](std::size_t i) { return schedule_problem::entry{true, i}; };

  if (config.slots.size() > limits::max_schedule_slots) {
    return fail(schedule_errc::too_many_entries, slot_entry(limits::max_schedule_slots));
  }
  if (config.exceptions.size() > limits::max_schedule_exceptions) {
    return fail(schedule_errc::too_many_entries, exception_entry(limits::max_schedule_exceptions));
  }
  auto p = std::make_unique<impl>();
  p->name = config.time_zone;
  // cctz falls back to UTC when it cannot load a zone: only its bool result tells.
  if (!plausible_zone_name(config.time_zone) || !cctz::load_time_zone(config.time_zone, &p->tz)) {
    return fail(schedule_errc::unknown_time_zone, std::nullopt);
  }

  const auto check_times = [](local_time start, local_time end) -> std::optional<schedule_errc> {
    if (start.minutes < 0 || start.minutes >= minutes_per_day || end.minutes < 0 || end.minutes > minutes_per_day) {
      return schedule_errc::bad_time;
    }
    if (start.minutes == end.minutes) return schedule_errc::empty_slot;
    return std::nullopt;
  };

  // Each entry on its own, in config order.
  std::vector<compiled_slot> slots;
  std::vector<std::vector<std::size_t>> slot_days;
  for (std::size_t i = 0; i < config.slots.size(); ++i) {
    const auto& s = config.slots[i];
    if (s.days.empty()) return fail(schedule_errc::no_days, slot_entry(i));
    std::set<std::size_t> days;
    for (auto d : s.days) {
      const auto index = static_cast<std::size_t>(d);
      if (index > 6) return fail(schedule_errc::bad_day, slot_entry(i));
      days.insert(index);
    }
    if (auto e = check_times(s.start, s.end)) return fail(*e, slot_entry(i));
    slots.push_back({s.start.minutes, absolute_end(s.start.minutes, s.end.minutes), sorted_unique(s.workers)});
    slot_days.emplace_back(days.begin(), days.end());
  }
  std::vector<std::optional<compiled_slot>> added(config.exceptions.size());
  std::set<cctz::civil_day> closed;
  for (std::size_t k = 0; k < config.exceptions.size(); ++k) {
    const auto& x = config.exceptions[k];
    if (!valid_date(x.date)) return fail(schedule_errc::bad_date, exception_entry(k));
    if (x.closed) {
      closed.insert(to_civil(x.date));
      continue;
    }
    if (auto e = check_times(x.start, x.end)) return fail(*e, exception_entry(k));
    added[k] = compiled_slot{x.start.minutes, absolute_end(x.start.minutes, x.end.minutes), sorted_unique(x.workers)};
  }

  const auto overlap = [&](std::size_t subject, bool subject_is_exception, schedule_problem::entry other,
                           std::string worker, std::optional<local_date> date) {
    problem.subject = schedule_problem::entry{subject_is_exception, subject};
    problem.other = other;
    problem.worker = std::move(worker);
    problem.date = date;
    return make_error_code(schedule_errc::overlapping_slots);
  };

  // Weekly slots against each other, on the week's circle so that Sunday 23:00-01:00 meets
  // Monday 00:30.
  for (std::size_t j = 0; j < slots.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      auto worker = shared_worker(slots[i], slots[j]);
      if (!worker) continue;
      const int il = slots[i].end - slots[i].start;
      const int jl = slots[j].end - slots[j].start;
      for (auto di : slot_days[i]) {
        for (auto dj : slot_days[j]) {
          const int a = static_cast<int>(di) * minutes_per_day + slots[i].start;
          const int b = static_cast<int>(dj) * minutes_per_day + slots[j].start;
          if (overlap_on_week(a, il, b, jl)) return overlap(j, false, slot_entry(i), std::move(*worker), std::nullopt);
        }
      }
    }
  }

  // An added slot against what runs around its date: the weekly slots of the day before, the
  // day and the day after (unless closed), and the earlier added slots of those days; in
  // minutes from the date's midnight.
  for (std::size_t k = 0; k < added.size(); ++k) {
    if (!added[k]) continue;
    const auto& mine = *added[k];
    const auto day = to_civil(config.exceptions[k].date);
    for (int offset = -1; offset <= 1; ++offset) {
      const auto other_day = day + offset;
      const int shift = offset * minutes_per_day;
      const auto meets = [&](const compiled_slot& o) {
        return o.start + shift < mine.end && mine.start < o.end + shift;
      };
      if (!closed.contains(other_day)) {
        const auto wd = weekday_index(other_day);
        for (std::size_t i = 0; i < slots.size(); ++i) {
          if (!std::binary_search(slot_days[i].begin(), slot_days[i].end(), wd) || !meets(slots[i])) continue;
          if (auto worker = shared_worker(slots[i], mine)) {
            return overlap(k, true, slot_entry(i), std::move(*worker), config.exceptions[k].date);
          }
        }
      }
      for (std::size_t m = 0; m < k; ++m) {
        if (!added[m] || to_civil(config.exceptions[m].date) != other_day || !meets(*added[m])) continue;
        if (auto worker = shared_worker(*added[m], mine)) {
          return overlap(k, true, exception_entry(m), std::move(*worker), config.exceptions[k].date);
        }
      }
    }
  }

  std::set<std::string> named;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    named.insert(slots[i].workers.begin(), slots[i].workers.end());
    for (auto d : slot_days[i]) p->weekly[d].push_back(slots[i]);
  }
  for (const auto& c : closed) p->dates[c].closed = true;
  for (std::size_t k = 0; k < added.size(); ++k) {
    if (!added[k]) continue;
    named.insert(added[k]->workers.begin(), added[k]->workers.end());
    p->dates[to_civil(config.exceptions[k].date)].added.push_back(std::move(*added[k]));
  }
  p->empty = slots.empty() && std::none_of(config.exceptions.begin(), config.exceptions.end(),
                                           [](const dated_exception& x) { return !x.closed; });
  p->named.assign(named.begin(), named.end());
  out = std::shared_ptr<const schedule>(new schedule(std::move(p)));
  return {};
}

std::shared_ptr<const schedule> schedule::none() {
  static const std::shared_ptr<const schedule> instance = [] {
    auto p = std::make_unique<impl>();
    p->name = "UTC";
    p->tz = cctz::utc_time_zone();
    return std::shared_ptr<const schedule>(new schedule(std::move(p)));
  }();
  return instance;
}

bool schedule::empty() const noexcept { return impl_->empty; }

std::optional<on_call_window> schedule::window_at(std::string_view username, unix_ms at) const {
  return impl_->window_containing(who{false, username}, at);
}

std::optional<on_call_window> schedule::next_window(std::string_view username, unix_ms at) const {
  return impl_->next_window(who{false, username}, at);
}

std::optional<unix_ms> schedule::next_opening(unix_ms at) const {
  auto w = impl_->next_window(who{true, {}}, at);
  if (!w) return std::nullopt;
  return w->start;
}

std::optional<on_call_window> schedule::any_window_at(unix_ms at) const {
  return impl_->window_containing(who{true, {}}, at);
}

std::vector<on_call_window> schedule::closed_days(unix_ms from, unix_ms to, std::size_t max) const {
  std::vector<on_call_window> out;
  if (to <= from) return out;
  // The map is ordered by date: start at the day containing `from`, stop past `to`.
  const auto first = impl_->local_day(from);
  const auto last = impl_->local_day(to);
  for (auto it = impl_->dates.lower_bound(first); it != impl_->dates.end() && it->first <= last; ++it) {
    if (!it->second.closed) continue;
    on_call_window day{impl_->instant(cctz::civil_second(it->first)),
                       impl_->instant(cctz::civil_second(it->first + 1))};
    if (day.end <= from || day.start >= to) continue;
    if (out.size() == max) break;
    out.push_back(day);
  }
  return out;
}

std::vector<std::string> schedule::named_workers() const { return impl_->named; }

const std::string& schedule::time_zone() const noexcept { return impl_->name; }

}  // namespace relais::core
