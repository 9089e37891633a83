#include "relais/core/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>

// Expected instants are computed here from UTC calendar arithmetic and the offsets France and
// Belgium use (CET = UTC+1, CEST = UTC+2; summer time from the last Sunday of March 01:00 UTC
// to the last Sunday of October 01:00 UTC), never through cctz: the schedule and the test
// must agree from two independent sides. The system's tzdata is real.

namespace relais::core {
namespace {

using wd = weekday;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr unix_ms utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return ((days_from_civil(y, m, d) * 24 + hh) * 60 + mm) * 60'000;
}
// Local wall-clock times at a known offset (hours east of UTC).
constexpr unix_ms cet(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) { return utc(y, m, d, hh, mm) - 3'600'000; }
constexpr unix_ms cest(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return utc(y, m, d, hh, mm) - 7'200'000;
}
static_assert(utc(1970, 1, 1) == 0);
static_assert(utc(2026, 1, 1) == 1'767'225'600'000);  // date -u -d 2026-01-01 +%s

constexpr unix_ms minute = 60'000;
constexpr unix_ms hour = 60 * minute;

local_time at(int h, int m = 0) { return {h * 60 + m}; }

weekly_slot slot(std::vector<weekday> days, local_time start, local_time end, std::vector<std::string> workers = {}) {
  return {std::move(days), start, end, std::move(workers)};
}

dated_exception closed_on(int y, int m, int d) { return {{y, m, d}, true, {}, {}, {}}; }

dated_exception added_on(int y, int m, int d, local_time start, local_time end, std::vector<std::string> workers = {}) {
  return {{y, m, d}, false, start, end, std::move(workers)};
}

std::shared_ptr<const schedule> make(schedule_config c) {
  std::shared_ptr<const schedule> s;
  schedule_problem p;
  auto ec = schedule::create(c, s, p);
  EXPECT_FALSE(ec) << ec.message();
  if (ec) return schedule::none();
  return s;
}

std::shared_ptr<const schedule> make(std::vector<weekly_slot> slots, std::vector<dated_exception> exceptions = {},
                                     std::string zone = "Europe/Paris") {
  return make(schedule_config{std::move(zone), std::move(slots), std::move(exceptions)});
}

std::error_code refuse(const schedule_config& c, schedule_problem& p) {
  std::shared_ptr<const schedule> s;
  auto ec = schedule::create(c, s, p);
  EXPECT_TRUE(ec);
  EXPECT_EQ(s, nullptr);
  return ec;
}

std::error_code refuse(std::vector<weekly_slot> slots, std::vector<dated_exception> exceptions = {}) {
  schedule_problem p;
  return refuse(schedule_config{"Europe/Paris", std::move(slots), std::move(exceptions)}, p);
}

on_call_window w(unix_ms start, unix_ms end) { return {start, end}; }

const std::vector<weekday> weekdays{wd::mon, wd::tue, wd::wed, wd::thu, wd::fri};
const std::vector<weekday> every_day{wd::mon, wd::tue, wd::wed, wd::thu, wd::fri, wd::sat, wd::sun};

// ---------------------------------------------------------------- boundaries, split shifts

TEST(Schedule, SplitShiftBoundariesAreHalfOpen) {
  auto s = make({slot(weekdays, at(9), at(12, 30)), slot(weekdays, at(14), at(17, 30))});
  EXPECT_FALSE(s->empty());
  EXPECT_EQ(s->time_zone(), "Europe/Paris");
  // Monday 12 January 2026, winter time.
  const auto morning = w(cet(2026, 1, 12, 9), cet(2026, 1, 12, 12, 30));
  EXPECT_EQ(s->window_at("camille", cet(2026, 1, 12, 9)), morning);
  EXPECT_EQ(s->window_at("camille", cet(2026, 1, 12, 12, 30) - 1), morning);
  EXPECT_FALSE(s->window_at("camille", cet(2026, 1, 12, 9) - 1));
  EXPECT_FALSE(s->window_at("camille", cet(2026, 1, 12, 12, 30)));
  EXPECT_FALSE(s->window_at("camille", cet(2026, 1, 12, 13)));
  EXPECT_EQ(s->window_at("camille", cet(2026, 1, 12, 14)), w(cet(2026, 1, 12, 14), cet(2026, 1, 12, 17, 30)));
  // Next window: strictly after; the one running now is window_at's.
  EXPECT_EQ(s->next_window("camille", cet(2026, 1, 12, 10)), w(cet(2026, 1, 12, 14), cet(2026, 1, 12, 17, 30)));
  EXPECT_EQ(s->next_window("camille", cet(2026, 1, 12, 9)), w(cet(2026, 1, 12, 14), cet(2026, 1, 12, 17, 30)));
  EXPECT_EQ(s->next_window("camille", cet(2026, 1, 12, 9) - 1), morning);
  EXPECT_EQ(s->next_opening(cet(2026, 1, 12, 12, 45)), cet(2026, 1, 12, 14));
  // Friday evening: next opening is Monday morning.
  EXPECT_EQ(s->next_opening(cet(2026, 1, 16, 18)), cet(2026, 1, 19, 9));
  EXPECT_EQ(s->next_window("camille", cet(2026, 1, 16, 18)), w(cet(2026, 1, 19, 9), cet(2026, 1, 19, 12, 30)));
  EXPECT_EQ(s->any_window_at(cet(2026, 1, 12, 11)), morning);
  EXPECT_FALSE(s->any_window_at(cet(2026, 1, 17, 11)));  // Saturday
}

TEST(Schedule, SlotPastMidnightBelongsToItsStartDay) {
  auto s = make({slot({wd::fri}, at(21), at(2))});
  // Friday 16 January 2026, 21:00 to Saturday 02:00.
  const auto night = w(cet(2026, 1, 16, 21), cet(2026, 1, 17, 2));
  EXPECT_EQ(s->window_at("alex", cet(2026, 1, 16, 21)), night);
  EXPECT_EQ(s->window_at("alex", cet(2026, 1, 17, 1, 59)), night);
  EXPECT_FALSE(s->window_at("alex", cet(2026, 1, 17, 2)));
  EXPECT_FALSE(s->window_at("alex", cet(2026, 1, 16, 1)));  // Friday early morning: Thursday has no slot
  EXPECT_EQ(s->next_opening(cet(2026, 1, 17, 3)), cet(2026, 1, 23, 21));
}

TEST(Schedule, SundayNightRunsIntoMonday) {
  auto s = make({slot({wd::sun}, at(21), at(2))});
  // Sunday 18 January to Monday 19 January 2026: across the week boundary.
  EXPECT_EQ(s->window_at("alex", cet(2026, 1, 19, 1, 30)), w(cet(2026, 1, 18, 21), cet(2026, 1, 19, 2)));
  EXPECT_FALSE(s->window_at("alex", cet(2026, 1, 19, 21)));
  EXPECT_EQ(s->next_opening(cet(2026, 1, 19, 3)), cet(2026, 1, 25, 21));
}

TEST(Schedule, ChainedSlotsMergeIntoOneWindow) {
  // 22:00-24:00 (written 00:00) on Monday then 00:00-02:00 on Tuesday: one window.
  auto s = make({slot({wd::mon}, at(22), at(0)), slot({wd::tue}, at(0), at(2))});
  const auto chain = w(cet(2026, 1, 12, 22), cet(2026, 1, 13, 2));
  EXPECT_EQ(s->window_at("alex", cet(2026, 1, 12, 23)), chain);
  EXPECT_EQ(s->window_at("alex", cet(2026, 1, 13, 1)), chain);
  EXPECT_EQ(s->next_window("alex", cet(2026, 1, 12, 12)), chain);
  // The Tuesday part is a continuation, not a new window or a new opening.
  EXPECT_EQ(s->next_window("alex", cet(2026, 1, 12, 23)), w(cet(2026, 1, 19, 22), cet(2026, 1, 20, 2)));
  EXPECT_EQ(s->next_opening(cet(2026, 1, 12, 23)), cet(2026, 1, 19, 22));
  // 24:00 written as 1440 and a split shift that touches (9-12, 12-14) merge the same way.
  auto t = make({slot({wd::mon}, at(22), at(24)), slot({wd::tue}, at(0), at(2)), slot({wd::wed}, at(9), at(12)),
                 slot({wd::wed}, at(12), at(14))});
  EXPECT_EQ(t->window_at("alex", cet(2026, 1, 13, 0)), chain);
  EXPECT_EQ(t->window_at("alex", cet(2026, 1, 14, 12)), w(cet(2026, 1, 14, 9), cet(2026, 1, 14, 14)));
}

TEST(Schedule, WholeDaySlotsChainUpToTheHorizon) {
  auto s = make({slot(every_day, at(0), at(24))});
  const auto now = cet(2026, 1, 14, 12);
  auto win = s->window_at("alex", now);
  ASSERT_TRUE(win);
  EXPECT_LE(win->start, now - 399 * 24 * hour);
  EXPECT_GE(win->end, now + 399 * 24 * hour);
  EXPECT_FALSE(s->next_opening(now));  // never closes within the horizon
}

TEST(Schedule, NothingBeyondTheHorizon) {
  const auto from = cet(2026, 1, 1, 12);
  auto near = make({}, {added_on(2027, 1, 20, at(9), at(10))});  // 384 days later
  EXPECT_EQ(near->next_opening(from), cet(2027, 1, 20, 9));
  auto far = make({}, {added_on(2027, 3, 1, at(9), at(10))});  // 424 days later
  EXPECT_FALSE(far->next_opening(from));
  EXPECT_FALSE(far->next_window("alex", from));
}

TEST(Schedule, QueriesOutsideTheSupportedYearsFindNothing) {
  auto s = make({slot(every_day, at(9), at(17))});
  EXPECT_FALSE(s->window_at("alex", std::numeric_limits<unix_ms>::max()));
  EXPECT_FALSE(s->next_window("alex", std::numeric_limits<unix_ms>::min()));
  EXPECT_FALSE(s->next_opening(std::numeric_limits<unix_ms>::max()));
}

// ---------------------------------------------------------------- exceptions

TEST(Schedule, ClosedDayRemovesItsSlots) {
  // Easter Monday 6 April 2026 closed; the line opens on Mondays only.
  auto s = make({slot({wd::mon}, at(9), at(12))}, {closed_on(2026, 4, 6)});
  EXPECT_FALSE(s->window_at("alex", cest(2026, 4, 6, 10)));
  EXPECT_EQ(s->next_opening(cest(2026, 4, 4, 10)), cest(2026, 4, 13, 9));
  EXPECT_EQ(s->window_at("alex", cest(2026, 3, 30, 10)), w(cest(2026, 3, 30, 9), cest(2026, 3, 30, 12)));
}

TEST(Schedule, ClosingADayKeepsThePreviousNightsSlot) {
  // Sunday 21:00-02:00 still runs into a closed Monday: it belongs to Sunday.
  auto s = make({slot({wd::sun}, at(21), at(2)), slot({wd::mon}, at(9), at(12))}, {closed_on(2026, 1, 19)});
  EXPECT_TRUE(s->window_at("alex", cet(2026, 1, 19, 1)));
  EXPECT_FALSE(s->window_at("alex", cet(2026, 1, 19, 10)));
  // Closing the Sunday removes its night.
  auto t = make({slot({wd::sun}, at(21), at(2))}, {closed_on(2026, 1, 18)});
  EXPECT_FALSE(t->window_at("alex", cet(2026, 1, 19, 1)));
  EXPECT_FALSE(t->window_at("alex", cet(2026, 1, 18, 22)));
}

TEST(Schedule, NextOpeningAcrossAClosedWeek) {
  // Christmas week 2026: Monday 21 to Friday 25 December closed.
  std::vector<dated_exception> closures;
  for (int d = 21; d <= 25; ++d) closures.push_back(closed_on(2026, 12, d));
  auto s = make({slot(weekdays, at(9), at(17))}, closures);
  EXPECT_EQ(s->next_opening(cet(2026, 12, 18, 18)), cet(2026, 12, 28, 9));
  EXPECT_EQ(s->next_window("camille", cet(2026, 12, 18, 18)), w(cet(2026, 12, 28, 9), cet(2026, 12, 28, 17)));
  EXPECT_FALSE(s->window_at("camille", cet(2026, 12, 23, 10)));
}

TEST(Schedule, AddedSlotOpensAClosedDay) {
  // Saturday 10 January 2026: one-off extra slot for camille only.
  auto s = make({slot(weekdays, at(9), at(17))}, {added_on(2026, 1, 10, at(10), at(12), {"camille"})});
  const auto extra = w(cet(2026, 1, 10, 10), cet(2026, 1, 10, 12));
  EXPECT_EQ(s->window_at("camille", cet(2026, 1, 10, 11)), extra);
  EXPECT_FALSE(s->window_at("alex", cet(2026, 1, 10, 11)));
  EXPECT_EQ(s->any_window_at(cet(2026, 1, 10, 11)), extra);
  EXPECT_EQ(s->next_opening(cet(2026, 1, 9, 18)), cet(2026, 1, 10, 10));
  EXPECT_EQ(s->next_window("alex", cet(2026, 1, 9, 18)), w(cet(2026, 1, 12, 9), cet(2026, 1, 12, 17)));
}

TEST(Schedule, ClosedDayWithAnAddedSlotReplacesTheDaysHours) {
  // 24 December 2026 (Thursday): closed, then open 9:00-12:00 only.
  auto s = make({slot(weekdays, at(9), at(17))},
                {closed_on(2026, 12, 24), added_on(2026, 12, 24, at(9), at(12))});
  EXPECT_EQ(s->window_at("alex", cet(2026, 12, 24, 10)), w(cet(2026, 12, 24, 9), cet(2026, 12, 24, 12)));
  EXPECT_FALSE(s->window_at("alex", cet(2026, 12, 24, 14)));
}

TEST(Schedule, OnlyClosuresIsEmpty) {
  auto s = make({}, {closed_on(2026, 12, 25)});
  EXPECT_TRUE(s->empty());
  EXPECT_FALSE(s->next_opening(cet(2026, 1, 1)));
}

// ---------------------------------------------------------------- per worker

TEST(Schedule, PerWorkerSlots) {
  auto s = make({slot({wd::mon}, at(9), at(12), {"camille"}), slot({wd::mon}, at(9), at(12), {"alex"}),
                 slot({wd::mon}, at(14), at(18), {"alex", "sam"}), slot({wd::tue}, at(9), at(12))});
  const auto mon_morning = w(cet(2026, 1, 12, 9), cet(2026, 1, 12, 12));
  EXPECT_EQ(s->window_at("camille", cet(2026, 1, 12, 10)), mon_morning);
  EXPECT_EQ(s->window_at("alex", cet(2026, 1, 12, 10)), mon_morning);
  EXPECT_FALSE(s->window_at("sam", cet(2026, 1, 12, 10)));
  EXPECT_FALSE(s->window_at("camille", cet(2026, 1, 12, 15)));
  EXPECT_TRUE(s->window_at("sam", cet(2026, 1, 12, 15)));
  // The Tuesday slot names nobody: every worker, whatever her name.
  EXPECT_TRUE(s->window_at("someone-else", cet(2026, 1, 13, 10)));
  EXPECT_EQ(s->next_window("sam", cet(2026, 1, 12, 10)), w(cet(2026, 1, 12, 14), cet(2026, 1, 12, 18)));
  EXPECT_EQ(s->next_window("camille", cet(2026, 1, 12, 10)), w(cet(2026, 1, 13, 9), cet(2026, 1, 13, 12)));
  EXPECT_EQ(s->named_workers(), (std::vector<std::string>{"alex", "camille", "sam"}));
}

TEST(Schedule, WorkersOfDifferentSlotsDoNotMerge) {
  // camille 9-12 then alex 12-15: the permanence stays open 9-15, each worker has her own window.
  auto s = make({slot({wd::mon}, at(9), at(12), {"camille"}), slot({wd::mon}, at(12), at(15), {"alex"})});
  EXPECT_EQ(s->window_at("camille", cet(2026, 1, 12, 10)), w(cet(2026, 1, 12, 9), cet(2026, 1, 12, 12)));
  EXPECT_EQ(s->any_window_at(cet(2026, 1, 12, 10)), w(cet(2026, 1, 12, 9), cet(2026, 1, 12, 15)));
  EXPECT_EQ(s->next_opening(cet(2026, 1, 12, 10)), cet(2026, 1, 19, 9));
}

// ---------------------------------------------------------------- daylight-saving changes

TEST(Schedule, SpringForwardInParis) {
  // Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
  auto s = make({slot({wd::sun}, at(1, 30), at(3, 30), {"camille"}), slot({wd::sun}, at(2, 30), at(5), {"alex"}),
                 slot({wd::sun}, at(2, 10), at(2, 50), {"sam"})});
  // 01:30 CET to 03:30 CEST: one hour, not two.
  auto c = s->window_at("camille", cet(2026, 3, 29, 1, 45));
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, w(cet(2026, 3, 29, 1, 30), cest(2026, 3, 29, 3, 30)));
  EXPECT_EQ(c->end - c->start, hour);
  EXPECT_EQ(c->start, utc(2026, 3, 29, 0, 30));
  // 02:30 does not exist that night: the slot starts at the change, 03:00 CEST.
  auto a = s->next_window("alex", cet(2026, 3, 29, 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->start, cest(2026, 3, 29, 3));
  EXPECT_EQ(a->start, utc(2026, 3, 29, 1));
  EXPECT_EQ(a->end, cest(2026, 3, 29, 5));
  EXPECT_FALSE(s->window_at("alex", utc(2026, 3, 29, 1) - 1));
  // 02:10-02:50 lies entirely in the gap: nothing that night, the next one a week later (CEST).
  EXPECT_EQ(s->next_window("sam", cet(2026, 3, 29, 0)), w(cest(2026, 4, 5, 2, 10), cest(2026, 4, 5, 2, 50)));
  // The week before, in winter time, the same slots last their full length.
  EXPECT_EQ(s->window_at("camille", cet(2026, 3, 22, 2)), w(cet(2026, 3, 22, 1, 30), cet(2026, 3, 22, 3, 30)));
}

TEST(Schedule, FallBackInParis) {
  // Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-03:00 happens twice.
  auto s = make({slot({wd::sun}, at(1), at(4), {"camille"}), slot({wd::sun}, at(2, 30), at(3, 30), {"alex"})});
  auto c = s->window_at("camille", cest(2026, 10, 25, 1, 30));
  ASSERT_TRUE(c);
  // 01:00 CEST to 04:00 CET: four hours of absolute time.
  EXPECT_EQ(*c, w(cest(2026, 10, 25, 1), cet(2026, 10, 25, 4)));
  EXPECT_EQ(c->end - c->start, 4 * hour);
  EXPECT_EQ(c->start, utc(2026, 10, 24, 23));
  // Still on call during the repeated hour's second pass (02:30 CET).
  EXPECT_EQ(s->window_at("camille", cet(2026, 10, 25, 2, 30)), c);
  // 02:30 is ambiguous: the first occurrence (CEST) starts; 03:30 exists once (CET).
  auto a = s->next_window("alex", cest(2026, 10, 25, 0));
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, w(cest(2026, 10, 25, 2, 30), cet(2026, 10, 25, 3, 30)));
  EXPECT_EQ(a->end - a->start, 2 * hour);
}

