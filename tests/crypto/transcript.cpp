#include "transcript.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "relais/crypto/encoding.hpp"
#include "relais/crypto/error.hpp"
#include "relais/crypto/keys.hpp"
#include "relais/crypto/session.hpp"

namespace relais::crypto::test {
namespace {

constexpr std::uint64_t transcript_now = 1'700'000'000;  // fixed: no expiry inside a transcript
constexpr int message_count = 1000;

bytes hex_or_empty(const nlohmann::json& j) { return from_hex(j.get<std::string>()).value_or(bytes{}); }

bytes state_bytes(const session& s) {
  const secure_buffer b = s.serialize();
  return {b.view().begin(), b.view().end()};
}

// Both parties, built from the transcript's header fields.
struct parties {
  explicit parties(const nlohmann::json& t)
      : alice_id(identity_key_pair::from_seed(hex_or_empty(t["alice_identity_seed"]))),
        bob_id(identity_key_pair::from_seed(hex_or_empty(t["bob_identity_seed"]))),
        alice_rng(hex_or_empty(t["alice_rng_seed"])),
        bob_rng(hex_or_empty(t["bob_rng_seed"])) {
    signed_prekey spk;
    spk.id = t["bob_spk_id"].get<std::uint32_t>();
    spk.key = x25519_key_pair::from_secret(hex_or_empty(t["bob_spk_secret"]));
    spk.sig = bob_id.sign(signed_prekey_message(spk.id, spk.key.pub));
    one_time_prekey opk;
    opk.id = t["bob_opk_id"].get<std::uint32_t>();
    opk.key = x25519_key_pair::from_secret(hex_or_empty(t["bob_opk_secret"]));
    prekeys.spks[spk.id] = spk.key;
    prekeys.opks[opk.id] = opk.key;
    bundle = make_bundle(bob_id, spk, &opk);
  }

  std::error_code send(bool from_alice, bytes_view plaintext, bytes& wire) {
    if (from_alice && !alice_started) {
      if (auto ec = session::initiate(alice_id, bundle, alice_rng, alice)) return ec;
      alice_started = true;
    }
    return (from_alice ? alice : bob).encrypt(plaintext, wire);
  }

  // Delivers; on error checks that the receiver's state did not change.
  std::error_code deliver(bool to_bob, bytes_view wire, bytes& plaintext, bool& state_unchanged) {
    state_unchanged = true;
    if (to_bob && !bob_started) {
      std::optional<std::uint32_t> used;
      const std::error_code ec = session::accept(bob_id, prekeys, wire, bob_rng, transcript_now, bob, plaintext, used);
      if (!ec) {
        bob_started = true;
        if (used) prekeys.opks.erase(*used);
      }
      return ec;
    }
    session& rx = to_bob ? bob : alice;
    const bytes before = state_bytes(rx);
    const std::error_code ec = rx.decrypt(wire, to_bob ? bob_rng : alice_rng, transcript_now, plaintext);
    if (ec) state_unchanged = state_bytes(rx) == before;
    return ec;
  }

