#include "relais/app/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "relais/core/schedule.hpp"
#include "relais/log/log.hpp"
#include "relais/protocol/base64url.hpp"
#include "relais/protocol/limits.hpp"

namespace relais::app {
namespace {

using key_set = std::set<std::string, std::less<>>;

// The keys each table accepts; anything else is an error (a typo must not pass silently).
const std::map<std::string, key_set, std::less<>>& known_keys() {
  static const std::map<std::string, key_set, std::less<>> keys{
      {"server",
       {"listen", "plain_listen", "data_dir", "web_root", "public_url", "threads", "max_connections",
        "allowed_origins"}},
      {"tls", {"certificate", "private_key", "hsts_max_age_seconds"}},
      {"limits",
       {"max_message_bytes", "max_http_header_bytes", "outbound_queue_bytes", "outbound_queue_messages",
        "tls_handshake_timeout_seconds", "http_idle_timeout_seconds", "ws_idle_timeout_seconds",
        "shutdown_timeout_seconds", "auth_timeout_seconds", "max_errors_per_minute", "messages_per_second",
        "messages_burst", "logins_per_minute_per_address", "queue_joins_per_minute_per_address",
        "backup_gets_per_minute_per_address", "authentications_per_minute_per_address"}},
      {"auth", {"totp_required", "session_days", "max_failed_logins", "lockout_minutes", "totp_issuer"}},
      {"org", {"public_key"}},
      {"log", {"level"}},
      {"store",
       {"path", "synchronous", "allow_unsafe_durability", "retention_days", "purge_interval_minutes",
        "max_queued_writes", "max_queued_reads", "reader_threads", "busy_timeout_ms", "quick_check_on_open"}},
      {"permanence",
       {"time_zone", "country", "show_workers_on_call", "queue_max", "grace_seconds", "long_wait_minutes",
        "wait_limit_minutes", "closing_notice_minutes", "default_handling_minutes", "shift_end_handover",
        "close_sessions_at_shift_end", "auto_assign", "default_capacity", "contribution_url", "slot", "exception",
        "emergency"}},
  };
  return keys;
}

/// Reads typed values out of one table, remembering the first error.
class reader {
 public:
  reader(std::string file, std::string table, const toml::table* t, std::string& error, std::string entry = {})
      : file_(std::move(file)), table_(std::move(table)), entry_(std::move(entry)), t_(t), error_(error) {}

  template <typename Int>
  void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    auto* node = find(key);
    if (node == nullptr) return;
    auto v = node->value<std::int64_t>();
    if (!node->is_integer() || !v) return fail(key, "must be an integer");
    if (*v < min || *v > max) {
      return fail(key, "is " + std::to_string(*v) + ", must be between " + std::to_string(min) + " and " +
                           std::to_string(max));
    }
    out = static_cast<Int>(*v);
  }
  void boolean(std::string_view key, bool& out) {
    auto* node = find(key);
    if (node == nullptr) return;
    if (!node->is_boolean()) return fail(key, "must be true or false");
    out = *node->value<bool>();
  }
  void string(std::string_view key, std::string& out) {
    auto* node = find(key);
    if (node == nullptr) return;
    if (!node->is_string()) return fail(key, "must be a string");
    out = *node->value<std::string>();
  }
  void path(std::string_view key, std::filesystem::path& out) {
    std::string s;
    bool had = find(key) != nullptr;
    string(key, s);
    if (had && error_.empty()) out = s;
  }
  void string_list(std::string_view key, std::vector<std::string>& out) {
    auto* node = find(key);
    if (node == nullptr) return;
    auto* arr = node->as_array();
    if (arr == nullptr) return fail(key, "must be an array of strings");
    std::vector<std::string> values;
    for (const auto& item : *arr) {
      if (!item.is_string()) return fail(key, "must be an array of strings");
      values.push_back(*item.value<std::string>());
    }
    out = std::move(values);
  }
  void fail(std::string_view key, const std::string& what) {
    if (error_.empty()) error_ = prefix() + std::string(key) + " " + what;
  }
  /// An error about the whole entry of an array of tables ("#2: overlaps slot #1").
  void fail_entry(const std::string& what) {
    if (error_.empty()) error_ = prefix() + what;
  }
  [[nodiscard]] const toml::node* find(std::string_view key) const { return t_ ? t_->get(key) : nullptr; }
  [[nodiscard]] bool ok() const { return error_.empty(); }