TEST(Schedule, DaylightSavingInBrussels) {
  auto s = make({slot({wd::sun}, at(1, 30), at(3, 30)), slot(weekdays, at(9), at(17))}, {}, "Europe/Brussels");
  EXPECT_EQ(s->time_zone(), "Europe/Brussels");
  EXPECT_EQ(s->window_at("alex", cet(2026, 3, 29, 1, 45)), w(cet(2026, 3, 29, 1, 30), cest(2026, 3, 29, 3, 30)));
  EXPECT_EQ(s->window_at("alex", cest(2026, 10, 25, 1, 45)), w(cest(2026, 10, 25, 1, 30), cet(2026, 10, 25, 3, 30)));
  // Monday after each change: 9:00 local is 08:00 UTC in winter, 07:00 UTC in summer.
  EXPECT_EQ(s->next_opening(cest(2026, 3, 29, 12)), utc(2026, 3, 30, 7));
  EXPECT_EQ(s->next_opening(cet(2026, 10, 25, 12)), utc(2026, 10, 26, 8));
}

TEST(Schedule, SlotAcrossMidnightOnAChangeNight) {
  // Saturday 21:00 to Sunday 04:00 over the spring-forward night: 6 hours instead of 7.
  auto s = make({slot({wd::sat}, at(21), at(4))});
  auto n = s->window_at("alex", cet(2026, 3, 28, 23));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, w(cet(2026, 3, 28, 21), cest(2026, 3, 29, 4)));
  EXPECT_EQ(n->end - n->start, 6 * hour);
  // And over the fall-back night: 8 hours.
  auto f = s->window_at("alex", cest(2026, 10, 24, 23));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->end - f->start, 8 * hour);
}

