#include "relais/core/connection.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "relais/crypto/primitives.hpp"
#include "relais/protocol/base64url.hpp"
#include "relais/protocol/handshake.hpp"

namespace relais::core {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

/// Deterministic randomness: 0, 1, 2, ... so that challenges are predictable in tests.
class counting_random final : public random_source {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = next_++;
  }

 private:
  unsigned char next_ = 0;
};

crypto::secret32 seed_of(std::uint8_t value) {
  std::array<std::uint8_t, 32> raw{};
  raw.fill(value);
  return crypto::secret32(raw);
}

class Connection : public ::testing::Test {
 protected:
  json frame(const effects& e, std::size_t i = 0) {
    EXPECT_GT(e.frames.size(), i);
    return e.frames.size() > i ? json::parse(e.frames[i]) : json{};
  }
  json hello_ok(const char* role = "beneficiary") {
    auto e = conn_.on_frame(std::string(R"({"type":"hello","versions":[1],"role":")") + role + R"("})");
    EXPECT_FALSE(e.close);
    auto w = frame(e);
    EXPECT_EQ(w["type"], "welcome");
    return w;
  }
  std::string auth_frame(const json& welcome, const crypto::secret32& seed, bool corrupt = false) {
    std::error_code ec;
    auto challenge = protocol::encoded_bytes::from_text(welcome["challenge"].get<std::string>(), ec);
    auto input = protocol::beneficiary_auth_signing_input(challenge, ec);
    auto sig = crypto::ed25519_sign(seed, input);
    if (corrupt) sig[0] ^= 1;
    auto pk = crypto::ed25519_public_from_seed(seed);
    json j{{"type", "auth.beneficiary"},
           {"rid", "a1"},
           {"identity_key", protocol::encoded_bytes::from_bytes(pk).text()},
           {"signature", protocol::encoded_bytes::from_bytes(sig).text()}};
    return j.dump();
  }

  manual_clock clock_;
  counting_random random_;
  connection conn_{clock_, random_};
};

TEST_F(Connection, HelloGetsWelcomeWithFreshChallenge) {
  auto w = hello_ok();
  EXPECT_EQ(w["version"], 1);
  EXPECT_EQ(w["challenge"].get<std::string>().size(), 43u);
  EXPECT_TRUE(conn_.welcomed());
  EXPECT_FALSE(conn_.authenticated());
}

TEST_F(Connection, NoCommonVersionIsRefusedWith4001) {
  auto e = conn_.on_frame(R"({"type":"hello","rid":"h","versions":[7,9],"role":"worker"})");
  auto err = frame(e);
  EXPECT_EQ(err["code"], 400);
  EXPECT_EQ(err["rid"], "h");
  EXPECT_EQ(err["versions"], json::array({1}));
  ASSERT_TRUE(e.close);
  EXPECT_EQ(e.close->code, 4001);
}

TEST_F(Connection, FirstFrameMustBeHello) {
  auto e = conn_.on_frame(R"({"type":"permanence.get"})");
  EXPECT_EQ(frame(e)["code"], 111);
  ASSERT_TRUE(e.close);
  EXPECT_EQ(e.close->code, 1008);
  EXPECT_TRUE(conn_.on_frame(R"({"type":"hello","versions":[1],"role":"beneficiary"})").frames.empty());
}

TEST_F(Connection, GarbageBeforeHelloClosesWith1008) {
  auto e = conn_.on_frame("not json");
  EXPECT_EQ(frame(e)["code"], 100);
  ASSERT_TRUE(e.close);
  EXPECT_EQ(e.close->code, 1008);
}

TEST_F(Connection, BeneficiaryProvesItsKey) {
  auto w = hello_ok();
  auto seed = seed_of(7);
  auto e = conn_.on_frame(auth_frame(w, seed));
  auto ok = frame(e);
  EXPECT_EQ(ok["type"], "auth.ok");
  EXPECT_EQ(ok["rid"], "a1");
  EXPECT_TRUE(conn_.authenticated());
  EXPECT_EQ(conn_.identity_key(), crypto::ed25519_public_from_seed(seed));
  // A second authentication on the same connection is refused.
  auto again = conn_.on_frame(auth_frame(w, seed));
  EXPECT_EQ(frame(again)["code"], 111);
}

TEST_F(Connection, SignatureOverAnotherChallengeIsRefused) {
  auto seed = seed_of(9);
  json stale{{"challenge", protocol::encoded_bytes::from_bytes(std::string(32, 'z')).text()}};
  hello_ok();
  auto e = conn_.on_frame(auth_frame(stale, seed));
  EXPECT_EQ(frame(e)["code"], 204);
  EXPECT_FALSE(conn_.authenticated());
}

TEST_F(Connection, ThreeFailedAuthenticationsClose4002) {
  auto w = hello_ok();
  auto seed = seed_of(3);
  for (int i = 0; i < 2; ++i) {
    auto e = conn_.on_frame(auth_frame(w, seed, true));
    EXPECT_EQ(frame(e)["code"], 204);
    EXPECT_FALSE(e.close);
  }
  auto last = conn_.on_frame(auth_frame(w, seed, true));
  ASSERT_TRUE(last.close);
  EXPECT_EQ(last.close->code, 4002);
  EXPECT_FALSE(conn_.authenticated());
}

TEST_F(Connection, WorkerLoginWithoutAccountsIsInvalidCredentials) {
  hello_ok("worker");
  auto e = conn_.on_frame(R"({"type":"auth.login","username":"camille","password":"x","device":"laptop"})");
  EXPECT_EQ(frame(e)["code"], 201);
  auto b = conn_.on_frame(R"({"type":"auth.beneficiary","identity_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})");
  EXPECT_EQ(frame(b)["code"], 205);
}

