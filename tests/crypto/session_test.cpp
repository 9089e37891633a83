#include "relais/crypto/session.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "relais/crypto/error.hpp"
#include "relais/crypto/limits.hpp"
#include "relais/crypto/primitives.hpp"
#include "session_fixture.hpp"

namespace relais::crypto {
namespace {

using test::bytes_of;
using test::party_pair;
using test::state_of;

bytes send(session& s, std::string_view text) {
  bytes wire;
  EXPECT_FALSE(s.encrypt(bytes_of(text), wire));
  return wire;
}

std::string receive(session& s, bytes_view wire, random_source& rng, std::uint64_t now = 1'700'000'000) {
  bytes pt;
  const std::error_code ec = s.decrypt(wire, rng, now, pt);
  EXPECT_FALSE(ec) << ec.message();
  return {pt.begin(), pt.end()};
}

// Expects `ec` from decrypting `wire` and the state unchanged, byte for byte.
void expect_rejected(session& s, bytes_view wire, random_source& rng, std::error_code expected,
                     std::uint64_t now = 1'700'000'000) {
  const bytes before = state_of(s);
  bytes pt;
  EXPECT_EQ(s.decrypt(wire, rng, now, pt), expected);
  EXPECT_EQ(state_of(s), before);
}

// Chain key CKs of a serialised state (CRYPTO.md §4.5 layout), empty if absent.
bytes sending_chain_key(const bytes& state) {
  std::size_t pos = 1 + 1 + 64 + 32 + 32 + 32;
  const std::uint8_t flags = state[pos++];
  if ((flags & 0x01) != 0) pos += 32;
  if ((flags & 0x02) == 0) return {};
  return bytes(state.begin() + static_cast<std::ptrdiff_t>(pos), state.begin() + static_cast<std::ptrdiff_t>(pos + 32));
}

bool contains(const bytes& haystack, bytes_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

TEST(Session, RoundTripBothDirectionsWithTypes) {
  party_pair p;
  p.establish(bytes_of("bonjour"));
  EXPECT_EQ(p.first_wire[1], 0x01);
  const bytes a2 = send(p.alice, "encore");
  EXPECT_EQ(a2[1], 0x01);  // still initial: Alice has not heard from Bob
  EXPECT_EQ(receive(p.bob, a2, p.bob_rng), "encore");
  EXPECT_EQ(receive(p.alice, send(p.bob, "je vous écoute"), p.alice_rng), "je vous écoute");
  const bytes a3 = send(p.alice, "merci");
  EXPECT_EQ(a3[1], 0x02);
  EXPECT_EQ(receive(p.bob, a3, p.bob_rng), "merci");
  EXPECT_EQ(p.alice.peer_identity(), p.bob_id.public_key_bytes());
  EXPECT_EQ(p.bob.peer_identity(), p.alice_id.public_key_bytes());
}

TEST(Session, PaddingHidesLengthTo256Buckets) {
  party_pair p;
  p.establish();
  EXPECT_EQ(p.first_wire.size(), 2U + 72 + 40 + 256 + 16);
  const bytes w = send(p.bob, std::string(300, 'x'));
  EXPECT_EQ(w.size(), 2U + 40 + 512 + 16);
}

TEST(Session, OutOfOrderAndDhStepsDecrypt) {
  party_pair p;
  p.establish();
  std::vector<bytes> a;
  for (int i = 0; i < 5; ++i) a.push_back(send(p.alice, "a" + std::to_string(i)));
  EXPECT_EQ(receive(p.bob, a[4], p.bob_rng), "a4");
  EXPECT_EQ(receive(p.bob, a[1], p.bob_rng), "a1");
  const bytes b0 = send(p.bob, "b0");
  EXPECT_EQ(receive(p.alice, b0, p.alice_rng), "b0");
  const bytes a5 = send(p.alice, "a5");  // new chain
  EXPECT_EQ(receive(p.bob, a5, p.bob_rng), "a5");
  EXPECT_EQ(receive(p.bob, a[0], p.bob_rng), "a0");
  EXPECT_EQ(receive(p.bob, a[3], p.bob_rng), "a3");
  EXPECT_EQ(receive(p.bob, a[2], p.bob_rng), "a2");
  EXPECT_EQ(p.bob.skipped_key_count(), 0U);
}

TEST(Session, SerializeRoundTripKeepsWorking) {
  party_pair p;
  p.establish();
  const bytes lost = send(p.alice, "late");
  EXPECT_EQ(receive(p.bob, send(p.alice, "x"), p.bob_rng), "x");
  const bytes state = state_of(p.bob);
  session restored;
  ASSERT_FALSE(session::deserialize(state, restored));
  EXPECT_EQ(state_of(restored), state);
  EXPECT_EQ(receive(restored, lost, p.bob_rng), "late");
  EXPECT_EQ(receive(p.alice, send(restored, "ok"), p.alice_rng), "ok");
}

TEST(Session, ForwardSecrecyUsedKeysAreGoneFromState) {
  party_pair p;
  p.establish();
  EXPECT_EQ(receive(p.alice, send(p.bob, "hi"), p.alice_rng), "hi");
  std::vector<bytes> wires;
  std::vector<bytes> message_keys;
  std::vector<bytes> chain_keys;
  for (int i = 0; i < 4; ++i) {
    const bytes ck = sending_chain_key(state_of(p.alice));
    ASSERT_EQ(ck.size(), 32U);
    static constexpr std::array<std::uint8_t, 1> one{0x01};
    const secret32 mk = hmac_sha256(ck, one);
    message_keys.emplace_back(mk.view().begin(), mk.view().end());
    chain_keys.push_back(ck);
    wires.push_back(send(p.alice, "m" + std::to_string(i)));
  }
  for (const auto& ck : chain_keys) EXPECT_FALSE(contains(state_of(p.alice), ck));
  EXPECT_EQ(receive(p.bob, wires[3], p.bob_rng), "m3");  // m0..m2 skipped: their keys are stored
  EXPECT_TRUE(contains(state_of(p.bob), message_keys[1]));
  EXPECT_FALSE(contains(state_of(p.bob), message_keys[3]));
  EXPECT_EQ(receive(p.bob, wires[1], p.bob_rng), "m1");
  const bytes after = state_of(p.bob);
  EXPECT_FALSE(contains(after, message_keys[1]));
  EXPECT_FALSE(contains(after, message_keys[3]));
  EXPECT_TRUE(contains(after, message_keys[0]));
  for (const auto& ck : chain_keys) EXPECT_FALSE(contains(after, ck));
}

TEST(Session, CompromisedStateRecoversAfterDhStep) {
  party_pair p;
  p.establish();
  EXPECT_EQ(receive(p.alice, send(p.bob, "b"), p.alice_rng), "b");
  session stolen;
  ASSERT_FALSE(session::deserialize(state_of(p.bob), stolen));
  deterministic_random thief_rng(bytes(32, 0xEE));
  // The thief can read the current chain...
  session probe = stolen;
  const bytes a1 = send(p.alice, "now");
  EXPECT_EQ(receive(probe, a1, thief_rng), "now");
  EXPECT_EQ(receive(p.bob, a1, p.bob_rng), "now");
  // ...but not after a DH round trip with fresh ratchet keys.
  EXPECT_EQ(receive(p.alice, send(p.bob, "step"), p.alice_rng), "step");
  const bytes a2 = send(p.alice, "after");
  bytes pt;
  EXPECT_EQ(stolen.decrypt(a2, thief_rng, p.now, pt), errc::authentication_failed);
  EXPECT_EQ(receive(p.bob, a2, p.bob_rng), "after");
}

TEST(Session, WithoutOneTimePrekey) {
  party_pair p(3, false);
  p.establish(bytes_of("sans opk"));
  parsed_message m;
  ASSERT_FALSE(parse_message(p.first_wire, m));
  EXPECT_EQ(m.prefix->opk_id, no_one_time_prekey);
}

// --- bad input: every failure leaves the state byte-identical -------------------------------

TEST(SessionBadInput, TamperedCiphertext) {
  party_pair p;
  p.establish();
  bytes w = send(p.alice, "secret");
  w[w.size() - 20] ^= 0x01;
  expect_rejected(p.bob, w, p.bob_rng, errc::authentication_failed);
  w.back() ^= 0x01;  // tag
  expect_rejected(p.bob, w, p.bob_rng, errc::authentication_failed);
}

TEST(SessionBadInput, TamperedHeader) {
  party_pair p;
  p.establish();
  EXPECT_EQ(receive(p.alice, send(p.bob, "b"), p.alice_rng), "b");
  const bytes w = send(p.alice, "secret");
  bytes n_changed = w;
  n_changed[2 + 39] ^= 0x01;  // n: another message key
  expect_rejected(p.bob, n_changed, p.bob_rng, errc::authentication_failed);
  bytes pn_changed = w;
  pn_changed[2 + 35] ^= 0x01;  // pn is only authenticated
  expect_rejected(p.bob, pn_changed, p.bob_rng, errc::authentication_failed);
  bytes dh_changed = w;
  dh_changed[2 + 5] ^= 0x01;  // dh: a DH ratchet step to a key nobody holds
  expect_rejected(p.bob, dh_changed, p.bob_rng, errc::authentication_failed);
  EXPECT_EQ(receive(p.bob, w, p.bob_rng), "secret");
}

TEST(SessionBadInput, TamperedAssociatedData) {
  party_pair p;
  p.establish();
  const bytes w = send(p.alice, "secret");
  // The same session state with one identity byte of AD_x3dh changed (offset 2 in §4.5).
  bytes state = state_of(p.bob);
  state[2 + 40] ^= 0x01;
  session other;
  ASSERT_FALSE(session::deserialize(state, other));
  expect_rejected(other, w, p.bob_rng, errc::authentication_failed);
  // An initial message whose X3DH prefix differs from the accepted one.
  bytes first = p.first_wire;
  first[2 + 40] ^= 0x01;
  expect_rejected(p.bob, first, p.bob_rng, errc::authentication_failed);
}

TEST(SessionBadInput, ReplayedMessage) {
  party_pair p;
  p.establish();
  const bytes w = send(p.alice, "once");
  EXPECT_EQ(receive(p.bob, w, p.bob_rng), "once");
  expect_rejected(p.bob, w, p.bob_rng, errc::duplicate_message);
  // Still a duplicate after both sides moved to new chains.
  EXPECT_EQ(receive(p.alice, send(p.bob, "b"), p.alice_rng), "b");
  EXPECT_EQ(receive(p.bob, send(p.alice, "a"), p.bob_rng), "a");
  expect_rejected(p.bob, w, p.bob_rng, errc::duplicate_message);
}

TEST(SessionBadInput, ReplayedInitialMessage) {
  party_pair p;
  p.establish(bytes_of("first"));
  expect_rejected(p.bob, p.first_wire, p.bob_rng, errc::duplicate_message);
  // To a fresh responder: the OPK was deleted on first use.
  session again;
  bytes pt;
  std::optional<std::uint32_t> used;
  EXPECT_EQ(session::accept(p.bob_id, p.prekeys, p.first_wire, p.bob_rng, p.now, again, pt, used),
            errc::unknown_prekey);
}

TEST(SessionBadInput, MoreThanMaxSkipAhead) {
  party_pair p;
  p.establish();
  std::vector<bytes> w;
  for (std::uint32_t i = 0; i <= limits::max_skip + 1; ++i) w.push_back(send(p.alice, "m"));
  // Bob has received n = 0 (Nr = 1): n = 1002 skips 1001 keys.
  expect_rejected(p.bob, w.back(), p.bob_rng, errc::too_many_skipped);
  EXPECT_EQ(receive(p.bob, w[limits::max_skip], p.bob_rng), "m");  // exactly 1000 skipped
  EXPECT_EQ(p.bob.skipped_key_count(), limits::max_skip);
}

TEST(SessionBadInput, LowOrderRatchetKey) {
  party_pair p;
  p.establish();
  bytes w = send(p.alice, "x");
  std::fill_n(w.begin() + 2 + 72, 32, std::uint8_t{0});  // initial message: header after the prefix
  expect_rejected(p.bob, w, p.bob_rng, errc::invalid_public_key);
  bytes b = send(p.bob, "y");
  std::fill_n(b.begin() + 2, 32, std::uint8_t{0});
  expect_rejected(p.alice, b, p.alice_rng, errc::invalid_public_key);
}

TEST(SessionBadInput, LowOrderEphemeralInInitialMessage) {
  party_pair p;
  ASSERT_FALSE(session::initiate(p.alice_id, p.bundle, p.alice_rng, p.alice));
  bytes w = send(p.alice, "x");
  std::fill_n(w.begin() + 2 + 32, 32, std::uint8_t{0});
  session s;
  bytes pt;
  std::optional<std::uint32_t> used;
  EXPECT_EQ(session::accept(p.bob_id, p.prekeys, w, p.bob_rng, p.now, s, pt, used), errc::invalid_public_key);
  EXPECT_EQ(p.bob_rng.draws(), 0U);
}

TEST(SessionBadInput, MessageTypeFedToAnotherDecoder) {
  party_pair p;
  p.establish();
  const bytes reply = send(p.bob, "type 2");
  session s;
  bytes pt;
  std::optional<std::uint32_t> used;
  EXPECT_EQ(session::accept(p.bob_id, p.prekeys, reply, p.bob_rng, p.now, s, pt, used), errc::wrong_message_type);
  // Alice (initiator) never accepts a type-0x01 message.
  expect_rejected(p.alice, p.first_wire, p.alice_rng, errc::wrong_message_type);
  parsed_message m;
  EXPECT_EQ(parse_message_of_type(reply, message_type::initial, m), errc::wrong_message_type);
  EXPECT_EQ(parse_message_of_type(p.first_wire, message_type::message, m), errc::wrong_message_type);
  bytes unknown = reply;
  unknown[1] = 0x03;
  expect_rejected(p.alice, unknown, p.alice_rng, errc::wrong_message_type);
}

TEST(SessionBadInput, TruncatedAndOversizedFields) {
  party_pair p;
  p.establish();
  const bytes w = send(p.alice, "x");
  for (std::size_t len = 0; len < w.size(); ++len) {
    const bytes cut(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(len));
    expect_rejected(p.bob, cut, p.bob_rng, errc::malformed_input);
  }
  bytes odd = w;
  odd.push_back(0);  // ciphertext no longer 256*k + 16
  expect_rejected(p.bob, odd, p.bob_rng, errc::malformed_input);
  bytes huge = w;
  huge.insert(huge.end(), 256 * 256, 0);  // padded plaintext above 65536
  expect_rejected(p.bob, huge, p.bob_rng, errc::malformed_input);
  bytes version = w;
  version[0] = 0x02;
  expect_rejected(p.bob, version, p.bob_rng, errc::unsupported_version);
  bytes too_big(limits::max_plaintext + 1, 1);
  bytes out;
  EXPECT_EQ(p.alice.encrypt(too_big, out), errc::malformed_input);
  EXPECT_FALSE(p.alice.encrypt(bytes(limits::max_plaintext, 1), out));
}

TEST(SessionBadInput, EncryptWithoutSendingChain) {
  session empty;
  bytes out;
  EXPECT_EQ(empty.encrypt(bytes_of("x"), out), errc::no_sending_chain);
}

TEST(SessionBadInput, BundleWithBadSignature) {
  party_pair p;
  prekey_bundle b = p.bundle;
  b.spk_signature[0] ^= 0x01;
  session s;
  EXPECT_EQ(session::initiate(p.alice_id, b, p.alice_rng, s), errc::authentication_failed);
  b = p.bundle;
  b.spk_pub[0] ^= 0x01;  // a key swapped by the server
  EXPECT_EQ(session::initiate(p.alice_id, b, p.alice_rng, s), errc::authentication_failed);
  EXPECT_EQ(p.alice_rng.draws(), 0U);
}

TEST(SessionBadInput, BundleWithLowOrderSignedPrekey) {
  party_pair p;
  prekey_bundle b = p.bundle;
  b.spk_pub = public_key{};  // all zeros, correctly signed by the real identity key
  b.spk_signature = p.bob_id.sign(signed_prekey_message(b.spk_id, b.spk_pub));
  session s;
  EXPECT_EQ(session::initiate(p.alice_id, b, p.alice_rng, s), errc::invalid_public_key);
}

TEST(SessionBadInput, UnknownSignedPrekey) {
  party_pair p;
  ASSERT_FALSE(session::initiate(p.alice_id, p.bundle, p.alice_rng, p.alice));
  const bytes w = send(p.alice, "x");
  p.prekeys.spks.clear();
  session s;
  bytes pt;
  std::optional<std::uint32_t> used;
  EXPECT_EQ(session::accept(p.bob_id, p.prekeys, w, p.bob_rng, p.now, s, pt, used), errc::unknown_prekey);
}

TEST(SessionBadInput, MalformedState) {
  party_pair p;
  p.establish();
  (void)send(p.alice, "skip");
  EXPECT_EQ(receive(p.bob, send(p.alice, "x"), p.bob_rng), "x");
  const bytes state = state_of(p.bob);
  session s;
  for (std::size_t len = 0; len < state.size(); ++len) {
    EXPECT_TRUE(session::deserialize(bytes_view(state).first(len), s)) << len;
  }
  bytes trailing = state;
  trailing.push_back(0);
  EXPECT_EQ(session::deserialize(trailing, s), errc::malformed_input);
  bytes flags = state;
  flags[1 + 1 + 64 + 32 + 32 + 32] |= 0x80;
  EXPECT_EQ(session::deserialize(flags, s), errc::malformed_input);
  bytes format = state;
  format[0] = 0x02;
  EXPECT_EQ(session::deserialize(format, s), errc::unsupported_version);
}

TEST(SessionBadInput, SkippedKeysExpire) {
  party_pair p;
  p.establish();
  const bytes late = send(p.alice, "late");
  EXPECT_EQ(receive(p.bob, send(p.alice, "x"), p.bob_rng, p.now), "x");
  expect_rejected(p.bob, late, p.bob_rng, errc::duplicate_message,
                        p.now + limits::skipped_key_max_age_s + 1);
  EXPECT_EQ(receive(p.bob, late, p.bob_rng, p.now + limits::skipped_key_max_age_s), "late");
}

}  // namespace
}  // namespace relais::crypto