// ---------------------------------------------------------------- validation

TEST(ScheduleCreate, UnknownTimeZone) {
  for (const char* zone : {"Europe/Pariss", "", "Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC",
                           "localtime", "Europe/Paris\n"}) {
    schedule_problem p;
    EXPECT_EQ(refuse(schedule_config{zone, {}, {}}, p), schedule_errc::unknown_time_zone) << zone;
    EXPECT_FALSE(p.subject);
  }
  std::shared_ptr<const schedule> s;
  EXPECT_FALSE(schedule::create(schedule_config{"UTC", {}, {}}, s));
  EXPECT_FALSE(schedule::create(schedule_config{"America/Port-au-Prince", {}, {}}, s));
}

TEST(ScheduleCreate, EmptySlot) {
  schedule_problem p;
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {slot({wd::mon}, at(9), at(12)), slot({wd::mon}, at(14), at(14))}, {}}, p),
            schedule_errc::empty_slot);
  ASSERT_TRUE(p.subject);
  EXPECT_FALSE(p.subject->exception);
  EXPECT_EQ(p.subject->index, 1u);
  EXPECT_EQ(refuse({slot({wd::mon}, at(0), at(0))}), schedule_errc::empty_slot);
  EXPECT_EQ(refuse({}, {added_on(2026, 5, 1, at(9), at(9))}), schedule_errc::empty_slot);
}

