#include "relais/auth/credentials.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>

namespace {

using relais::auth::argon2_params;
using relais::auth::credentials;
using relais::auth::credentials_options;
using relais::core::password_check;

credentials_options cheap(std::size_t threads = 1, std::size_t max_pending = 64) {
  credentials_options o;
  o.argon2 = argon2_params::cheapest();
  o.threads = threads;
  o.max_pending = max_pending;
  return o;
}

std::string hash_of(const credentials& c, std::string password) {
  std::error_code ec;
  auto h = c.hash_password(std::move(password), ec);
  EXPECT_FALSE(ec);
  return h;
}

/// Verifies through the pool and waits for the callback.
password_check verify(credentials& c, std::string hash, std::string password) {
  std::promise<password_check> result;
  c.verify_password(std::move(hash), std::move(password), [&result](password_check r) { result.set_value(r); });
  return result.get_future().get();
}

/// Holds the pool's only thread inside a callback until released, so that the queue's state
/// is known without sleeping.
class held_thread {
 public:
  held_thread(credentials& c, const std::string& hash) {
    c.verify_password(hash, "correct horse battery staple", [this](password_check r) {
      started_.set_value();
      release_future_.wait();
      result_.set_value(r);
    });
    started_.get_future().wait();
  }
  void release() { release_.set_value(); }
  password_check result() { return result_future_.get(); }

