// core::session without sockets: frames in, frames out through a recording port whose posts
// run on the test thread (the "strand"), time from a manual clock, credentials faked, and the
// real SQLite store in a temporary file (so store completions really come from its threads).
#include "relais/core/session.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

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
    std::lock_guard lock(mutex_);
    frames_.push_back(json::parse(*frame));
  }
  void close(std::uint16_t code, std::string) override {
    std::lock_guard lock(mutex_);
    closed_ = code;
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

class Session : public ::testing::Test {
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

  relay_services services() {
    return relay_services{*store_, creds_, directory_, guard_, clock_, random_, settings_};
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
  std::unique_ptr<relais::store::sqlite_store> store_;
  fake_credentials creds_;
  fake_directory directory_;
  open_guard guard_;
  manual_clock clock_{1'767'225'600};
  crypto::deterministic_random random_{std::vector<std::uint8_t>(32, 7)};
  relay_settings settings_;
  std::vector<std::unique_ptr<relay_services>> services_;
};

TEST_F(Session, FirstFrameMustBeHello) {
  auto [s, p] = make_session();
  frame(*s, {{"type", "permanence.get"}});
  EXPECT_EQ(p->next().value("name", ""), "unexpected_message");
  EXPECT_EQ(p->closed(), 1008);
}

TEST_F(Session, NoCommonVersionCloses4001) {
  auto [s, p] = make_session();
  frame(*s, {{"type", "hello"}, {"versions", {7}}, {"role", "beneficiary"}});
  auto e = p->next();
  EXPECT_EQ(e.value("name", ""), "unsupported_version");
  EXPECT_EQ(e["versions"], json::array({1}));
  EXPECT_EQ(p->closed(), 4001);
}

TEST_F(Session, UnauthenticatedConnectionIsClosedAfterTheAuthTimeout) {
  auto [s, p] = make_session();
  ASSERT_TRUE(p->timer_.has_value());
  EXPECT_EQ(*p->timer_, settings_.auth_timeout);
  hello(*s, *p, "beneficiary");
  clock_.advance(settings_.auth_timeout - 1s);
  s->on_timer();
  EXPECT_FALSE(p->closed());
  clock_.advance(1s);
  s->on_timer();
  EXPECT_EQ(p->closed(), 4000);
}

TEST_F(Session, BeneficiaryProvesItsKeyOnThisChallengeOnly) {
  auto [s, p] = make_session();
  auto welcome = hello(*s, *p, "beneficiary");
  auto id = crypto::identity_key_pair::generate(random_);
  // Messages that need authentication are refused, the connection stays.
  frame(*s, {{"type", "queue.join"}, {"rid", "q"}, {"urgent", false}});
  EXPECT_EQ(p->next().value("name", ""), "auth_required");
  // A signature over another challenge fails; three failures close with 4002.
  std::array<std::uint8_t, 32> other{};
  auto bad = id.sign(pr::beneficiary_auth_signing_input(other));
  json attempt = {{"type", "auth.beneficiary"},
                  {"rid", "a"},
                  {"identity_key", pr::encoded_bytes::from_bytes(id.public_key_bytes()).text()},
                  {"signature", pr::encoded_bytes::from_bytes(bad).text()}};
  frame(*s, attempt);
  EXPECT_EQ(p->next().value("name", ""), "invalid_signature");
  std::error_code ec;
  auto input = pr::beneficiary_auth_signing_input(pr::encoded_bytes::from_text(welcome["challenge"].get<std::string>(), ec), ec);
  ASSERT_FALSE(ec);
  attempt["signature"] = pr::encoded_bytes::from_bytes(id.sign(input)).text();
  frame(*s, attempt);
  auto ok = p->next();
  EXPECT_EQ(ok.value("type", ""), "auth.ok");
  EXPECT_TRUE(s->authenticated());
  EXPECT_EQ(directory_.size(), 1u);
  frame(*s, attempt);  // a second authentication
  EXPECT_EQ(p->next().value("name", ""), "unexpected_message");
  s->on_closed();
  EXPECT_EQ(directory_.size(), 0u);
}

TEST_F(Session, ThreeFailedAuthenticationsClose4002) {
  auto [s, p] = make_session();
  hello(*s, *p, "worker");
  std::array<std::uint8_t, 32> token{};
  for (int i = 0; i < 3; ++i) {
    frame(*s, {{"type", "auth.resume"}, {"rid", "r"}, {"token", pr::encoded_bytes::from_bytes(token).text()}});
    EXPECT_EQ(p->next().value("name", ""), "invalid_token");
  }
  EXPECT_EQ(p->closed(), 4002);
}

TEST_F(Session, AFloodOfBadFramesCloses1008) {
  settings_.max_errors_per_minute = 5;
  auto [s, p] = make_session();
  hello(*s, *p, "beneficiary");
  for (int i = 0; i < 5; ++i) {
    s->on_frame("{not json");
    EXPECT_EQ(p->next().value("name", ""), "malformed_json");
    EXPECT_FALSE(p->closed());
  }
  s->on_frame("{not json");
  EXPECT_EQ(p->closed(), 1008);
}

TEST_F(Session, WorkerLoginGivesATokenStoredOnlyAsItsHash) {
  auto id = add_worker("camille");
  auto [s, p] = make_session();
  hello(*s, *p, "worker");
  frame(*s, {{"type", "auth.login"}, {"rid", "l"}, {"username", "camille"}, {"password", "right"}, {"device", "laptop"}});
  auto ok = p->next();
  ASSERT_EQ(ok.value("type", ""), "auth.ok") << ok.dump();
  EXPECT_EQ(ok.value("worker_id", 0), id);
  EXPECT_EQ(ok.value("display_name", ""), "Camille");
  EXPECT_FALSE(ok.value("totp_enrolled", true));
  std::error_code ec;
  auto token = pr::encoded_bytes::from_text(ok["token"].get<std::string>(), ec).decode();
  ASSERT_EQ(token.size(), 32u);
  auto hash = crypto::sha256(crypto::bytes_view(reinterpret_cast<const std::uint8_t*>(token.data()), 32));
  std::promise<worker_session> got;
  store_->find_session(bytes(reinterpret_cast<const char*>(hash.data()), 32),
                       [&got](std::error_code, worker_session ws) { got.set_value(ws); });
  auto ws = got.get_future().get();
  EXPECT_EQ(ws.worker, id);
  EXPECT_EQ(ws.device, "laptop");
  EXPECT_EQ(ws.expires_at - ws.created_at,
            std::chrono::duration_cast<std::chrono::milliseconds>(settings_.session_lifetime).count());
}

TEST_F(Session, WrongPasswordsAreAnsweredLateAndLockTheAccount) {
  settings_.max_failed_logins = 2;
  auto id = add_worker("camille");
  auto login = [&](const std::string& user, const std::string& password) {
    auto [s, p] = make_session();
    hello(*s, *p, "worker");
    frame(*s, {{"type", "auth.login"}, {"rid", "l"}, {"username", user}, {"password", password}, {"device", "d"}});
    p->settle();
    // Nothing before the delay: a wrong password and an unknown account take the same time.
    EXPECT_EQ(p->pending_frames(), 0u) << user;
    clock_.advance(settings_.failure_delay);
    s->on_timer();
    return p->next();
  };
  EXPECT_EQ(login("nobody", "right").value("name", ""), "invalid_credentials");
  EXPECT_EQ(login("camille", "wrong").value("name", ""), "invalid_credentials");
  EXPECT_EQ(get_worker(id).failed_logins, 1);
  EXPECT_EQ(login("camille", "wrong").value("name", ""), "invalid_credentials");
  auto a = get_worker(id);
  EXPECT_EQ(a.failed_logins, 2);
  EXPECT_GT(a.locked_until, clock_.unix_ms());
  auto locked = login("camille", "right");
  EXPECT_EQ(locked.value("name", ""), "account_locked");
  EXPECT_GT(locked.value("retry_after_ms", 0), 0);
}

TEST_F(Session, LoginsBeyondTheAddressLimitAreRefusedAtOnce) {
  add_worker("camille");
  guard_.refuse = address_action::login;
  auto [s, p] = make_session();
  hello(*s, *p, "worker");
  frame(*s, {{"type", "auth.login"}, {"rid", "l"}, {"username", "camille"}, {"password", "right"}, {"device", "d"}});
  auto e = p->next();
  EXPECT_EQ(e.value("name", ""), "account_locked");
  EXPECT_EQ(e.value("retry_after_ms", 0), 2000);
}

TEST_F(Session, TotpIsEnrolledBeforeAnythingElseWhenRequired) {
  settings_.totp_required = true;
  add_worker("camille");
  auto [s, p] = make_session();
  hello(*s, *p, "worker");
  frame(*s, {{"type", "auth.login"}, {"rid", "l"}, {"username", "camille"}, {"password", "right"}, {"device", "d"}});
  EXPECT_FALSE(p->next().value("totp_enrolled", true));
  frame(*s, {{"type", "queue.list"}, {"rid", "q"}});
  EXPECT_EQ(p->next().value("name", ""), "totp_required");
  frame(*s, {{"type", "auth.totp_setup"}, {"rid", "t"}});
  EXPECT_EQ(p->next().value("otpauth_uri", ""), "otpauth://totp/Relais:camille?secret=GEZDGNBV");
  frame(*s, {{"type", "auth.totp_confirm"}, {"rid", "c"}, {"code", "000000"}});
  EXPECT_EQ(p->next().value("name", ""), "invalid_credentials");
  frame(*s, {{"type", "auth.totp_confirm"}, {"rid", "c"}, {"code", "123456"}});
  EXPECT_EQ(p->next().value("type", ""), "ok");
  frame(*s, {{"type", "queue.list"}, {"rid", "q"}});
  EXPECT_EQ(p->next().value("type", ""), "queue.snapshot");
}

TEST_F(Session, AnEnrolledWorkerNeedsAFreshCodeEachLogin) {
  auto id = add_worker("camille", "0123456789abcdefghij");
  auto login = [&](std::optional<std::string> code) {
    auto [s, p] = make_session();
    hello(*s, *p, "worker");
    json j = {{"type", "auth.login"}, {"rid", "l"}, {"username", "camille"}, {"password", "right"}, {"device", "d"}};
    if (code) j["totp"] = *code;
    frame(*s, j);
    p->settle();
    clock_.advance(settings_.max_failure_delay);
    s->on_timer();
    return p->next();
  };
  EXPECT_EQ(login(std::nullopt).value("name", ""), "totp_required");
  auto ok = login("123456");
  EXPECT_EQ(ok.value("type", ""), "auth.ok");
  EXPECT_TRUE(ok.value("totp_enrolled", false));
  // The same code again (same time step): refused, it was used.
  EXPECT_EQ(login("123456").value("name", ""), "invalid_credentials");
  EXPECT_EQ(get_worker(id).failed_logins, 1);
}

TEST_F(Session, BackupFetchesBeyondTheAddressLimitAreRefused) {
  guard_.refuse = address_action::backup_get;
  auto [s, p] = make_session();
  hello(*s, *p, "beneficiary");
  std::array<std::uint8_t, 32> lookup{};
  frame(*s, {{"type", "backup.get"}, {"rid", "g"}, {"kind", "resume"},
             {"lookup", pr::encoded_bytes::from_bytes(lookup).text()}});
  auto e = p->next();
  EXPECT_EQ(e.value("name", ""), "rate_limited");
  EXPECT_EQ(e.value("retry_after_ms", 0), 2000);
}

TEST_F(Session, AFloodOfMessagesIsRateLimitedAndNothingIsStored) {
  settings_.messages_per_second = 1;
  settings_.messages_burst = 2;
  auto [s, p] = make_session();
  auto welcome = hello(*s, *p, "beneficiary");
  auto id = crypto::identity_key_pair::generate(random_);
  std::error_code ec;
  auto input = pr::beneficiary_auth_signing_input(
      pr::encoded_bytes::from_text(welcome["challenge"].get<std::string>(), ec), ec);
  frame(*s, {{"type", "auth.beneficiary"}, {"rid", "a"},
             {"identity_key", pr::encoded_bytes::from_bytes(id.public_key_bytes()).text()},
             {"signature", pr::encoded_bytes::from_bytes(id.sign(input)).text()}});
  ASSERT_EQ(p->next().value("type", ""), "auth.ok");
  json send = {{"type", "conversation.send"}, {"rid", "m"}, {"conversation_id", 1},
               {"client_msg_id", "0123456789abcdef"}, {"ciphertext", "AAAA"}};
  // Two within the burst reach the conversation check (none exists); the third is refused
  // before anything else.
  frame(*s, send);
  EXPECT_EQ(p->next().value("name", ""), "conversation_not_found");
  frame(*s, send);
  EXPECT_EQ(p->next().value("name", ""), "conversation_not_found");
  frame(*s, send);
  auto e = p->next();
  EXPECT_EQ(e.value("name", ""), "rate_limited");
  EXPECT_GT(e.value("retry_after_ms", 0), 0);
  clock_.advance(1s);
  frame(*s, send);
  EXPECT_EQ(p->next().value("name", ""), "conversation_not_found");
}

TEST_F(Session, PermanenceMessagesOfIssueSevenAreAnsweredNotDropped) {
  auto [s, p] = make_session();
  hello(*s, *p, "beneficiary");
  frame(*s, {{"type", "permanence.get"}, {"rid", "p"}});
  auto e = p->next();
  EXPECT_EQ(e.value("name", ""), "internal_error");
  EXPECT_EQ(e.value("rid", ""), "p");
}

}  // namespace
}  // namespace relais::core