TEST(ScheduleCreate, BadTime) {
  EXPECT_EQ(refuse({slot({wd::mon}, {-1}, at(12))}), schedule_errc::bad_time);
  EXPECT_EQ(refuse({slot({wd::mon}, at(24), at(2))}), schedule_errc::bad_time);
  EXPECT_EQ(refuse({slot({wd::mon}, at(9), {1441})}), schedule_errc::bad_time);
  EXPECT_EQ(refuse({slot({wd::mon}, at(9), {-5})}), schedule_errc::bad_time);
  schedule_problem p;
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {}, {closed_on(2026, 5, 1), added_on(2026, 5, 2, at(9), at(25))}}, p),
            schedule_errc::bad_time);
  ASSERT_TRUE(p.subject);
  EXPECT_TRUE(p.subject->exception);
  EXPECT_EQ(p.subject->index, 1u);
}

TEST(ScheduleCreate, BadDate) {
  EXPECT_EQ(refuse({}, {closed_on(2026, 2, 29)}), schedule_errc::bad_date);  // 2026 is not a leap year
  EXPECT_EQ(refuse({}, {closed_on(2026, 4, 31)}), schedule_errc::bad_date);
  EXPECT_EQ(refuse({}, {closed_on(2026, 13, 1)}), schedule_errc::bad_date);
  EXPECT_EQ(refuse({}, {closed_on(2026, 0, 10)}), schedule_errc::bad_date);
  EXPECT_EQ(refuse({}, {closed_on(2026, 1, 0)}), schedule_errc::bad_date);
  EXPECT_EQ(refuse({}, {added_on(1899, 12, 31, at(9), at(10))}), schedule_errc::bad_date);
  EXPECT_EQ(refuse({}, {closed_on(10000, 1, 1)}), schedule_errc::bad_date);
  auto s = make({}, {closed_on(2028, 2, 29)});  // a leap year
  EXPECT_TRUE(s->empty());
}

