#pragma once
// The fixture of the core tests: core::session without sockets. Frames in, frames out through
// a recording port whose posts run on the test thread (the "strand"), time from a manual
// clock, credentials faked, and the real SQLite store in a temporary file (so store
// completions really come from its threads). Included by one test file per source file.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "relais/core/permanence.hpp"
#include "relais/core/session.hpp"
#include "relais/crypto/keys.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/crypto/random.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "relais/protocol/base64url.hpp"
#include "relais/protocol/handshake.hpp"
#include "relais/store/sqlite_store.hpp"
#include "relais/test/process.hpp"

namespace relais::core {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace pr = relais::protocol;

/// The connection as the session sees it; posts queue up for the test thread to run.
class test_port final : public session_port {
 public:
  void send(std::shared_ptr<const std::string> frame) override {
    {
      std::lock_guard lock(mutex_);
      frames_.push_back(json::parse(*frame));
    }
    wake_.notify_all();  // sends come from store threads and the permanence too
  }
  void close(std::uint16_t code, std::string) override {
    {
      std::lock_guard lock(mutex_);
      closed_ = code;
    }
    wake_.notify_all();
  }
  void post(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      posted_.push_back(std::move(fn));
    }
    wake_.notify_all();
  }
  void set_timer(duration after) override { timer_ = after; }
  void when_drained(std::function<void()> fn) override { post(std::move(fn)); }

  /// Runs posted work on this thread until a frame is available; the frame, or empty json.
  json next(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!frames_.empty()) {
        auto f = frames_.front();
        frames_.pop_front();
        return f;
      }
      if (!posted_.empty()) {
        auto fn = std::move(posted_.front());
        posted_.pop_front();
        lock.unlock();
        fn();
        lock.lock();
        continue;
      }
      if (wake_.wait_until(lock, deadline) == std::cv_status::timeout && posted_.empty() && frames_.empty()) return {};
    }
  }
  /// Runs everything posted so far and what it posts, for `quiet` without new work.
  void settle(std::chrono::milliseconds quiet = 200ms) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!posted_.empty()) {
        auto fn = std::move(posted_.front());
        posted_.pop_front();
        lock.unlock();
        fn();
        lock.lock();
        continue;
      }
      if (!wake_.wait_for(lock, quiet, [this] { return !posted_.empty(); })) return;
    }
  }
  std::optional<std::uint16_t> closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  [[nodiscard]] std::size_t pending_frames() {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }
  std::optional<duration> timer_;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<json> frames_;
  std::deque<std::function<void()>> posted_;
  std::optional<std::uint16_t> closed_;
};

/// Password "right" matches any stored hash; TOTP "123456" matches the current step.
class fake_credentials final : public credentials {
 public:
  void verify_password(std::string hash, std::string password, std::function<void(password_check)> done) override {
    done(!hash.empty() && password == "right" ? password_check::match : password_check::mismatch);
  }
  std::optional<std::int64_t> match_totp(const bytes& secret, std::string_view code,
                                         std::int64_t unix_seconds) const override {
    if (secret.empty() || code != "123456") return std::nullopt;
    return unix_seconds / 30;
  }
  bytes new_totp_secret() override { return "0123456789abcdefghij"; }
  std::string otpauth_uri(const bytes&, std::string_view account, std::string_view issuer) const override {
    return "otpauth://totp/" + std::string(issuer) + ":" + std::string(account) + "?secret=GEZDGNBV";
  }
};

class fake_directory final : public session_directory {
 public:
  void add(const std::string& key, const std::shared_ptr<session>& s) override {
    std::lock_guard lock(mutex_);
    sessions_[key].push_back(s);
  }
  void remove(const std::string& key, const session* s) override {
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_[key], [s](const std::weak_ptr<session>& w) {
      auto p = w.lock();
      return !p || p.get() == s;
    });
  }
  void for_each(const std::string& key, const std::function<void(const std::shared_ptr<session>&)>& fn) override {
    std::vector<std::shared_ptr<session>> found;
    {
      std::lock_guard lock(mutex_);
      for (auto& w : sessions_[key]) {
        if (auto p = w.lock()) found.push_back(p);
      }
    }
    for (auto& p : found) fn(p);
  }
  std::size_t size() const override {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [k, v] : sessions_) n += v.size();
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::weak_ptr<session>>> sessions_;
};

class open_guard final : public address_guard {
 public:
  std::optional<duration> try_take(std::string_view, address_action action) override {
    if (refuse && *refuse == action) return 2s;
    return std::nullopt;
  }
  std::optional<address_action> refuse;
};

class session_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::sodium_init_once());
    relais::store::sqlite_options o;
    o.path = dir_.path() + "/relais.db";
    o.synchronous = relais::store::sync_mode::off;  // speed; durability has its own tests
    o.allow_unsafe_durability = true;
    relais::store::open_error err;
    store_ = relais::store::sqlite_store::open(o, err);
    ASSERT_TRUE(store_) << err.message;
    settings_.totp_required = false;
  }

  void TearDown() override {
    // The store first: closing it runs its last completions, which reach the permanence, the
    // directory and the clock (relaisd closes the store before the relay, too).
    store_.reset();
  }

  relay_services services() {
    if (!permanence_) {
      // One permanence per relay, as in relaisd, loaded from the store before any session.
      permanence_ = std::make_unique<core::permanence>(*store_, directory_, clock_, settings_.permanence);
      std::promise<std::error_code> loaded;
      permanence_->start([&loaded](std::error_code ec) { loaded.set_value(ec); });
      EXPECT_FALSE(loaded.get_future().get());
    }
    return relay_services{*store_, creds_, directory_, guard_, clock_, random_, settings_, *permanence_};
  }

  /// A session with its port; `open()` already called.
  std::pair<std::shared_ptr<session>, std::shared_ptr<test_port>> make_session() {
    auto port = std::make_shared<test_port>();
    services_.push_back(std::make_unique<relay_services>(services()));
    auto s = std::make_shared<session>(*services_.back(), port, "192.0.2.1");
    s->open();
    return {s, port};
  }

  static void frame(session& s, const json& j) { s.on_frame(j.dump()); }

  /// hello as `role`; returns the welcome.
  static json hello(session& s, test_port& p, const std::string& role) {
    frame(s, {{"type", "hello"}, {"versions", {1}}, {"role", role}});
    return p.next();
  }

  worker_id add_worker(const std::string& username, bytes totp_secret = {}) {
    worker_account a;
    a.username = username;
    a.display_name = "Camille";
    a.password_hash = "$argon2id$fake";
    a.totp_secret = std::move(totp_secret);
    std::promise<worker_id> got;
    store_->create_worker(a, [&got](std::error_code ec, worker_id id) { got.set_value(ec ? 0 : id); });
    return got.get_future().get();
  }

  worker_account get_worker(worker_id id) {
    std::promise<worker_account> got;
    store_->get_worker(id, [&got](std::error_code, worker_account a) { got.set_value(a); });
    return got.get_future().get();
  }

  test::temp_dir dir_;
  std::unique_ptr<core::permanence> permanence_;
  std::vector<std::unique_ptr<core::permanence>> retired_;  // earlier "processes" of a test
  std::unique_ptr<relais::store::sqlite_store> store_;
  fake_credentials creds_;
  fake_directory directory_;
  open_guard guard_;
  manual_clock clock_{1'767'225'600};
  crypto::deterministic_random random_{std::vector<std::uint8_t>(32, 7)};
  relay_settings settings_;
  std::vector<std::unique_ptr<relay_services>> services_;
};

}  // namespace
}  // namespace relais::core
