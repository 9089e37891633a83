// `relaisd user ...` as an operator runs it: the real binary on a temporary data folder, the
// password on stdin, the state checked with `user list --json` and, for what the listing does
// not show (hashes, sessions), by opening the store file beside it.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <nlohmann/json.hpp>

#include "relais/auth/password_hash.hpp"
#include "relais/core/store_error.hpp"
#include "relais/store/sqlite_store.hpp"
#include "relais/test/process.hpp"

namespace {

using namespace std::chrono_literals;
using relais::test::child_process;
using relais::test::temp_dir;

constexpr const char* password = "correct horse battery staple";
constexpr const char* new_password = "Tr0ub4dor&3 but longer";

/// True once core::worker_account has display_name (added by a concurrent change).
template <typename Account = relais::core::worker_account>
constexpr bool store_keeps_display_names() {
  return requires(Account a) { a.display_name; };
}

struct result {
  int status = -1;
  std::string out;
  std::string err;
};

/// A data folder and a way to run `relaisd --data-dir DATA ...` on it with a given stdin.
class RelaisdUser : public ::testing::Test {
 protected:
  result run(std::vector<std::string> args, const std::string& input = "") {
    // stdin comes from a file (never the test's own terminal): the non-interactive path.
    auto input_file = dir_.path() + "/stdin";
    std::ofstream(input_file, std::ios::trunc) << input;
    std::vector<std::string> argv = {"/bin/sh", "-c", "f=$1; shift; exec \"$@\" < \"$f\"", "sh", input_file,
                                     RELAISD_BINARY, "--data-dir", data_};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process p(argv);
    result r;
    r.status = p.wait_exit(120s).value_or(-1);
    r.out = p.stdout_text();
    r.err = p.stderr_text();
    std::filesystem::remove(input_file);
    // Nothing the command prints may carry a password or a hash.
    for (const auto* text : {&r.out, &r.err}) {
      EXPECT_EQ(text->find(password), std::string::npos) << *text;
      EXPECT_EQ(text->find(new_password), std::string::npos) << *text;
      EXPECT_EQ(text->find("$argon2"), std::string::npos) << *text;
    }
    return r;
  }

