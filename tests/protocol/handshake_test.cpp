#include "relais/protocol/handshake.hpp"

#include <array>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace relais::protocol {
namespace {

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += digits[b >> 4U];
    out += digits[b & 0xFU];
  }
  return out;
}

TEST(Handshake, NegotiatesTheHighestCommonVersion) {
  const std::array<std::int64_t, 3> offered{3, 1, 2};
  const std::array<std::int64_t, 2> supported{2, 1};
  EXPECT_EQ(negotiate_version(offered, supported), 2);
  const std::array<std::int64_t, 1> only_one{1};
  EXPECT_EQ(negotiate_version(only_one), 1);
}

TEST(Handshake, RefusesWithoutACommonVersion) {
  const std::array<std::int64_t, 2> future{2, 3};
  EXPECT_EQ(negotiate_version(future), std::nullopt);
  EXPECT_EQ(negotiate_version({}), std::nullopt);
}

TEST(Handshake, WelcomeEchoesTheRidAndCarriesTheChallenge) {
  hello h;
  h.rid = "h1";
  h.versions = {1};
  std::array<std::uint8_t, 32> challenge{};
  challenge[0] = 0xFF;
  const std::optional<welcome> w = make_welcome(h, challenge, "relaisd/0.1.0");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->rid, "h1");
  EXPECT_EQ(w->version, 1);
  EXPECT_EQ(w->challenge.size(), 32U);
  EXPECT_EQ(w->challenge.decode()[0], '\xFF');
  std::error_code ec;
  const message m = decode_from_server(encode(*w), ec);
  EXPECT_FALSE(ec);
  h.versions = {7};
  EXPECT_FALSE(make_welcome(h, challenge));
}

TEST(Handshake, UnsupportedVersionErrorListsOurVersions) {
  const error_message e = make_unsupported_version("h1");
  EXPECT_EQ(e.code, error::unsupported_version);
  EXPECT_EQ(e.name, "unsupported_version");
  EXPECT_EQ(e.versions, (std::vector<std::int64_t>{1}));
  std::error_code ec;
  const message m = decode_from_server(encode(e), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(std::get<error_message>(m), e);
  EXPECT_EQ(info(e.code).closes, close_code::unsupported_version);
}

TEST(Handshake, BeneficiarySigningInputMatchesTheVector) {
  std::ifstream in(RELAIS_PROTOCOL_VECTORS "/protocol_beneficiary_auth.json");
  ASSERT_TRUE(in) << "missing vector file";
  const auto vectors = nlohmann::json::parse(in);
  ASSERT_FALSE(vectors.at("cases").empty());
  for (const auto& c : vectors.at("cases")) {
    std::error_code ec;
    const encoded_bytes challenge =
        encoded_bytes::from_text(c.at("challenge").get<std::string>(), ec);
    ASSERT_FALSE(ec);
    const auto input = beneficiary_auth_signing_input(challenge, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(hex(input), c.at("signing_input_hex").get<std::string>());
    // The vector's message must also be a valid auth.beneficiary.
    const nlohmann::json frame{{"type", "auth.beneficiary"},
                               {"identity_key", c.at("identity_key")},
                               {"signature", c.at("signature")}};
    (void)decode_from_client(frame.dump(), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
}

TEST(Handshake, SigningInputStartsWithTheLabel) {
  std::array<std::uint8_t, 32> challenge{};
  challenge.fill(7);
  const auto input = beneficiary_auth_signing_input(std::span<const std::uint8_t, 32>(challenge));
  EXPECT_EQ(std::string(input.begin(), input.begin() + 25), "Relais_BeneficiaryAuth_v1");
  EXPECT_EQ(input[25], 7);
  EXPECT_EQ(input[56], 7);
  std::error_code ec;
  (void)beneficiary_auth_signing_input(encoded_bytes::from_bytes(std::string_view("short")), ec);
  EXPECT_EQ(ec, error::invalid_value);
}

TEST(Handshake, MakeErrorFillsTheName) {
  const error_message e = make_error(error::rate_limited, "r5", "slow down");
  EXPECT_EQ(e.name, "rate_limited");
  EXPECT_EQ(e.rid, "r5");
  std::error_code ec;
  (void)decode(encode(e), ec);
  EXPECT_FALSE(ec);
}

TEST(Handshake, DecodeErrorsBecomeErrorMessages) {
  decode_diagnostics diag;
  std::error_code ec;
  (void)decode(R"({"type":"conversation.end","rid":"z9","conversation_id":"x"})", ec, &diag);
  ASSERT_EQ(ec, error::wrong_type);
  const error_message e = make_decode_error(ec, &diag);
  EXPECT_EQ(e.code, error::wrong_type);
  EXPECT_EQ(e.rid, "z9");
  EXPECT_EQ(e.message, "field conversation_id");
  EXPECT_EQ(make_decode_error(std::make_error_code(std::errc::io_error), nullptr).code,
            error::internal_error);
}

TEST(Handshake, AccessFollowsTheConnectionState) {
  using a = access;
  const auto w = peer_role::worker;
  const auto b = peer_role::beneficiary;
  EXPECT_FALSE(check_access(a::handshake, false, false, b));
  EXPECT_EQ(check_access(a::pre_auth, false, false, w), error::unexpected_message);
  EXPECT_EQ(check_access(a::handshake, true, false, w), error::unexpected_message);
  EXPECT_FALSE(check_access(a::pre_auth, true, false, w));
  EXPECT_EQ(check_access(a::pre_auth, true, true, w), error::unexpected_message);
  EXPECT_FALSE(check_access(a::any, true, false, b));
  EXPECT_EQ(check_access(a::authenticated, true, false, b), error::auth_required);
  EXPECT_FALSE(check_access(a::authenticated, true, true, b));
  EXPECT_EQ(check_access(a::worker, true, false, w), error::auth_required);
  EXPECT_FALSE(check_access(a::worker, true, true, w));
  EXPECT_EQ(check_access(a::worker, true, true, b), error::forbidden);
  EXPECT_FALSE(check_access(a::beneficiary, true, true, b));
  EXPECT_EQ(check_access(a::beneficiary, true, true, w), error::forbidden);
  EXPECT_EQ(check_access(a::server, true, true, w), error::wrong_direction);
}

}  // namespace
}  // namespace relais::protocol