TEST(ScheduleCreate, NoDaysAndBadDay) {
  schedule_problem p;
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {slot({}, at(9), at(12))}, {}}, p), schedule_errc::no_days);
  ASSERT_TRUE(p.subject);
  EXPECT_EQ(p.subject->index, 0u);
  EXPECT_EQ(refuse({slot({static_cast<weekday>(7)}, at(9), at(12))}), schedule_errc::bad_day);
  // A day listed twice counts once: not an overlap with itself.
  auto s = make({slot({wd::mon, wd::mon}, at(9), at(12))});
  EXPECT_TRUE(s->window_at("alex", cet(2026, 1, 12, 10)));
}

TEST(ScheduleCreate, TooManyEntries) {
  std::vector<weekly_slot> slots(limits::max_schedule_slots + 1, slot({wd::mon}, at(9), at(10), {"x"}));
  EXPECT_EQ(refuse(slots), schedule_errc::too_many_entries);
  std::vector<dated_exception> exceptions(limits::max_schedule_exceptions + 1, closed_on(2026, 1, 1));
  EXPECT_EQ(refuse({}, exceptions), schedule_errc::too_many_entries);
}

TEST(ScheduleCreate, OverlappingSlotsOfOneWorker) {
  schedule_problem p;
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris",
                                   {slot({wd::tue}, at(9), at(12), {"alex"}), slot({wd::mon}, at(9), at(12), {"camille"}),
                                    slot({wd::mon, wd::fri}, at(11), at(13), {"sam", "camille"})},
                                   {}},
                   p),
            schedule_errc::overlapping_slots);
  ASSERT_TRUE(p.subject && p.other);
  EXPECT_EQ(p.subject->index, 2u);
  EXPECT_EQ(p.other->index, 1u);
  EXPECT_FALSE(p.other->exception);
  EXPECT_EQ(p.worker, "camille");
  EXPECT_FALSE(p.date);
}

