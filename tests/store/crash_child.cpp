// The child of the crash test: appends under load until it is killed, and reports each
// acknowledged message on stdout *after* its completion said it was committed:
//   A <conversation> <client id> <seq>
// Usage: relais_store_crash_child DB_PATH GENERATION CONVERSATIONS APPENDERS WINDOW
// Every appender thread keeps WINDOW appends in flight on conversation (index % CONVERSATIONS)
// + 1; client ids are g<generation>-t<thread>-<n>, so an appender's ids are in send order.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "relais/store/sqlite_store.hpp"

namespace {

/// One write(2) per line: a line is either wholly in the pipe or not at all when SIGKILL hits
/// (lines are far below PIPE_BUF).
void emit(const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) std::_Exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s DB GENERATION CONVERSATIONS APPENDERS WINDOW\n", argv[0]);
    return 2;
  }
  relais::store::sqlite_options options;
  options.path = argv[1];
  const std::string generation = argv[2];
  const long conversations = std::strtol(argv[3], nullptr, 10);
  const long appenders = std::strtol(argv[4], nullptr, 10);
  const long window = std::strtol(argv[5], nullptr, 10);
  if (conversations <= 0 || appenders <= 0 || window <= 0 || window > 64) return 2;

  relais::store::open_error error;
  // Opening right after a SIGKILL: recovery must need no manual step.
  auto store = relais::store::sqlite_store::open(options, error);
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", error.message.c_str());
    return 2;
  }
  emit("READY\n");

  std::vector<std::thread> threads;
  for (long t = 0; t < appenders; ++t) {
    threads.emplace_back([&, t] {
      std::counting_semaphore<64> in_flight(window);
      const relais::core::conversation_id conv = t % conversations + 1;
      const std::string prefix = "g" + generation + "-t" + std::to_string(t) + "-";
      for (long n = 0;; ++n) {
        in_flight.acquire();
        std::string id = prefix + std::to_string(n);
        relais::core::append_request r{conv, id, "sender-" + std::to_string(t),
                                       std::string(300, static_cast<char>('a' + t % 26)), n};
        store->append_message(std::move(r), [&in_flight, conv, id](std::error_code ec,
                                                                   relais::core::append_result res) {
          if (ec) {
            emit("E " + std::to_string(conv) + " " + id + " " + ec.message() + "\n");
          } else {
            emit("A " + std::to_string(conv) + " " + id + " " + std::to_string(res.seq) +
                 (res.duplicate ? " dup\n" : "\n"));
          }
          in_flight.release();
        });
      }
    });
  }
  for (auto& th : threads) th.join();  // never: the parent kills us
  return 0;
}