TEST_F(Connection, MessagesBeforeAuthenticationNeedIt) {
  hello_ok();
  auto e = conn_.on_frame(R"({"type":"queue.leave","rid":"q"})");
  auto err = frame(e);
  EXPECT_EQ(err["code"], 200);
  EXPECT_EQ(err["rid"], "q");
  EXPECT_FALSE(e.close);
}

TEST_F(Connection, AuthenticationTimeoutCloses4000) {
  auto o = conn_.open();
  ASSERT_TRUE(o.timer);
  EXPECT_EQ(*o.timer, std::chrono::duration_cast<duration>(10s));
  clock_.advance(5s);
  EXPECT_FALSE(conn_.on_timer().close);
  clock_.advance(5s);
  auto e = conn_.on_timer();
  ASSERT_TRUE(e.close);
  EXPECT_EQ(e.close->code, 4000);
}

TEST_F(Connection, AuthenticatedConnectionHasNoTimeout) {
  (void)conn_.open();
  auto w = hello_ok();
  auto seed = seed_of(1);
  (void)conn_.on_frame(auth_frame(w, seed));
  clock_.advance(60s);
  EXPECT_FALSE(conn_.on_timer().close);
}

TEST_F(Connection, BadFramesAreAnsweredThenAFloodCloses1008) {
  hello_ok();
  int answered = 0;
  std::optional<close_request> closed;
  for (int i = 0; i < 100 && !closed; ++i) {
    auto e = conn_.on_frame(R"({"type":"nonsense"})");
    EXPECT_EQ(frame(e)["code"], 103);
    ++answered;
    closed = e.close;
  }
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1008);
  EXPECT_GE(answered, 20);
  EXPECT_LE(answered, 22);
}

TEST_F(Connection, ErrorsAreForgivenOverTime) {
  hello_ok();
  for (int minute = 0; minute < 5; ++minute) {
    for (int i = 0; i < 15; ++i) EXPECT_FALSE(conn_.on_frame("{").close);
    clock_.advance(60s);
  }
}

}  // namespace
}  // namespace relais::core