TEST(ScheduleCreate, EveryWorkerSlotOverlapsAnyOther) {
  schedule_problem p;
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {slot({wd::mon}, at(9), at(12)), slot({wd::mon}, at(10), at(11), {"alex"})}, {}},
                   p),
            schedule_errc::overlapping_slots);
  EXPECT_EQ(p.worker, "alex");
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {slot({wd::mon}, at(9), at(12)), slot(weekdays, at(11), at(13))}, {}}, p),
            schedule_errc::overlapping_slots);
  EXPECT_EQ(p.worker, "");
  // Touching is not overlapping; other workers' slots may overlap freely.
  make({slot({wd::mon}, at(9), at(12)), slot({wd::mon}, at(12), at(13))});
  make({slot({wd::mon}, at(9), at(12), {"alex"}), slot({wd::mon}, at(9), at(12), {"camille"})});
}

TEST(ScheduleCreate, OverlapPastMidnightAndAcrossTheWeek) {
  // Monday 21:00-02:00 meets Tuesday 01:00-03:00.
  EXPECT_EQ(refuse({slot({wd::mon}, at(21), at(2)), slot({wd::tue}, at(1), at(3))}), schedule_errc::overlapping_slots);
  // Sunday 23:00-01:00 meets Monday 00:30-03:00 (the week wraps).
  EXPECT_EQ(refuse({slot({wd::mon}, at(0), at(3)), slot({wd::sun}, at(23), at(1))}), schedule_errc::overlapping_slots);
  // ...but not Monday 01:00-03:00, and whole days chain without overlapping.
  make({slot({wd::mon}, at(1), at(3)), slot({wd::sun}, at(23), at(1))});
  make({slot(every_day, at(0), at(24))});
}

