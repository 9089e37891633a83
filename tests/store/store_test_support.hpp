#pragma once

// Helpers shared by the store tests: a temporary directory, a store opened in it, and a
// synchronous wrapper around the asynchronous store calls (waiting on a future is how the
// test synchronises with the store threads: no sleeps).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "relais/store/sqlite_store.hpp"

namespace relais::store::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with its content on destruction.
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/relais-store-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Result of a synchronous call: the error and the value.
template <typename T>
struct outcome {
  std::error_code ec;
  T value{};
};

/// Calls `start(handler)` and waits for the handler; for operations that yield a value.
template <typename T, typename Start>
outcome<T> wait_for(Start start) {
  auto promise = std::make_shared<std::promise<outcome<T>>>();
  auto future = promise->get_future();
  start([promise](std::error_code ec, T value) { promise->set_value({ec, std::move(value)}); });
  return future.get();
}

/// Calls `start(handler)` and waits; for operations that yield nothing.
template <typename Start>
std::error_code wait_done(Start start) {
  auto promise = std::make_shared<std::promise<std::error_code>>();
  auto future = promise->get_future();
  start([promise](std::error_code ec) { promise->set_value(ec); });
  return future.get();
}

/// Options for a store file in `dir`.
inline sqlite_options options_in(const temp_dir& dir, const std::string& name = "relais.db") {
  sqlite_options o;
  o.path = dir.file(name);
  return o;
}

/// Opens a store or fails the test with the open error.
inline std::unique_ptr<sqlite_store> open_store(const sqlite_options& o) {
  open_error error;
  auto s = sqlite_store::open(o, error);
  EXPECT_TRUE(s) << error.message;
  return s;
}

/// Whole file content (empty if absent).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Creates a conversation between `beneficiary` and `worker_key` and returns its id.
inline core::conversation_id make_conversation(sqlite_store& s, const std::string& beneficiary,
                                               const std::string& worker_key = "worker-key",
                                               core::unix_ms at = 1000) {
  core::new_conversation c;
  c.beneficiary_key = beneficiary;
  c.created_at = at;
  c.participants.push_back({beneficiary, core::participant_role::beneficiary, 0, at, 0, 0, 0});
  c.participants.push_back({worker_key, core::participant_role::worker, 0, at, 0, 0, 0});
  auto r = wait_for<core::conversation_id>(
      [&](auto h) { s.create_conversation(std::move(c), std::move(h)); });
  EXPECT_FALSE(r.ec) << r.ec.message();
  return r.value;
}

/// Creates a worker account with a published identity key; yields its id.
inline core::worker_id make_worker(sqlite_store& s, const std::string& username,
                                   const std::string& identity_key = {}) {
  core::worker_account a;
  a.username = username;
  a.password_hash = "h";
  a.identity_key = identity_key;
  auto r = wait_for<core::worker_id>([&](auto h) { s.create_worker(a, std::move(h)); });
  EXPECT_FALSE(r.ec) << r.ec.message();
  return r.value;
}

/// An inbox message from `beneficiary` addressed to `workers`, each with its own wrapped key
/// ("key-for-<id>").
inline core::inbox_entry inbox_message(const std::string& beneficiary,
                                       const std::string& client_msg_id,
                                       const std::vector<core::worker_id>& workers,
                                       const std::string& envelope = "sealed",
                                       core::unix_ms at = 100) {
  core::inbox_entry e;
  e.beneficiary_key = beneficiary;
  e.client_msg_id = client_msg_id;
  e.envelope = envelope;
  e.created_at = at;
  for (auto w : workers) e.recipients.push_back({w, "key-for-" + std::to_string(w)});
  return e;
}

/// Appends synchronously.
inline outcome<core::append_result> append(sqlite_store& s, core::conversation_id conv,
                                           const std::string& client_id,
                                           const std::string& envelope,
                                           const std::string& sender = "beneficiary-key",
                                           core::unix_ms at = 2000) {
  return wait_for<core::append_result>([&](auto h) {
    s.append_message({conv, client_id, sender, envelope, at}, std::move(h));
  });
}

}  // namespace relais::store::testing
