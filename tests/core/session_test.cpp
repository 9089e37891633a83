// core::session's decisions without sockets (fixture in session_fixture.hpp).
#include "relais/core/session.hpp"

#include "session_fixture.hpp"

namespace relais::core {
namespace {

class Session : public session_fixture {};

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
  EXPECT_EQ(p->next().value("type", ""), "shift.state");  // now that she may act
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

}  // namespace
}  // namespace relais::core