 private:
  std::promise<void> started_;
  std::promise<void> release_;
  std::shared_future<void> release_future_ = release_.get_future().share();
  std::promise<password_check> result_;
  std::future<password_check> result_future_ = result_.get_future();
};

TEST(Credentials, VerifiesOnThePoolMatchAndMismatch) {
  credentials c(cheap());
  auto h = hash_of(c, "correct horse battery staple");
  EXPECT_EQ(verify(c, h, "correct horse battery staple"), password_check::match);
  EXPECT_EQ(verify(c, h, "wrong horse battery staple"), password_check::mismatch);
  EXPECT_EQ(c.stats().verified, 2u);
}

TEST(Credentials, RunsTheCallbackOnAPoolThread) {
  credentials c(cheap());
  std::promise<std::thread::id> where;
  c.verify_password(hash_of(c, "pw"), "pw", [&where](password_check) { where.set_value(std::this_thread::get_id()); });
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
}

TEST(Credentials, MalformedOrEmptyHashIsAMismatchEvenForTheDummysPassword) {
  credentials c(cheap());
  for (const std::string& bad : {std::string(), std::string("garbage"), std::string("$argon2id$v=19$m=8,t=1,p=1$$")}) {
    EXPECT_EQ(verify(c, bad, "correct horse battery staple"), password_check::mismatch) << bad;
    EXPECT_EQ(verify(c, bad, ""), password_check::mismatch) << bad;
  }
  EXPECT_EQ(c.stats().verified, 6u);  // each went through the pool (and the dummy hash)
}

TEST(Credentials, MalformedHashCostsAnArgon2Computation) {
  // At the default cost one Argon2id takes tens of milliseconds (64 MiB to fill); refusing a
  // malformed string takes microseconds. A malformed hash must take the long path.
  credentials c;  // default parameters: the real cost
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(verify(c, "", "correct horse battery staple"), password_check::mismatch);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GT(elapsed, std::chrono::milliseconds(10));
}

TEST(Credentials, AnswersBusyAtOnceWhenTheQueueIsFull) {
  credentials c(cheap(1, 1));
  auto h = hash_of(c, "correct horse battery staple");
  held_thread held(c, h);  // the only thread is busy
  std::promise<password_check> queued;
  c.verify_password(h, "correct horse battery staple", [&queued](password_check r) { queued.set_value(r); });
  EXPECT_EQ(c.stats().pending, 1u);

  std::optional<password_check> refused;
  auto caller = std::this_thread::get_id();
  std::thread::id refused_on;
  c.verify_password(h, "correct horse battery staple", [&](password_check r) {
    refused = r;
    refused_on = std::this_thread::get_id();
  });
  ASSERT_TRUE(refused);  // called before verify_password returned
  EXPECT_EQ(*refused, password_check::busy);
  EXPECT_EQ(refused_on, caller);
  EXPECT_EQ(c.stats().refused_busy, 1u);

  held.release();
  EXPECT_EQ(held.result(), password_check::match);
  EXPECT_EQ(queued.get_future().get(), password_check::match);
}

TEST(Credentials, ZeroPendingMeansOnlyTheRunningOnes) {
  credentials c(cheap(1, 0));
  auto h = hash_of(c, "pw");
  std::optional<password_check> refused;
  c.verify_password(h, "pw", [&](password_check r) { refused = r; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, password_check::busy);
}

TEST(Credentials, TwoThreadsVerifyTwoAtOnce) {
  credentials c(cheap(2, 2));
  auto h = hash_of(c, "correct horse battery staple");
  held_thread first(c, h);
  held_thread second(c, h);  // starts while the first holds its thread: a second thread runs it
  EXPECT_EQ(c.stats().pending, 0u);
  first.release();
  second.release();
  EXPECT_EQ(first.result(), password_check::match);
  EXPECT_EQ(second.result(), password_check::match);
}

TEST(Credentials, DestructionAnswersWaitingVerificationsBusyAndFinishesRunningOnes) {
  auto c = std::make_unique<credentials>(cheap(1, 4));
  auto h = hash_of(*c, "correct horse battery staple");
  held_thread held(*c, h);
  std::promise<password_check> waiting;
  c->verify_password(h, "correct horse battery staple", [&waiting](password_check r) { waiting.set_value(r); });
  auto destroyer = std::async(std::launch::async, [&c] { c.reset(); });
  // The waiting one is answered busy before the destructor joins the held thread.
  EXPECT_EQ(waiting.get_future().get(), password_check::busy);
  held.release();
  destroyer.get();
  EXPECT_EQ(held.result(), password_check::match);
}

TEST(Credentials, RefusesOptionsOutsideTheirBounds) {
  EXPECT_THROW(credentials(cheap(0)), std::invalid_argument);
  EXPECT_THROW(credentials(cheap(3)), std::invalid_argument);
  EXPECT_THROW(credentials(cheap(1, relais::auth::limits::max_max_pending + 1)), std::invalid_argument);
  auto bad_cost = cheap();
  bad_cost.argon2.memlimit = 1024;
  EXPECT_THROW(credentials{bad_cost}, std::invalid_argument);
  auto bad_totp = cheap();
  bad_totp.totp.digits = 5;
  EXPECT_THROW(credentials{bad_totp}, std::invalid_argument);
}

TEST(Credentials, HashesWithItsParametersAndReportsRehash) {
  credentials c(cheap());
  auto h = hash_of(c, "pw");
  EXPECT_FALSE(c.needs_rehash(h));
  credentials_options stronger = cheap();
  stronger.argon2.opslimit = 2;
  credentials s(stronger);
  EXPECT_TRUE(s.needs_rehash(h));
  EXPECT_TRUE(c.needs_rehash(""));
}

TEST(Credentials, NewTotpSecretsAreTwentyRandomBytes) {
  credentials c(cheap());
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    auto s = c.new_totp_secret();
    EXPECT_EQ(s.size(), 20u);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 32u);
}

TEST(Credentials, MatchesTotpThroughTheInterface) {
  credentials c(cheap());
  const relais::core::credentials& iface = c;
  const std::string key = "12345678901234567890";
  EXPECT_EQ(iface.match_totp(key, "050471", 1111111111), 37037037);
  EXPECT_FALSE(iface.match_totp(key, "050472", 1111111111));
  EXPECT_FALSE(iface.match_totp("", "050471", 1111111111));
}

TEST(Credentials, OtpauthUriIsEmptyWhenRefused) {
  credentials c(cheap());
  auto secret = c.new_totp_secret();
  auto uri = c.otpauth_uri(secret, "camille", "Relais");
  EXPECT_EQ(uri.rfind("otpauth://totp/Relais:camille?secret=", 0), 0u);
  EXPECT_TRUE(c.otpauth_uri(secret, std::string(600, 'a'), "Relais").empty());
  EXPECT_TRUE(c.otpauth_uri("", "camille", "Relais").empty());
}

}  // namespace