  nlohmann::json list_json() {
    auto r = run({"user", "list", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.out;
    return j;
  }

  /// The listing's entry for `username` (null if absent).
  nlohmann::json listed(const std::string& username) {
    for (const auto& w : list_json()) {
      if (w.value("username", "") == username) return w;
    }
    return nullptr;
  }

  std::int64_t add(const std::string& username, const std::string& pw = password) {
    auto r = run({"user", "add", username}, pw + "\n");
    EXPECT_EQ(r.status, 0) << r.err;
    return std::atoll(r.out.c_str());
  }

  /// Opens the store file the commands work on (beside them: WAL allows it).
  std::unique_ptr<relais::store::sqlite_store> open_store() {
    relais::store::sqlite_options o;
    o.path = data_ + "/relais.db";
    relais::store::open_error err;
    auto s = relais::store::sqlite_store::open(o, err);
    EXPECT_TRUE(s) << err.message;
    return s;
  }

  template <typename T, typename Start>
  static std::error_code await(Start start, T& out) {
    std::promise<std::pair<std::error_code, T>> done;
    auto f = done.get_future();
    start([&done](std::error_code ec, T v) { done.set_value({ec, std::move(v)}); });
    auto [ec, v] = f.get();
    out = std::move(v);
    return ec;
  }

  template <typename Start>
  static std::error_code await_done(Start start) {
    std::promise<std::error_code> done;
    auto f = done.get_future();
    start([&done](std::error_code ec) { done.set_value(ec); });
    return f.get();
  }

  relais::core::worker_account stored(const std::string& username) {
    auto s = open_store();
    relais::core::worker_account w;
    EXPECT_FALSE(await([&](auto done) { s->find_worker(username, std::move(done)); }, w));
    return w;
  }

  temp_dir dir_;
  std::string data_ = dir_.path() + "/data";
};

/// relaisd run on a pseudo-terminal: answers each prompt as it appears and returns everything
/// the terminal showed, with the exit status.
result run_on_terminal(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& dialogue) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fd = -1;
  pid_t pid = ::forkpty(&fd, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  result r;
  if (pid < 0) return r;
  auto read_some = [&]() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 60'000) <= 0) return false;
    char buf[512];
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;  // EIO once the child has closed the terminal
    r.out.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t seen = 0;
  for (const auto& [prompt, answer] : dialogue) {
    while (r.out.find(prompt, seen) == std::string::npos) {
      if (!read_some()) break;
    }
    seen = r.out.size();
    auto line = answer + "\n";
    EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
  while (read_some()) {
  }
  ::close(fd);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

TEST_F(RelaisdUser, PromptsTwiceWithoutEchoOnATerminal) {
  const std::vector<std::string> args = {RELAISD_BINARY, "--data-dir", data_, "user", "add", "camille"};
  auto r = run_on_terminal(args, {{"New password for camille: ", password}, {"Repeat it: ", password}});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\n1\r\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(password), std::string::npos) << r.out;  // never echoed
  EXPECT_TRUE(relais::auth::verify_password_now(stored("camille").password_hash, password));

  // Two different passwords: refused, nothing stored, the terminal echoes again afterwards.
  const std::vector<std::string> bob = {RELAISD_BINARY, "--data-dir", data_, "user", "add", "bob"};
  r = run_on_terminal(bob, {{"New password for bob: ", password}, {"Repeat it: ", new_password}});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("the two passwords differ"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(password), std::string::npos) << r.out;
  EXPECT_TRUE(listed("bob").is_null());
}

TEST_F(RelaisdUser, RemoveAsksOnATerminal) {
  add("camille");
  const std::vector<std::string> args = {RELAISD_BINARY, "--data-dir", data_, "user", "remove", "camille"};
  auto r = run_on_terminal(args, {{"[y/N] ", "n"}});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_FALSE(listed("camille").is_null());
  r = run_on_terminal(args, {{"[y/N] ", "y"}});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(listed("camille").is_null());
}

TEST_F(RelaisdUser, AddsAWorkerAndListsIt) {
  auto r = run({"user", "add", "camille"}, std::string(password) + "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_EQ(add("bob"), 2);

  auto text = run({"user", "list"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("ID  USERNAME  DISPLAY NAME  DISABLED  TOTP  LOCKED UNTIL"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1   camille   -             no        no    -"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("2   bob       -             no        no    -"), std::string::npos) << text.out;

  auto j = list_json();
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], 1);
  EXPECT_EQ(j[0]["username"], "camille");
  EXPECT_EQ(j[0]["disabled"], false);
  EXPECT_EQ(j[0]["totp_enrolled"], false);
  EXPECT_EQ(j[0]["locked_until"], 0);
  EXPECT_EQ(j[0]["password_needs_rehash"], false);

  // The stored hash is Argon2id at the server's cost and verifies the password given on stdin.
  auto w = stored("camille");
  EXPECT_TRUE(relais::auth::verify_password_now(w.password_hash, password));
  EXPECT_FALSE(relais::auth::needs_rehash(w.password_hash, relais::auth::argon2_params{}));
}

TEST_F(RelaisdUser, ListsHashesMadeWithOtherParametersAsNeedingARehash) {
  auto id = add("camille");
  {
    auto s = open_store();
    std::error_code ec;
    relais::core::worker_update u;
    u.id = id;
    u.password_hash = relais::auth::hash_password(password, relais::auth::argon2_params::cheapest(), ec);
    ASSERT_FALSE(ec);
    ASSERT_FALSE(await_done([&](auto done) { s->update_worker(u, std::move(done)); }));
  }
  EXPECT_EQ(listed("camille")["password_needs_rehash"], true);
  ASSERT_EQ(run({"user", "passwd", "camille"}, std::string(password) + "\n").status, 0);
  EXPECT_EQ(listed("camille")["password_needs_rehash"], false);
}

TEST_F(RelaisdUser, ListsAnEmptyStore) {
  auto r = run({"user", "list"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("no worker accounts"), std::string::npos);
  EXPECT_TRUE(list_json().empty());
}

TEST_F(RelaisdUser, KeepsADisplayNameWhenTheStoreCan) {
  auto r = run({"user", "add", "camille", "--display-name", "Camille Hélène"}, std::string(password) + "\n");
  if constexpr (store_keeps_display_names()) {
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(listed("camille")["display_name"], "Camille Hélène");
    EXPECT_NE(run({"user", "list"}).out.find("Camille Hélène"), std::string::npos);
  } else {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("display names"), std::string::npos) << r.err;
    EXPECT_TRUE(listed("camille").is_null());
  }
}

TEST_F(RelaisdUser, PasswdReplacesTheHashAndRevokesSessions) {
  auto id = add("camille");
  {
    auto s = open_store();
    relais::core::worker_session session{"token-hash-1", id, "laptop", 1, 4'000'000'000'000, false};
    relais::core::bytes replaced;
    ASSERT_FALSE(await([&](auto done) { s->create_session(session, std::move(done)); }, replaced));
  }
  auto r = run({"user", "passwd", "camille"}, std::string(new_password) + "\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 session revoked"), std::string::npos) << r.out;

  auto w = stored("camille");
  EXPECT_TRUE(relais::auth::verify_password_now(w.password_hash, new_password));
  EXPECT_FALSE(relais::auth::verify_password_now(w.password_hash, password));
  auto s = open_store();
  relais::core::worker_session session;
  ASSERT_FALSE(await([&](auto done) { s->find_session("token-hash-1", std::move(done)); }, session));
  EXPECT_TRUE(session.revoked);
}

TEST_F(RelaisdUser, DisablesAndEnables) {
  add("camille");
  auto r = run({"user", "disable", "camille"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("camille disabled; 0 sessions revoked"), std::string::npos) << r.out;
  EXPECT_EQ(listed("camille")["disabled"], true);
  EXPECT_NE(run({"user", "list"}).out.find("camille   -             yes"), std::string::npos);
  r = run({"user", "enable", "camille"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(listed("camille")["disabled"], false);
}

TEST_F(RelaisdUser, ResetTotpForgetsTheSecret) {
  auto id = add("camille");
  {
    auto s = open_store();
    relais::core::worker_update u;
    u.id = id;
    u.totp_secret = std::string(20, '\x42');  // as an enrolment would leave it
    ASSERT_FALSE(await_done([&](auto done) { s->update_worker(u, std::move(done)); }));
  }
  EXPECT_EQ(listed("camille")["totp_enrolled"], true);
  EXPECT_NE(run({"user", "list"}).out.find("camille   -             no        yes"), std::string::npos);
  auto r = run({"user", "reset-totp", "camille"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(listed("camille")["totp_enrolled"], false);
  EXPECT_TRUE(stored("camille").totp_secret.empty());
}

TEST_F(RelaisdUser, UnlockClearsTheFailedLoginLock) {
  auto id = add("camille");
  const std::int64_t far = 4'102'444'800'000;  // 2100-01-01T00:00:00Z
  {
    auto s = open_store();
    std::int32_t failures = 0;
    ASSERT_FALSE(await([&](auto done) { s->record_login_failure(id, far, std::move(done)); }, failures));
  }
  auto w = listed("camille");
  EXPECT_EQ(w["locked_until"], far);
  EXPECT_EQ(w["failed_logins"], 1);
  EXPECT_NE(run({"user", "list"}).out.find("2100-01-01T00:00:00Z"), std::string::npos);
  auto r = run({"user", "unlock", "camille"});
  ASSERT_EQ(r.status, 0) << r.err;
  w = listed("camille");
  EXPECT_EQ(w["locked_until"], 0);
  EXPECT_EQ(w["failed_logins"], 0);
}

TEST_F(RelaisdUser, RemovesOnlyWithYesWhenNotOnATerminal) {
  add("camille");
  auto r = run({"user", "remove", "camille"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_FALSE(listed("camille").is_null());
  r = run({"user", "remove", "camille", "--yes"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(listed("camille").is_null());
  EXPECT_TRUE(list_json().empty());
}

TEST_F(RelaisdUser, RefusesBadInputWithExitCodeOne) {
  add("camille");
  struct refusal {
    std::vector<std::string> args;
    std::string input;
    std::string says;
  };
  const std::vector<refusal> refusals = {
      {{"user", "add", "camille"}, std::string(password) + "\n", "already exists"},
      {{"user", "add", "Camille"}, std::string(password) + "\n", "username has invalid characters"},
      {{"user", "add", "ca mille"}, std::string(password) + "\n", "username has invalid characters"},
      {{"user", "add", std::string(65, 'a')}, std::string(password) + "\n", "username is too long"},
      {{"user", "add", "bob"}, "eleven byte\n", "password is too short"},
      {{"user", "add", "bob"}, std::string(1025, 'p') + "\n", "password is too long"},
      {{"user", "add", "bob"}, "", "no password on standard input"},
      {{"user", "add", "bob", "--display-name", ""}, std::string(password) + "\n", "display name"},
      {{"user", "add", "bob", "--display-name", std::string(65, 'x')}, std::string(password) + "\n", "display name"},
      {{"user", "add", "bob", "--display-name", "a\tb"}, std::string(password) + "\n", "display name"},
      {{"user", "passwd", "nobody"}, std::string(password) + "\n", "no worker named \"nobody\""},
      {{"user", "passwd", "camille"}, "short\n", "password is too short"},
      {{"user", "disable", "nobody"}, "", "no worker named"},
      {{"user", "enable", "nobody"}, "", "no worker named"},
      {{"user", "remove", "nobody", "--yes"}, "", "no worker named"},
      {{"user", "reset-totp", "nobody"}, "", "no worker named"},
      {{"user", "unlock", "nobody"}, "", "no worker named"},
      {{"user", "unlock", "Not/A/Name"}, "", "no worker named"},
  };
  for (const auto& f : refusals) {
    auto r = run(f.args, f.input);
    std::string cmd;
    for (const auto& a : f.args) cmd += a.substr(0, 20) + " ";
    EXPECT_EQ(r.status, 1) << cmd << r.err;
    EXPECT_NE(r.err.find("relaisd user: "), std::string::npos) << cmd << r.err;
    EXPECT_NE(r.err.find(f.says), std::string::npos) << cmd << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << cmd << r.err;  // one line
  }
  // Nothing refused was stored, and camille's password is unchanged.
  auto j = list_json();
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(relais::auth::verify_password_now(stored("camille").password_hash, password));
}

TEST_F(RelaisdUser, StoreAndConfigErrorsExitWithTwo) {
  std::filesystem::create_directories(data_);
  std::ofstream(data_ + "/relais.db") << std::string(8192, 'x');
  auto r = run({"user", "list"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("relais.db"), std::string::npos) << r.err;

  // A data folder that is a file.
  std::ofstream(dir_.path() + "/plain") << "x";
  std::vector<std::string> argv = {RELAISD_BINARY, "--data-dir", dir_.path() + "/plain", "user", "list"};
  child_process p(argv);
  EXPECT_EQ(p.wait_exit(60s).value_or(-1), 2) << p.stderr_text();
}

TEST_F(RelaisdUser, TheStoreNeverHoldsThePassword) {
  add("camille");
  ASSERT_EQ(run({"user", "passwd", "camille"}, std::string(new_password) + "\n").status, 0);
  ASSERT_EQ(run({"user", "disable", "camille"}).status, 0);
  // Every file of the data folder: database, WAL, shared memory, TLS files if any.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find(password), std::string::npos) << entry.path();
    EXPECT_EQ(content.find(new_password), std::string::npos) << entry.path();
  }
}

TEST_F(RelaisdUser, WorksBesideARunningServer) {
  child_process server({RELAISD_BINARY, "--listen", "127.0.0.1:0", "--data-dir", data_});
  ASSERT_TRUE(server.wait_for_line("listening on https://", 30s)) << server.stderr_text();
  EXPECT_EQ(add("camille"), 1);
  EXPECT_EQ(listed("camille")["username"], "camille");
  EXPECT_EQ(run({"user", "disable", "camille"}).status, 0);
  EXPECT_EQ(listed("camille")["disabled"], true);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(30s).value_or(-1), 0) << server.stderr_text();
}

}  // namespace