TEST(ScheduleCreate, AddedSlotAgainstTheWeeklySlotsOfItsDate) {
  schedule_problem p;
  // Monday 12 January 2026 has 9-12 weekly; an extra 11-13 overlaps it.
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {slot({wd::mon}, at(9), at(12))}, {closed_on(2026, 1, 1),
                                                                                     added_on(2026, 1, 12, at(11), at(13), {"camille"})}},
                   p),
            schedule_errc::overlapping_slots);
  ASSERT_TRUE(p.subject && p.other && p.date);
  EXPECT_TRUE(p.subject->exception);
  EXPECT_EQ(p.subject->index, 1u);
  EXPECT_FALSE(p.other->exception);
  EXPECT_EQ(p.other->index, 0u);
  EXPECT_EQ(p.worker, "camille");
  EXPECT_EQ(p.date->day, 12);
  // Sunday night's slot runs into Monday 12 January morning.
  EXPECT_EQ(refuse({slot({wd::sun}, at(22), at(3))}, {added_on(2026, 1, 12, at(2), at(4))}),
            schedule_errc::overlapping_slots);
  // An added slot past midnight meets the next day's weekly slot.
  EXPECT_EQ(refuse({slot({wd::tue}, at(0), at(3))}, {added_on(2026, 1, 12, at(22), at(1))}),
            schedule_errc::overlapping_slots);
  // The date closed: its weekly slots are gone, nothing to overlap.
  make({slot({wd::mon}, at(9), at(12))}, {closed_on(2026, 1, 12), added_on(2026, 1, 12, at(11), at(13))});
  // Another date, another worker: fine.
  make({slot({wd::mon}, at(9), at(12), {"alex"})},
       {added_on(2026, 1, 13, at(11), at(13)), added_on(2026, 1, 12, at(11), at(13), {"camille"})});
}