  identity_key_pair alice_id;
  identity_key_pair bob_id;
  deterministic_random alice_rng;
  deterministic_random bob_rng;
  memory_prekeys prekeys;
  prekey_bundle bundle;
  session alice;
  session bob;
  bool alice_started = false;
  bool bob_started = false;
};

std::string expect_of(const std::error_code& ec) {
  if (!ec) return "ok";
  if (ec == errc::duplicate_message) return "duplicate";
  return "error";
}

}  // namespace

nlohmann::json generate_transcript(std::uint32_t schedule_seed) {
  nlohmann::json t;
  t["description"] =
      "Relais golden ratchet transcript (CRYPTO.md §12): Alice initiates X3DH with Bob's SPK and OPK; 1000 "
      "messages in both directions with DH ratchet steps, out-of-order delivery within MAX_SKIP, losses "
      "(sent, never delivered) and duplicates (delivered again: expect 'duplicate', state unchanged). Each "
      "party draws from its own deterministic RNG (CRYPTO.md §6); time is fixed at 1700000000. 'wire' is "
      "base64url without padding, 'plaintext' hex.";
  t["generator"] = "cpp";
  t["alice_identity_seed"] = to_hex(bytes(32, 0xA1));
  t["bob_identity_seed"] = to_hex(bytes(32, 0xB0));
  t["bob_spk_id"] = 1;
  t["bob_spk_secret"] = to_hex(bytes(32, 0xB5));
  t["bob_opk_id"] = 1001;
  t["bob_opk_secret"] = to_hex(bytes(32, 0xB6));
  t["alice_rng_seed"] = to_hex(bytes(32, 0xAA));
  t["bob_rng_seed"] = to_hex(bytes(32, 0xBB));
  parties p(t);

  std::mt19937 gen(schedule_seed);
  auto coin = [&](double prob) { return std::uniform_real_distribution<double>(0, 1)(gen) < prob; };
  struct pending {
    int index;
    bool to_bob;
    bytes wire;
    int age;
  };
  std::vector<pending> net;
  std::vector<bytes> wires;
  nlohmann::json events = nlohmann::json::array();
  int sent = 0;
  bool alice_turn = true;
  while (sent < message_count || !net.empty()) {
    if (sent < message_count) {
      // Bob can only answer once his session exists; otherwise alternate with runs of 1..8.
      const bool from_alice = !p.bob_started || alice_turn;
      const int batch = std::uniform_int_distribution<int>(1, 8)(gen);
      for (int i = 0; i < batch && sent < message_count; ++i) {
        const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 700)(gen);
        bytes pt(len);
        for (auto& b : pt) b = static_cast<std::uint8_t>(gen());
        bytes wire;
        if (p.send(from_alice, pt, wire)) throw std::runtime_error("encrypt failed while generating");
        events.push_back({{"op", "send"},
                          {"from", from_alice ? "alice" : "bob"},
                          {"index", sent},
                          {"plaintext", to_hex(pt)},
                          {"wire", to_base64url(wire)}});
        wires.push_back(wire);
        if (!coin(0.05)) net.push_back({sent, from_alice, wire, 0});  // 5 % lost
        ++sent;
      }
      alice_turn = coin(0.5) ? !alice_turn : alice_turn;
    }
    std::shuffle(net.begin(), net.end(), gen);
    std::vector<pending> keep;
    for (auto& m : net) {
      ++m.age;
      if (m.age < 3 && coin(0.5) && sent < message_count) {
        keep.push_back(std::move(m));
        continue;
      }
      bytes pt;
      bool unchanged = true;
      const std::error_code ec = p.deliver(m.to_bob, m.wire, pt, unchanged);
      if (!unchanged) throw std::runtime_error("state changed on error while generating");
      events.push_back({{"op", "deliver"}, {"to", m.to_bob ? "bob" : "alice"}, {"index", m.index},
                        {"expect", expect_of(ec)}});
      if (coin(0.06)) {  // duplicated by the network
        m.age = 0;
        keep.push_back(std::move(m));
      }
    }
    net = std::move(keep);
  }
  t["events"] = std::move(events);
  return t;
}

std::optional<std::string> verify_transcript(const nlohmann::json& t) {
  try {
    parties p(t);
    std::map<int, std::pair<bytes, bytes>> sent;  // index -> (plaintext, wire)
    std::size_t n = 0;
    for (const auto& e : t.at("events")) {
      const std::string where = "event " + std::to_string(n++) + " (index " + std::to_string(e.at("index").get<int>()) + ")";
      const int index = e.at("index").get<int>();
      if (e.at("op") == "send") {
        const bytes pt = hex_or_empty(e.at("plaintext"));
        const auto wire = from_base64url(e.at("wire").get<std::string>());
        if (!wire) return where + ": wire is not base64url";
        bytes ours;
        if (auto ec = p.send(e.at("from") == "alice", pt, ours)) return where + ": encrypt failed: " + ec.message();
        if (ours != *wire) return where + ": our wire differs from the transcript's";
        sent[index] = {pt, *wire};
      } else if (e.at("op") == "deliver") {
        auto it = sent.find(index);
        if (it == sent.end()) return where + ": delivers a message never sent";
        bytes pt;
        bool unchanged = true;
        const std::error_code ec = p.deliver(e.at("to") == "bob", it->second.second, pt, unchanged);
        const std::string expect = e.at("expect").get<std::string>();
        if (expect_of(ec) != expect) return where + ": expected " + expect + ", got " + (ec ? ec.message() : "ok");
        if (!ec && pt != it->second.first) return where + ": plaintext differs";
        if (ec && !unchanged) return where + ": state changed on a rejected message";
      } else {
        return where + ": unknown op";
      }
    }
    if (sent.size() != message_count) return "transcript has " + std::to_string(sent.size()) + " messages, not 1000";
    return std::nullopt;
  } catch (const std::exception& ex) {
    return std::string("malformed transcript: ") + ex.what();
  }
}

}  // namespace relais::crypto::test
