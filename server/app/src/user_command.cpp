// `relaisd user ...`: worker accounts from the command line, on the store file directly.
#include "relais/app/user_command.hpp"

#include <CLI/CLI.hpp>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "relais/auth/account_rules.hpp"
#include "relais/auth/error.hpp"
#include "relais/auth/limits.hpp"
#include "relais/auth/password_hash.hpp"
#include "relais/core/store_error.hpp"

namespace relais::app {

namespace {

// ------------------------------------------------------------------ display name, either way
// worker_account gains `display_name` in a concurrent change (issue 6); these compile with and
// without it, and refuse --display-name while the store cannot keep it.

template <typename Account>
constexpr bool has_display_name() {
  return requires(Account a) { a.display_name; };
}

template <typename Account>
std::string display_name_of(const Account& a) {
  if constexpr (has_display_name<Account>()) {
    return a.display_name;
  } else {
    return {};
  }
}

template <typename Account>
void set_display_name(Account& a, const std::string& name) {
  if constexpr (has_display_name<Account>()) a.display_name = name;
}

// ------------------------------------------------------------------ output

/// One line on stderr, the way relaisd reports a refusal, and the exit code to return.
int fail(int code, const std::string& message) {
  std::cerr << "relaisd user: " << message << '\n';
  return code;
}

int store_failure(const std::string& what, std::error_code ec) {
  return fail(user_exit::store_error, what + ": " + ec.message());
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

/// "too short", "too long" or "has invalid characters", for a refusal message.
std::string why(std::error_code ec) {
  if (ec == auth::errc::too_short) return "is too short";
  if (ec == auth::errc::too_long) return "is too long";
  return "has invalid characters";
}

core::unix_ms now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// "2026-01-31T12:00:00Z" for a time in milliseconds.
std::string utc_time(core::unix_ms ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "?";
  return buf;
}

/// Width of UTF-8 text in terminal columns, counting one per code point (good enough for
/// the Latin and most other scripts display names use).
std::size_t columns(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

// ------------------------------------------------------------------ the store, synchronously

/// Waits for an asynchronous store operation that yields a value.
template <typename T, typename Start>
std::error_code await(Start start, T& out) {
  std::promise<std::pair<std::error_code, T>> done;
  auto result = done.get_future();
  start([&done](std::error_code ec, T value) { done.set_value({ec, std::move(value)}); });
  auto [ec, value] = result.get();
  out = std::move(value);
  return ec;
}

/// Waits for an asynchronous store operation that yields nothing.
template <typename Start>
std::error_code await_done(Start start) {
  std::promise<std::error_code> done;
  auto result = done.get_future();
  start([&done](std::error_code ec) { done.set_value(ec); });
  return result.get();
}

// ------------------------------------------------------------------ passwords from stdin

/// A password as read: its buffer is reserved once, so it is never reallocated (no stray
/// copies on the heap), and wiped when it goes away.
class password_text {
 public:
  password_text() { text_.reserve(auth::limits::max_password_bytes + 2); }
  ~password_text() {
    text_.resize(text_.capacity());
    sodium_memzero(text_.data(), text_.size());
  }
  password_text(const password_text&) = delete;
  password_text& operator=(const password_text&) = delete;
  std::string& text() noexcept { return text_; }

 private:
  std::string text_;
};

/// The terminal's settings while echo is off, restored on SIGINT/SIGTERM so that an
/// interrupted prompt does not leave the terminal silent.
termios saved_terminal{};
volatile std::sig_atomic_t echo_off = 0;

extern "C" void restore_terminal_and_exit(int sig) {
  if (echo_off != 0) tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

/// Reads one line from stdin with read(2) (no stdio buffer keeps a copy): at most
/// max_password_bytes + 1 bytes are kept, so that "too long" is still detected; a final CR
/// is dropped. False at end of input with nothing read.
bool read_line(std::string& out) {
  out.clear();
  bool any = false;
  char c = 0;
  while (::read(STDIN_FILENO, &c, 1) == 1) {
    any = true;
    if (c == '\n') break;
    if (out.size() <= auth::limits::max_password_bytes) out.push_back(c);
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return any;
}

/// Reads a line from the terminal without echo after printing `prompt` on stderr. Echo goes
/// off before the prompt appears, so that nothing typed after it is ever shown.
bool read_hidden(const char* prompt, std::string& out) {
  termios t{};
  bool have_terminal = tcgetattr(STDIN_FILENO, &t) == 0;
  if (have_terminal) {
    saved_terminal = t;
    std::signal(SIGINT, restore_terminal_and_exit);
    std::signal(SIGTERM, restore_terminal_and_exit);
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    echo_off = 1;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
  }
  std::cerr << prompt << std::flush;
  bool ok = read_line(out);
  if (have_terminal) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
    echo_off = 0;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  std::cerr << '\n';
  return ok;
}

/// The new password: the first line of stdin when it is not a terminal (scripts), else typed
/// twice without echo. Returns an exit code (0 when `out` holds an acceptable password).
int read_new_password(const std::string& username, password_text& out) {
  if (isatty(STDIN_FILENO) == 0) {
    if (!read_line(out.text())) return fail(user_exit::refused, "no password on standard input");
  } else {
    password_text again;
    std::string prompt = "New password for " + username + ": ";
    if (!read_hidden(prompt.c_str(), out.text()) || !read_hidden("Repeat it: ", again.text())) {
      return fail(user_exit::refused, "no password typed");
    }
    if (out.text().size() != again.text().size() ||
        sodium_memcmp(out.text().data(), again.text().data(), out.text().size()) != 0) {
      return fail(user_exit::refused, "the two passwords differ");
    }
  }
  if (auto ec = auth::check_new_password(out.text())) {
    return fail(user_exit::refused, "the password " + why(ec) + ": use " +
                                        std::to_string(auth::limits::min_password_bytes) + " to " +
                                        std::to_string(auth::limits::max_password_bytes) + " bytes");
  }
  return user_exit::ok;
}

/// Hashes a password with the server's Argon2id parameters; empty with a message on failure.
std::string hash_of(password_text& password) {
  std::error_code ec;
  auto hash = auth::hash_password(password.text(), auth::argon2_params{}, ec);
  if (ec) fail(user_exit::store_error, "cannot hash the password: " + ec.message());
  return hash;
}

// ------------------------------------------------------------------ actions

/// Finds a worker by username; an exit code otherwise (1 if absent, 2 on a store error).
int find(core::account_store& store, const std::string& username, core::worker_account& out) {
  if (auth::check_username(username)) return fail(user_exit::refused, "no worker named " + quoted(username));
  auto ec = await([&](auto done) { store.find_worker(username, std::move(done)); }, out);
  if (ec == core::store_errc::not_found) return fail(user_exit::refused, "no worker named " + quoted(username));
  if (ec) return store_failure("cannot read the worker accounts", ec);
  return user_exit::ok;
}

/// Revokes every session of a worker; prints how many.
int revoke_sessions(core::account_store& store, const core::worker_account& w, const std::string& done_what) {
  std::vector<core::bytes> revoked;
  auto ec = await([&](auto done) { store.revoke_worker_sessions(w.id, std::move(done)); }, revoked);
  if (ec) return store_failure(done_what + ", but revoking the sessions of " + quoted(w.username) + " failed", ec);
  std::printf("%s; %zu session%s revoked\n", done_what.c_str(), revoked.size(), revoked.size() == 1 ? "" : "s");
  return user_exit::ok;
}

int add(core::account_store& store, const std::string& username, const std::string& display_name,
        bool with_display_name) {
  if (auto ec = auth::check_username(username)) {
    return fail(user_exit::refused, "the username " + why(ec) + ": use 1 to 64 bytes of a-z 0-9 . _ -");
  }
  if (with_display_name) {
    if (!has_display_name<core::worker_account>()) {
      return fail(user_exit::refused, "this build's store cannot keep display names yet");
    }
    if (auto ec = auth::check_display_name(display_name)) {
      return fail(user_exit::refused,
                  "the display name " + why(ec) + ": use 1 to 64 bytes of UTF-8 without control characters");
    }
  }
  password_text password;
  if (int rc = read_new_password(username, password)) return rc;
  core::worker_account account;
  account.username = username;
  if (with_display_name) set_display_name(account, display_name);
  account.password_hash = hash_of(password);
  if (account.password_hash.empty()) return user_exit::store_error;
  account.created_at = now_ms();
  core::worker_id id = 0;
  auto ec = await([&](auto done) { store.create_worker(std::move(account), std::move(done)); }, id);
  if (ec == core::store_errc::already_exists) {
    return fail(user_exit::refused, "a worker named " + quoted(username) + " already exists");
  }
  if (ec) return store_failure("cannot create the worker", ec);
  std::printf("%lld\n", static_cast<long long>(id));
  return user_exit::ok;
}

int list(core::account_store& store, bool json) {
  std::vector<core::worker_account> workers;
  auto ec = await([&](auto done) { store.list_workers(std::move(done)); }, workers);
  if (ec) return store_failure("cannot read the worker accounts", ec);
  auto now = now_ms();
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& w : workers) {
      auto name = display_name_of(w);
      out.push_back({{"id", w.id},
                     {"username", w.username},
                     {"display_name", name.empty() ? nlohmann::json(nullptr) : nlohmann::json(name)},
                     {"disabled", w.disabled},
                     {"totp_enrolled", !w.totp_secret.empty()},
                     {"failed_logins", w.failed_logins},
                     // made with other Argon2id parameters than relaisd's: `passwd` refreshes it
                     {"password_needs_rehash", auth::needs_rehash(w.password_hash, auth::argon2_params{})},
                     {"locked_until", w.locked_until > now ? w.locked_until : 0},
                     {"created_at", w.created_at}});
    }
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return user_exit::ok;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "USERNAME", "DISPLAY NAME", "DISABLED", "TOTP", "LOCKED UNTIL"}};
  for (const auto& w : workers) {
    auto name = display_name_of(w);
    rows.push_back({std::to_string(w.id), w.username, name.empty() ? "-" : name, w.disabled ? "yes" : "no",
                    w.totp_secret.empty() ? "no" : "yes", w.locked_until > now ? utc_time(w.locked_until) : "-"});
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], columns(r[i]));
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(widths[i] - columns(r[i]) + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  if (workers.empty()) std::printf("(no worker accounts: add one with 'relaisd user add USERNAME')\n");
  return user_exit::ok;
}

int passwd(core::account_store& store, const std::string& username) {
  core::worker_account w;
  if (int rc = find(store, username, w)) return rc;
  password_text password;
  if (int rc = read_new_password(username, password)) return rc;
  core::worker_update u;
  u.id = w.id;
  u.password_hash = hash_of(password);
  if (u.password_hash->empty()) return user_exit::store_error;
  auto ec = await_done([&](auto done) { store.update_worker(std::move(u), std::move(done)); });
  if (ec == core::store_errc::not_found) return fail(user_exit::refused, "no worker named " + quoted(username));
  if (ec) return store_failure("cannot change the password", ec);
  return revoke_sessions(store, w, "password of " + username + " changed");
}

int set_disabled(core::account_store& store, const std::string& username, bool disabled) {
  core::worker_account w;
  if (int rc = find(store, username, w)) return rc;
  core::worker_update u;
  u.id = w.id;
  u.disabled = disabled;
  auto ec = await_done([&](auto done) { store.update_worker(std::move(u), std::move(done)); });
  if (ec == core::store_errc::not_found) return fail(user_exit::refused, "no worker named " + quoted(username));
  if (ec) return store_failure(disabled ? "cannot disable the worker" : "cannot enable the worker", ec);
  if (!disabled) {
    std::printf("%s enabled\n", username.c_str());
    return user_exit::ok;
  }
  return revoke_sessions(store, w, username + " disabled");
}

bool confirmed_removal(const core::worker_account& w, bool yes) {
  if (yes) return true;
  if (isatty(STDIN_FILENO) == 0) {
    fail(user_exit::refused, "standard input is not a terminal: add --yes to remove " + quoted(w.username));
    return false;
  }
  std::cerr << "Remove worker " << w.username << " (id " << w.id
            << ")? Their sessions, shift state and published keys are deleted; conversations keep their "
               "history. [y/N] "
            << std::flush;
  std::string answer;
  read_line(answer);
  if (answer == "y" || answer == "Y" || answer == "yes") return true;
  fail(user_exit::refused, "not removed");
  return false;
}

int remove(core::account_store& store, const std::string& username, bool yes) {
  core::worker_account w;
  if (int rc = find(store, username, w)) return rc;
  if (!confirmed_removal(w, yes)) return user_exit::refused;
  auto ec = await_done([&](auto done) { store.remove_worker(w.id, std::move(done)); });
  if (ec == core::store_errc::not_found) return fail(user_exit::refused, "no worker named " + quoted(username));
  if (ec) return store_failure("cannot remove the worker", ec);
  std::printf("%s removed\n", username.c_str());
  return user_exit::ok;
}

int reset_totp(core::account_store& store, const std::string& username) {
  core::worker_account w;
  if (int rc = find(store, username, w)) return rc;
  core::worker_update u;
  u.id = w.id;
  u.totp_secret = core::bytes();  // not enrolled: the console enrols again at the next login
  auto ec = await_done([&](auto done) { store.update_worker(std::move(u), std::move(done)); });
  if (ec == core::store_errc::not_found) return fail(user_exit::refused, "no worker named " + quoted(username));
  if (ec) return store_failure("cannot reset the TOTP secret", ec);
  return revoke_sessions(store, w, "TOTP of " + username + " reset (enrols again at the next login)");
}

int unlock(core::account_store& store, const std::string& username) {
  core::worker_account w;
  if (int rc = find(store, username, w)) return rc;
  auto ec = await_done([&](auto done) { store.reset_login_failures(w.id, std::move(done)); });
  if (ec == core::store_errc::not_found) return fail(user_exit::refused, "no worker named " + quoted(username));
  if (ec) return store_failure("cannot unlock the worker", ec);
  std::printf("%s unlocked\n", username.c_str());
  return user_exit::ok;
}

}  // namespace

user_command::user_command(CLI::App& cli) {
  user_ = cli.add_subcommand("user", "Manage worker accounts in the store (safe while relaisd runs), then exit");
  user_->require_subcommand(1);
  auto add_username = [this](CLI::App* sub) {
    sub->add_option("USERNAME", username_, "The worker's login name: 1-64 bytes of a-z 0-9 . _ -")->required();
  };
  add_ = user_->add_subcommand(
      "add", "Create a worker account; the password is read from stdin (first line) or typed twice; prints its id");
  add_username(add_);
  add_->add_option("--display-name", display_name_, "Name shown to colleagues and beneficiaries (1-64 bytes)");
  list_ = user_->add_subcommand("list", "List the worker accounts");
  list_->add_flag("--json", json_, "Print JSON for scripts");
  passwd_ = user_->add_subcommand("passwd", "Set a new password (as for add) and revoke the worker's sessions");
  add_username(passwd_);
  disable_ = user_->add_subcommand("disable", "Refuse the worker's logins and revoke their sessions");
  add_username(disable_);
  enable_ = user_->add_subcommand("enable", "Allow a disabled worker to log in again");
  add_username(enable_);
  remove_ = user_->add_subcommand("remove", "Delete a worker account (conversations keep their history)");
  add_username(remove_);
  remove_->add_flag("-y,--yes", yes_, "Do not ask for confirmation");
  reset_totp_ = user_->add_subcommand(
      "reset-totp", "Forget the worker's TOTP secret (they enrol again at the next login) and revoke their sessions");
  add_username(reset_totp_);
  unlock_ = user_->add_subcommand("unlock", "Clear the lock set by failed logins");
  add_username(unlock_);
}

bool user_command::parsed() const { return user_->parsed(); }

int user_command::run(core::account_store& store) {
  if (sodium_init() < 0) return fail(user_exit::store_error, "libsodium could not start");
  if (add_->parsed()) return add(store, username_, display_name_, add_->count("--display-name") > 0);
  if (list_->parsed()) return list(store, json_);
  if (passwd_->parsed()) return passwd(store, username_);
  if (disable_->parsed()) return set_disabled(store, username_, true);
  if (enable_->parsed()) return set_disabled(store, username_, false);
  if (remove_->parsed()) return remove(store, username_, yes_);
  if (reset_totp_->parsed()) return reset_totp(store, username_);
  if (unlock_->parsed()) return unlock(store, username_);
  return fail(user_exit::refused, "no action given (see relaisd user --help)");
}

}  // namespace relais::app
