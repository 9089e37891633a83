// Crash test (issue 5): a child appends under load with several appenders and reports each
// acknowledged message; it is killed with SIGKILL at random moments, 50 times. After each
// kill the store is reopened (no manual step) and every message ever acknowledged must be
// there exactly once with its seq, in order, with no gap, and integrity_check must say ok.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "relais/store/sqlite_store.hpp"
#include "store_test_support.hpp"

extern char** environ;

namespace relais::store {
namespace {

using testing::temp_dir;
using testing::wait_for;

constexpr int kills = 50;
constexpr int conversations = 4;
constexpr int appenders = 8;   // two per conversation: concurrent appends to one conversation
constexpr int window = 8;      // appends in flight per appender

struct ack {
  core::conversation_id conversation = 0;
  core::sequence_number seq = 0;
};

/// Runs the child, reads its acks, kills it after a random number of acks plus a random
/// few milliseconds, and reads what it had written before dying.
void run_and_kill(const std::string& db, int generation, std::mt19937& rng,
                  std::map<std::string, ack>& acked, std::string& failure) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string gen = std::to_string(generation);
  const std::string convs = std::to_string(conversations);
  const std::string apps = std::to_string(appenders);
  const std::string win = std::to_string(window);
  std::vector<char*> argv = {const_cast<char*>(RELAIS_STORE_CRASH_CHILD),
                             const_cast<char*>(db.c_str()),
                             const_cast<char*>(gen.c_str()),
                             const_cast<char*>(convs.c_str()),
                             const_cast<char*>(apps.c_str()),
                             const_cast<char*>(win.c_str()),
                             nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);

  std::uniform_int_distribution<int> ack_target(1, 400);
  std::uniform_int_distribution<int> extra_ms(0, 5);
  const int target = ack_target(rng);
  int seen = 0;
  bool killed = false;
  std::string buffer;
  auto parse_lines = [&] {
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::istringstream line(buffer.substr(start, nl - start));
      std::string kind;
      line >> kind;
      if (kind == "A") {
        ack a;
        std::string id;
        line >> a.conversation >> id >> a.seq;
        auto [it, inserted] = acked.emplace(id, a);
        if (!inserted && (it->second.seq != a.seq || it->second.conversation != a.conversation))
          failure = "client id " + id + " acknowledged twice with different seqs";
        ++seen;
      } else if (kind == "E") {
        failure = "append failed in the child: " + buffer.substr(start, nl - start);
      }
    }
    buffer.erase(0, start);  // keep a partial last line for the next read
  };
  auto kill_at = std::chrono::steady_clock::time_point::max();
  char chunk[65536];
  for (;;) {
    if (!killed && seen >= target && kill_at == std::chrono::steady_clock::time_point::max())
      kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(extra_ms(rng));
    if (!killed && std::chrono::steady_clock::now() >= kill_at) {
      ::kill(pid, SIGKILL);  // at a random point: mid-batch, mid-fsync, mid-checkpoint
      killed = true;
    }
    int timeout = -1;
    if (!killed && kill_at != std::chrono::steady_clock::time_point::max()) {
      timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     kill_at - std::chrono::steady_clock::now())
                                     .count());
      if (timeout < 0) timeout = 0;
    }
    pollfd p{out[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout);
    if (ready == 0) continue;
    const ssize_t n = ::read(out[0], chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the child is gone (killed, or died by itself)
    buffer.append(chunk, static_cast<std::size_t>(n));
    parse_lines();
  }
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
    failure = "child exited by itself (status " + std::to_string(status) + ") after " +
              std::to_string(seen) + " acks";
}

/// Reopens the store and checks every acknowledged message; empty string when all is well.
std::string verify(const std::string& db, const std::map<std::string, ack>& acked) {
  sqlite_options o;
  o.path = db;
  open_error error;
  auto s = sqlite_store::open(o, error);
  if (!s) return "reopen after kill failed: " + error.message;
  std::map<std::string, ack> stored;
  for (core::conversation_id c = 1; c <= conversations; ++c) {
    core::sequence_number expected = 1;
    for (core::sequence_number after = 0;;) {
      auto page = wait_for<std::vector<core::stored_message>>([&](auto h) {
        s->read_messages({c, after, core::limits::max_page_messages}, std::move(h));
      });
      if (page.ec) return "read failed: " + page.ec.message();
      if (page.value.empty()) break;
      for (const auto& m : page.value) {
        if (m.seq != expected) return "gap or disorder in conversation " + std::to_string(c);
        ++expected;
        if (!stored.emplace(m.client_message_id, ack{c, m.seq}).second)
          return "message " + m.client_message_id + " stored twice";
      }
      after = page.value.back().seq;
    }
  }
  for (const auto& [id, a] : acked) {
    auto it = stored.find(id);
    if (it == stored.end()) return "acknowledged message " + id + " is missing";
    if (it->second.seq != a.seq || it->second.conversation != a.conversation)
      return "acknowledged message " + id + " has another seq after restart";
  }
  // Order within an appender: its ids are numbered in send order, so seqs must increase.
  std::map<std::string, std::map<long, core::sequence_number>> by_appender;
  for (const auto& [id, a] : stored) {
    const auto dash = id.rfind('-');
    by_appender[id.substr(0, dash)][std::stol(id.substr(dash + 1))] = a.seq;
  }
  for (const auto& [appender, seqs] : by_appender) {
    core::sequence_number prev = 0;
    for (const auto& [n, seq] : seqs) {
      if (seq <= prev) return "appender " + appender + " out of order at " + std::to_string(n);
      prev = seq;
    }
  }
  auto check = wait_for<std::string>([&](auto h) { s->integrity_check(std::move(h)); });
  if (check.ec || check.value != "ok") return "integrity_check: " + check.value;
  return {};
}

TEST(CrashRecovery, EveryAcknowledgedMessageSurvivesFiftyKills) {
  temp_dir dir;
  const std::string db = dir.file("crash.db");
  {
    sqlite_options o;
    o.path = db;
    auto s = testing::open_store(o);
    ASSERT_TRUE(s);
    for (int i = 0; i < conversations; ++i)
      ASSERT_EQ(testing::make_conversation(*s, "b" + std::to_string(i)), i + 1);
  }
  const auto seed = std::random_device{}();
  std::mt19937 rng(seed);
  RecordProperty("seed", std::to_string(seed));
  std::map<std::string, ack> acked;
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < kills; ++k) {
    std::string failure;
    run_and_kill(db, k, rng, acked, failure);
    ASSERT_TRUE(failure.empty()) << "kill " << k << " (seed " << seed << "): " << failure;
    const std::string problem = verify(db, acked);
    ASSERT_TRUE(problem.empty()) << "after kill " << k << " (seed " << seed << "): " << problem;
  }
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "crash test: " << kills << " SIGKILLs, " << acked.size()
            << " acknowledged messages checked after each restart, all present exactly once "
               "in order, integrity ok ("
            << seconds << " s, seed " << seed << ")\n";
  RecordProperty("kills", kills);
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
}

}  // namespace
}  // namespace relais::store