 private:
  // "relais.toml: [permanence.slot] #2: " for an entry of an array of tables.
  [[nodiscard]] std::string prefix() const {
    return file_ + ": [" + table_ + "] " + (entry_.empty() ? std::string() : entry_ + ": ");
  }

  std::string file_;
  std::string table_;
  std::string entry_;
  const toml::table* t_;
  std::string& error_;
};

// ---------------------------------------------------------------- [permanence]

// Keys of each entry of the permanence's arrays of tables.
const key_set slot_keys{"days", "start", "end", "workers"};
const key_set exception_keys{"date", "closed", "start", "end", "workers"};
const key_set emergency_keys{"number", "label_fr", "label_en", "sms"};

[[nodiscard]] bool has_control_character(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
}

// The account rule of relais_auth (1-64 bytes of a-z 0-9 . _ -), so that a slot can only
// name a worker `relaisd user add` could have created.
[[nodiscard]] bool plausible_username(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
  });
}

[[nodiscard]] std::string two_digits(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

[[nodiscard]] std::string date_text(const core::local_date& d) {
  return std::to_string(d.year) + "-" + two_digits(d.month) + "-" + two_digits(d.day);
}

/// "HH:MM" (or a TOML local time on the minute) to minutes after midnight; "24:00" only
/// when `end`.
[[nodiscard]] std::optional<int> parse_clock(const toml::node& node, bool end) {
  if (auto t = node.value<toml::time>(); t && node.is_time()) {
    if (t->second != 0 || t->nanosecond != 0) return std::nullopt;
    return t->hour * 60 + t->minute;
  }
  auto text = node.value<std::string>();
  if (!node.is_string() || !text || text->size() != 5 || (*text)[2] != ':') return std::nullopt;
  const auto digit = [&](std::size_t i) { return (*text)[i] >= '0' && (*text)[i] <= '9'; };
  if (!digit(0) || !digit(1) || !digit(3) || !digit(4)) return std::nullopt;
  const int h = ((*text)[0] - '0') * 10 + ((*text)[1] - '0');
  const int m = ((*text)[3] - '0') * 10 + ((*text)[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && (!end || m != 0))) return std::nullopt;
  return h * 60 + m;
}

/// "YYYY-MM-DD" (or a TOML local date); whether the date exists is the schedule's check.
[[nodiscard]] std::optional<core::local_date> parse_date(const toml::node& node) {
  if (auto d = node.value<toml::date>(); d && node.is_date()) return core::local_date{d->year, d->month, d->day};
  auto text = node.value<std::string>();
  if (!node.is_string() || !text || text->size() != 10 || (*text)[4] != '-' || (*text)[7] != '-') return std::nullopt;
  for (std::size_t i = 0; i < text->size(); ++i) {
    if (i != 4 && i != 7 && ((*text)[i] < '0' || (*text)[i] > '9')) return std::nullopt;
  }
  return core::local_date{std::stoi(text->substr(0, 4)), std::stoi(text->substr(5, 2)), std::stoi(text->substr(8, 2))};
}

/// Adds the days a `days` entry names: mon..sun, or weekdays, weekend, daily.
[[nodiscard]] bool add_days(std::string_view name, std::vector<core::weekday>& out) {
  using core::weekday;
  static const std::map<std::string, std::vector<weekday>, std::less<>> names{
      {"mon", {weekday::mon}},
      {"tue", {weekday::tue}},
      {"wed", {weekday::wed}},
      {"thu", {weekday::thu}},
      {"fri", {weekday::fri}},
      {"sat", {weekday::sat}},
      {"sun", {weekday::sun}},
      {"weekdays", {weekday::mon, weekday::tue, weekday::wed, weekday::thu, weekday::fri}},
      {"weekend", {weekday::sat, weekday::sun}},
      {"daily",
       {weekday::mon, weekday::tue, weekday::wed, weekday::thu, weekday::fri, weekday::sat, weekday::sun}},
  };
  auto it = names.find(name);
  if (it == names.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

/// Runs `each(reader, index)` over the entries of [[permanence.NAME]], after checking that it
/// is an array of tables whose keys are all known.
template <typename Each>
void for_each_entry(const std::string& file, const toml::table& permanence, const std::string& name,
                    const key_set& keys, std::string& error, Each each) {
  const auto* node = permanence.get(name);
  if (node == nullptr || !error.empty()) return;
  const auto* array = node->as_array();
  if (array != nullptr && array->empty()) return;  // "slot = []": none, as when absent
  if (array == nullptr || !array->is_array_of_tables()) {
    reader(file, "permanence", &permanence, error).fail(name, "must be an array of tables ([[permanence." + name + "]])");
    return;
  }
  for (std::size_t i = 0; i < array->size() && error.empty(); ++i) {
    const auto* table = array->get(i)->as_table();
    reader r(file, "permanence." + name, table, error, "#" + std::to_string(i + 1));
    for (const auto& [key, value] : *table) {
      if (!keys.contains(key.str())) {
        r.fail_entry("unknown key " + std::string(key.str()));
        return;
      }
    }
    each(r, i);
  }
}

/// The usernames of a slot: optional, each a plausible account name.
void read_workers(reader& r, std::vector<std::string>& out) {
  r.string_list("workers", out);
  for (const auto& w : out) {
    if (r.ok() && !plausible_username(w)) {
      r.fail("workers", "entry '" + w + "' is not a username (1-64 bytes of a-z 0-9 . _ -)");
    }
  }
}

/// A slot's or an added slot's start and end.
void read_times(reader& r, bool required, core::local_time& start, core::local_time& end) {
  for (const bool is_end : {false, true}) {
    const std::string_view key = is_end ? "end" : "start";
    const auto* node = r.find(key);
    if (node == nullptr) {
      if (required) r.fail(key, "is missing");
      continue;
    }
    auto minutes = parse_clock(*node, is_end);
    if (!minutes) {
      r.fail(key, is_end ? "must be a time \"HH:MM\" from 00:00 to 24:00" : "must be a time \"HH:MM\" from 00:00 to 23:59");
      continue;
    }
    (is_end ? end : start).minutes = *minutes;
  }
}

/// Says what schedule::create refused, naming the entry.
[[nodiscard]] std::string describe(const std::string& file, const core::schedule_config& sc, std::error_code ec,
                                   const core::schedule_problem& p) {
  using core::schedule_errc;
  if (ec == schedule_errc::unknown_time_zone) {
    return file + ": [permanence] time_zone '" + sc.time_zone +
           "' is not a time zone of this system's tzdata (/usr/share/zoneinfo), e.g. Europe/Paris or Europe/Brussels";
  }
  const auto name = [](const core::schedule_problem::entry& e) {
    return std::string(e.exception ? "exception #" : "slot #") + std::to_string(e.index + 1);
  };
  std::string where = file + ": ";
  if (p.subject) {
    where += std::string(p.subject->exception ? "[permanence.exception] #" : "[permanence.slot] #") +
             std::to_string(p.subject->index + 1) + ": ";
  } else {
    where += "[permanence] ";
  }
  if (ec == schedule_errc::overlapping_slots && p.other) {
    std::string what = "overlaps " + name(*p.other);
    what += p.worker.empty() ? " (both for every worker)" : " for worker " + p.worker;
    if (p.date) what += " on " + date_text(*p.date);
    return where + what;
  }
  if (ec == schedule_errc::bad_date && p.subject && p.subject->index < sc.exceptions.size()) {
    return where + "date " + date_text(sc.exceptions[p.subject->index].date) + " is not a calendar date";
  }
  if (ec == schedule_errc::empty_slot) return where + "start and end are the same time";
  if (ec == schedule_errc::too_many_entries) {
    return where + (p.subject && p.subject->exception
                        ? "more than " + std::to_string(core::limits::max_schedule_exceptions) + " exceptions"
                        : "more than " + std::to_string(core::limits::max_schedule_slots) + " slots");
  }
  return where + ec.message();
}

/// [permanence] and its arrays of tables into c.permanence; returns whether emergency numbers
/// were listed (they replace the country's).
bool read_permanence(const std::string& file, const toml::table* permanence, config& c, std::string& error) {
  auto& p = c.permanence;
  core::schedule_config sc;
  bool listed = false;
  {
    reader r(file, "permanence", permanence, error);
    r.string("time_zone", sc.time_zone);
    r.string("country", c.permanence_country);
    if (r.ok() && c.permanence_country != "FR" && c.permanence_country != "BE" && !c.permanence_country.empty()) {
      r.fail("country", "is '" + c.permanence_country + "', must be \"FR\", \"BE\" or \"\" (no default emergency numbers)");
    }
    r.boolean("show_workers_on_call", p.show_workers_on_call);
    r.integer("queue_max", p.queue_max, 1, 100'000);
    unsigned grace = 120;
    unsigned long_wait = 20;
    unsigned wait_limit = 90;
    unsigned closing_notice = 10;
    unsigned handling = 15;
    r.integer("grace_seconds", grace, 0, 3600);
    r.integer("long_wait_minutes", long_wait, 1, 1440);
    r.integer("wait_limit_minutes", wait_limit, 1, 1440);
    if (r.ok() && wait_limit < long_wait) {
      r.fail("wait_limit_minutes", "is " + std::to_string(wait_limit) + ", must be at least long_wait_minutes (" +
                                       std::to_string(long_wait) + ")");
    }
    r.integer("closing_notice_minutes", closing_notice, 0, 240);
    r.integer("default_handling_minutes", handling, 1, 240);
    p.grace = std::chrono::seconds(grace);
    p.long_wait = std::chrono::minutes(long_wait);
    p.wait_limit = std::chrono::minutes(wait_limit);
    p.closing_notice = std::chrono::minutes(closing_notice);
    p.default_handling_time = std::chrono::minutes(handling);
    std::string handover = "colleague";
    r.string("shift_end_handover", handover);
    if (r.ok() && handover != "colleague" && handover != "end") {
      r.fail("shift_end_handover", "is '" + handover + "', must be \"colleague\" or \"end\"");
    }
    p.handover = handover == "end" ? core::shift_end_handover::end : core::shift_end_handover::colleague;
    r.boolean("close_sessions_at_shift_end", p.close_sessions_at_shift_end);
    r.boolean("auto_assign", p.auto_assign);
    r.integer("default_capacity", p.default_capacity, 0, protocol::limits::max_capacity);
    std::string url;
    r.string("contribution_url", url);
    if (r.ok() && !url.empty()) {
      if (url.rfind("https://", 0) != 0 || url.size() <= 8 || url.size() > protocol::limits::max_uri_bytes ||
          has_control_character(url) || url.find(' ') != std::string::npos) {
        r.fail("contribution_url", "must be an https:// URL of at most " +
                                       std::to_string(protocol::limits::max_uri_bytes) + " bytes, without spaces");
      } else {
        p.contribution_url = url;
      }
    }
  }
  if (permanence == nullptr || !error.empty()) return false;

  for_each_entry(file, *permanence, "slot", slot_keys, error, [&](reader& r, std::size_t) {
    core::weekly_slot slot;
    std::vector<std::string> days;
    if (r.find("days") == nullptr) r.fail("days", "is missing");
    r.string_list("days", days);
    if (r.ok() && days.empty()) r.fail("days", "must list at least one day");
    for (const auto& d : days) {
      if (r.ok() && !add_days(d, slot.days)) {
        r.fail("days", "entry '" + d + "' is not a day (mon tue wed thu fri sat sun, weekdays, weekend, daily)");
      }
    }
    read_times(r, true, slot.start, slot.end);
    read_workers(r, slot.workers);
    sc.slots.push_back(std::move(slot));
  });
  for_each_entry(file, *permanence, "exception", exception_keys, error, [&](reader& r, std::size_t) {
    core::dated_exception x;
    const auto* date = r.find("date");
    if (date == nullptr) {
      r.fail("date", "is missing");
    } else if (auto d = parse_date(*date)) {
      x.date = *d;
    } else {
      r.fail("date", "must be a date \"YYYY-MM-DD\"");
    }
    r.boolean("closed", x.closed);
    const bool has_slot = r.find("start") != nullptr || r.find("end") != nullptr || r.find("workers") != nullptr;
    if (r.ok() && x.closed && has_slot) {
      r.fail_entry("closed = true cannot go with start, end or workers (use two exceptions: a closure and an added slot)");
    }
    if (r.ok() && !x.closed && !has_slot) {
      r.fail_entry("needs closed = true (a closure) or start and end (an added slot)");
    }
    if (!x.closed) {
      read_times(r, true, x.start, x.end);
      read_workers(r, x.workers);
    }
    sc.exceptions.push_back(std::move(x));
  });
  for_each_entry(file, *permanence, "emergency", emergency_keys, error, [&](reader& r, std::size_t i) {
    listed = true;
    if (i == protocol::limits::max_emergency_numbers) {
      r.fail_entry("more than " + std::to_string(protocol::limits::max_emergency_numbers) +
                   " emergency numbers (PROTOCOL.md §6.4)");
      return;
    }
    core::emergency_number n;
    const auto text = [&](std::string_view key, std::string& out, std::size_t max) {
      if (r.find(key) == nullptr) return r.fail(key, "is missing");
      r.string(key, out);
      if (r.ok() && (out.empty() || out.size() > max || has_control_character(out))) {
        r.fail(key, "must be 1 to " + std::to_string(max) + " bytes of text");
      }
    };
    text("number", n.number, protocol::limits::max_phone_number_bytes);
    text("label_fr", n.label_fr, protocol::limits::max_emergency_label_bytes);
    text("label_en", n.label_en, protocol::limits::max_emergency_label_bytes);
    r.boolean("sms", n.sms);
    p.emergency_numbers.push_back(std::move(n));
  });
  if (!error.empty()) return listed;

  std::shared_ptr<const core::schedule> on_call;
  core::schedule_problem problem;
  if (auto ec = core::schedule::create(sc, on_call, problem)) {
    error = describe(file, sc, ec, problem);
    return listed;
  }
  // No slot at all: the permanence runs on manual shifts only (permanence_settings::on_call).
  p.on_call = on_call->empty() ? nullptr : on_call;
  return listed;
}

}  // namespace

bool parse_listen(const std::string& text, std::string& address, std::uint16_t& port, std::string& error) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "listen '" + text + "' must be ADDRESS:PORT (IPv6 as [::1]:8443)";
      return false;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      error = "listen '" + text + "' must be ADDRESS:PORT (IPv6 as [::1]:8443)";
      return false;
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty() || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    error = "listen '" + text + "' must be ADDRESS:PORT with a port from 0 to 65535";
    return false;
  }
  in6_addr probe{};
  if (::inet_pton(AF_INET, host.c_str(), &probe) != 1 && ::inet_pton(AF_INET6, host.c_str(), &probe) != 1) {
    error = "listen '" + text + "': '" + host + "' is not an IPv4 or IPv6 address";
    return false;
  }
  auto p = std::stoul(port_text);
  if (p > 65535) {
    error = "listen '" + text + "' has a port above 65535";
    return false;
  }
  address = host;
  port = static_cast<std::uint16_t>(p);
  return true;
}

bool load_config(const std::filesystem::path& path, const overrides& cli, config& out, std::string& error) {
  error.clear();
  config c;
  bool emergency_listed = false;
  if (!path.empty()) {
    toml::table root;
    try {
      root = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      error = path.string() + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
              std::string(e.description());
      return false;
    }
    const auto file = path.string();
    for (const auto& [name, node] : root) {
      auto table_it = known_keys().find(name.str());
      if (table_it == known_keys().end()) {
        error = file + ": unknown table [" + std::string(name.str()) + "]";
        return false;
      }
      auto* table = node.as_table();
      if (table == nullptr) {
        error = file + ": " + std::string(name.str()) + " must be a table";
        return false;
      }
      for (const auto& [key, value] : *table) {
        if (!table_it->second.contains(key.str())) {
          error = file + ": unknown key " + std::string(key.str()) + " in [" + std::string(name.str()) + "]";
          return false;
        }
      }
    }
    {
      reader r(file, "server", root["server"].as_table(), error);
      std::string listen;
      r.string("listen", listen);
      if (error.empty() && !listen.empty()) {
        std::string why;
        if (!parse_listen(listen, c.listen_address, c.port, why)) r.fail("listen", "is invalid: " + why);
      }
      std::string plain_listen;
      r.string("plain_listen", plain_listen);
      if (error.empty() && !plain_listen.empty()) {
        std::string why;
        in6_addr v6{};
        if (!parse_listen(plain_listen, c.plain_listen_address, c.plain_port, why)) {
          r.fail("plain_listen", "is invalid: " + why);
        } else if (c.plain_listen_address.rfind("127.", 0) != 0 &&
                   !(::inet_pton(AF_INET6, c.plain_listen_address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6))) {
          // Plain HTTP carries passwords and session tokens in clear: only a reverse proxy on
          // this machine may reach it.
          r.fail("plain_listen", "must be a loopback address (127.0.0.1:PORT or [::1]:PORT), not '" + plain_listen + "'");
        }
      }
      r.path("data_dir", c.data_dir);
      r.path("web_root", c.web_root);
      r.string("public_url", c.public_url);
      if (error.empty() && !c.public_url.empty() && c.public_url.rfind("https://", 0) != 0) {
        r.fail("public_url", "must start with https://");
      }
      r.integer("threads", c.threads, 0, 256);
      r.integer("max_connections", c.max_connections, 1, 1'000'000);
      r.string_list("allowed_origins", c.allowed_origins);
      for (const auto& o : c.allowed_origins) {
        if (error.empty() && o.rfind("https://", 0) != 0 && o.rfind("http://", 0) != 0) {
          r.fail("allowed_origins", "entry '" + o + "' must be an origin such as https://example.org");
        }
      }
    }
    {
      reader r(file, "tls", root["tls"].as_table(), error);
      r.path("certificate", c.certificate);
      r.path("private_key", c.private_key);
      r.integer("hsts_max_age_seconds", c.hsts_max_age_seconds, 0, 63'072'000);
      if (error.empty() && c.certificate.empty() != c.private_key.empty()) {
        r.fail(c.certificate.empty() ? "certificate" : "private_key",
               "is missing: certificate and private_key go together (or both empty for self-signed)");
      }
    }
    {
      reader r(file, "limits", root["limits"].as_table(), error);
      r.integer("max_message_bytes", c.max_message_bytes, 1024, 1024 * 1024);
      r.integer("max_http_header_bytes", c.max_http_header_bytes, 1024, 64 * 1024);
      r.integer("outbound_queue_bytes", c.outbound_queue_bytes, 64 * 1024, 64 * 1024 * 1024);
      r.integer("outbound_queue_messages", c.outbound_queue_messages, 16, 1'000'000);
      r.integer("tls_handshake_timeout_seconds", c.tls_handshake_timeout_seconds, 1, 120);
      r.integer("http_idle_timeout_seconds", c.http_idle_timeout_seconds, 1, 3600);
      r.integer("ws_idle_timeout_seconds", c.ws_idle_timeout_seconds, 5, 3600);
      r.integer("shutdown_timeout_seconds", c.shutdown_timeout_seconds, 1, 300);
      r.integer("auth_timeout_seconds", c.auth_timeout_seconds, 1, 300);
      r.integer("max_errors_per_minute", c.max_errors_per_minute, 1, 10'000);
      r.integer("messages_per_second", c.messages_per_second, 1, 100'000);
      r.integer("messages_burst", c.messages_burst, 1, 100'000);
      r.integer("logins_per_minute_per_address", c.logins_per_minute_per_address, 1, 100'000);
      r.integer("queue_joins_per_minute_per_address", c.queue_joins_per_minute_per_address, 1, 100'000);
      r.integer("backup_gets_per_minute_per_address", c.backup_gets_per_minute_per_address, 1, 100'000);
      r.integer("authentications_per_minute_per_address", c.authentications_per_minute_per_address, 1, 1'000'000);
    }
    {
      reader r(file, "auth", root["auth"].as_table(), error);
      r.boolean("totp_required", c.totp_required);
      r.integer("session_days", c.session_days, 1, 365);
      r.integer("max_failed_logins", c.max_failed_logins, 1, 100);
      r.integer("lockout_minutes", c.lockout_minutes, 1, 24 * 60);
      r.string("totp_issuer", c.totp_issuer);
      if (error.empty() && (c.totp_issuer.empty() || c.totp_issuer.size() > 64)) {
        r.fail("totp_issuer", "must be 1 to 64 bytes");
      }
    }
    {
      reader r(file, "org", root["org"].as_table(), error);
      r.string("public_key", c.org_public_key);
      if (error.empty() && !c.org_public_key.empty()) {
        std::error_code ec;
        auto key = protocol::encoded_bytes::from_text(c.org_public_key, ec);
        if (ec || key.size() != 32) r.fail("public_key", "must be the organisation's Ed25519 public key, 43 base64url characters");
      }
    }
    {
      reader r(file, "log", root["log"].as_table(), error);
      r.string("level", c.log_level);
      if (error.empty() && !log::parse_level(c.log_level)) r.fail("level", "must be debug, info, warn or error");
    }
    {
      reader r(file, "store", root["store"].as_table(), error);
      r.path("path", c.store_path);
      r.string("synchronous", c.store_synchronous);
      r.boolean("allow_unsafe_durability", c.allow_unsafe_durability);
      r.integer("retention_days", c.retention_days, 1, 3650);
      r.integer("purge_interval_minutes", c.purge_interval_minutes, 1, 1440);
      r.integer("max_queued_writes", c.store_max_queued_writes, 1, 1'000'000);
      r.integer("max_queued_reads", c.store_max_queued_reads, 1, 1'000'000);
      r.integer("reader_threads", c.store_reader_threads, 1, 64);
      r.integer("busy_timeout_ms", c.store_busy_timeout_ms, 0, 600'000);
      r.boolean("quick_check_on_open", c.store_quick_check_on_open);
      if (error.empty() && c.store_synchronous != "full" && c.store_synchronous != "normal" &&
          c.store_synchronous != "off") {
        r.fail("synchronous", "must be full, normal or off");
      }
      if (error.empty() && c.store_synchronous != "full" && !c.allow_unsafe_durability) {
        r.fail("synchronous", "is '" + c.store_synchronous +
                                  "': acknowledged messages could be lost on a crash; set "
                                  "allow_unsafe_durability = true only for throwaway test servers");
      }
    }
    if (error.empty()) emergency_listed = read_permanence(file, root["permanence"].as_table(), c, error);
    if (!error.empty()) return false;
  }
  if (!emergency_listed) c.permanence.emergency_numbers = core::default_emergency_numbers(c.permanence_country);
  if (cli.listen && !parse_listen(*cli.listen, c.listen_address, c.port, error)) {
    error = "--listen: " + error;
    return false;
  }
  if (cli.data_dir) c.data_dir = *cli.data_dir;
  if (cli.web_root) c.web_root = *cli.web_root;
  if (cli.log_level) {
    if (!log::parse_level(*cli.log_level)) {
      error = "--log-level must be debug, info, warn or error";
      return false;
    }
    c.log_level = *cli.log_level;
  }
  out = std::move(c);
  return true;
}

core::relay_settings to_relay_settings(const config& c) {
  core::relay_settings s;
  s.auth_timeout = std::chrono::seconds(c.auth_timeout_seconds);
  s.max_errors_per_minute = c.max_errors_per_minute;
  s.messages_per_second = c.messages_per_second;
  s.messages_burst = c.messages_burst;
  s.totp_required = c.totp_required;
  s.session_lifetime = std::chrono::hours(24) * c.session_days;
  s.max_failed_logins = static_cast<int>(c.max_failed_logins);
  s.lockout = std::chrono::minutes(c.lockout_minutes);
  s.totp_issuer = c.totp_issuer;
  s.permanence = c.permanence;
  if (!c.org_public_key.empty()) {
    std::error_code ec;
    auto encoded = protocol::encoded_bytes::from_text(c.org_public_key, ec);
    std::array<std::uint8_t, 32> key{};
    if (!ec && !encoded.decode_into(key)) s.org_public_key = key;
  }
  return s;
}

net::server_options to_server_options(const config& c) {
  net::server_options o;
  o.listen_address = c.listen_address;
  o.port = c.port;
  o.plain_listen_address = c.plain_listen_address;
  o.plain_port = c.plain_port;
  o.web_root = c.web_root;
  o.tls = {c.certificate, c.private_key};
  o.allowed_origins = c.allowed_origins;
  // Listing the sites that embed the widget must not lock out relaisd's own pages (the
  // console): the origin of public_url is always allowed too.
  if (!o.allowed_origins.empty() && !c.public_url.empty()) {
    auto end = c.public_url.find('/', 8);  // after "https://"
    o.allowed_origins.push_back(c.public_url.substr(0, end));
  }
  o.threads = c.threads;
  o.max_connections = c.max_connections;
  o.max_message_bytes = c.max_message_bytes;
  o.max_header_bytes = c.max_http_header_bytes;
  o.outbound_queue_bytes = c.outbound_queue_bytes;
  o.outbound_queue_messages = c.outbound_queue_messages;
  o.tls_handshake_timeout = std::chrono::seconds(c.tls_handshake_timeout_seconds);
  o.http_idle_timeout = std::chrono::seconds(c.http_idle_timeout_seconds);
  o.ws_idle_timeout = std::chrono::seconds(c.ws_idle_timeout_seconds);
  o.shutdown_timeout = std::chrono::seconds(c.shutdown_timeout_seconds);
  o.hsts_max_age_seconds = c.hsts_max_age_seconds;
  return o;
}

}  // namespace relais::app