TEST(ScheduleCreate, AddedSlotsAgainstEachOther) {
  schedule_problem p;
  EXPECT_EQ(refuse(schedule_config{"Europe/Paris", {},
                                   {added_on(2026, 5, 1, at(22), at(2), {"alex"}), added_on(2026, 5, 2, at(1), at(3), {"alex"})}},
                   p),
            schedule_errc::overlapping_slots);
  ASSERT_TRUE(p.subject && p.other);
  EXPECT_EQ(p.subject->index, 1u);
  EXPECT_TRUE(p.other->exception);
  EXPECT_EQ(p.other->index, 0u);
  EXPECT_EQ(p.date->month, 5);
  EXPECT_EQ(p.date->day, 2);
  make({}, {added_on(2026, 5, 1, at(22), at(2), {"alex"}), added_on(2026, 5, 2, at(2), at(3), {"alex"})});
}

TEST(ScheduleCreate, ErrorCategory) {
  const std::error_code ec = schedule_errc::overlapping_slots;
  EXPECT_STREQ(ec.category().name(), "relais.schedule");
  EXPECT_EQ(ec.message(), "slots of the same worker overlap");
  EXPECT_EQ(make_error_code(schedule_errc::unknown_time_zone).message(), "unknown time zone (not in the system's tzdata)");
  EXPECT_EQ(std::error_code(99, schedule_category()).message(), "unknown schedule error");
}

TEST(ScheduleNone, IsEmptyAndClosed) {
  auto s = schedule::none();
  EXPECT_TRUE(s->empty());
  EXPECT_FALSE(s->window_at("alex", cet(2026, 1, 12, 10)));
  EXPECT_FALSE(s->next_window("alex", cet(2026, 1, 12, 10)));
  EXPECT_FALSE(s->next_opening(cet(2026, 1, 12, 10)));
  EXPECT_FALSE(s->any_window_at(cet(2026, 1, 12, 10)));
  EXPECT_TRUE(s->named_workers().empty());
}

}  // namespace
}  // namespace relais::core
