#include "relais/crypto/sealed.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>

#include "relais/crypto/certificate.hpp"
#include "relais/crypto/error.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

using json = nlohmann::json;

/// Unix seconds: the "now" of every test and vector (2026-01-01T00:00:00Z).
constexpr std::uint64_t now_s = 1767225600;

/// A worker with her identity, one signed prekey, her certificate and what the server would hand out.
struct test_worker {
  std::uint64_t id = 0;
  identity_key_pair identity;
  signed_prekey spk;
  memory_prekeys prekeys;
  bytes certificate;
  prekey_bundle bundle;
};

test_worker make_worker(const identity_key_pair& org, std::uint64_t id, bytes_view identity_seed, std::uint32_t spk_id,
                        bytes_view spk_secret, const std::string& name) {
  test_worker w;
  w.id = id;
  w.identity = identity_key_pair::from_seed(identity_seed);
  w.spk.id = spk_id;
  w.spk.key = x25519_key_pair::from_secret(spk_secret);
  w.spk.sig = w.identity.sign(signed_prekey_message(spk_id, w.spk.key.pub));
  w.prekeys.spks.emplace(spk_id, w.spk.key);
  const worker_certificate cert{org.public_key_bytes(), w.identity.public_key_bytes(), now_s - 86400,
                                now_s + 365 * 86400, name};
  if (sign_worker_certificate(org, cert, w.certificate)) throw std::runtime_error("cannot sign test certificate");
  w.bundle = make_bundle(w.identity, w.spk, nullptr);
  return w;
}

sealed_recipient recipient_of(const test_worker& w, const public_key& org_pub) {
  sealed_recipient r;
  if (verify_sealed_recipient(w.id, w.bundle, w.certificate, org_pub, now_s, r)) {
    throw std::runtime_error("test worker does not verify");
  }
  return r;
}

std::string errc_name(std::error_code ec) {
  if (!ec) return "ok";
  static const std::map<errc, std::string> names{
      {errc::malformed_input, "malformed_input"},       {errc::unsupported_version, "unsupported_version"},
      {errc::authentication_failed, "authentication_failed"}, {errc::invalid_public_key, "invalid_public_key"},
      {errc::unknown_prekey, "unknown_prekey"},         {errc::untrusted_org_key, "untrusted_org_key"},
      {errc::certificate_not_valid_now, "certificate_not_valid_now"}};
  auto it = names.find(static_cast<errc>(ec.value()));
  return it == names.end() ? ec.message() : it->second;
}

// ------------------------------------------------------------------ shared vectors (CRYPTO.md §17.6)

/// The fixture of the vectors: 17 workers (the 17th is never a recipient), an org, a beneficiary,
/// all drawn from RNG(32 x 0x17) in the documented order.
struct vector_world {
  identity_key_pair org;
  identity_key_pair beneficiary;
  std::vector<test_worker> workers;
};

vector_world make_world() {
  const bytes setup_seed(32, 0x17);
  deterministic_random rng(setup_seed);
  vector_world w;
  secret32 seed;
  rng.fill(seed.span());
  w.org = identity_key_pair::from_seed(seed.view());
  rng.fill(seed.span());
  w.beneficiary = identity_key_pair::from_seed(seed.view());
  for (std::uint32_t i = 0; i < 17; ++i) {
    secret32 spk_secret;
    rng.fill(seed.span());
    rng.fill(spk_secret.span());
    w.workers.push_back(make_worker(w.org, 101 + i, seed.view(), 0x01020300U + i, spk_secret.view(),
                                    "Travailleuse " + std::to_string(i + 1)));
  }
  return w;
}

struct vector_case {
  std::string name;
  sealed_purpose purpose;
  std::vector<std::size_t> recipients;  // indexes into the world's workers
  bytes plaintext;
};

std::vector<vector_case> vector_cases() {
  std::vector<vector_case> cases;
  cases.push_back({"prechat_two_workers", sealed_purpose::prechat, {0, 1},
                   test::bytes_of("Prénom : Louise\nMotif : je me sens seule depuis le décès de mon mari.\n"
                                  "Je préfère être rappelée le matin.")});
  bytes longest(max_prechat_plaintext(16));
  for (std::size_t i = 0; i < longest.size(); ++i) longest[i] = static_cast<std::uint8_t>(i % 251);
  std::vector<std::size_t> sixteen;
  for (std::size_t i = 0; i < 16; ++i) sixteen.push_back(i);
  cases.push_back({"prechat_sixteen_workers_longest", sealed_purpose::prechat, sixteen, longest});
  std::string letter;
  while (letter.size() < 700) letter += "Bonsoir, je n'ai pas pu attendre, je vous écris pour ma fille. ";
  cases.push_back({"inbox_three_workers", sealed_purpose::inbox, {2, 0, 5}, test::bytes_of(letter)});
  cases.push_back({"inbox_one_worker_empty", sealed_purpose::inbox, {3}, {}});
  return cases;
}

std::string purpose_name(sealed_purpose p) { return p == sealed_purpose::prechat ? "prechat" : "inbox"; }

/// The mutations checked on case 0's blob, opened by worker `opener` (16 is not a recipient).
struct mutation {
  std::string name;
  std::size_t opener = 0;
  std::optional<std::size_t> offset;
  std::optional<std::size_t> truncate_to;
  bool wrong_beneficiary = false;
  std::string expect;
};

std::vector<mutation> mutations(std::size_t blob_size) {
  // Layout of case 0: version (0), count (1), entry 0 at 2 (id 2..9, length 10..11, wrapped key
  // 12..96: version 12, spk_id 13..16, ephemeral 17..48, AEAD 49..96), entry 1 at 97..191,
  // content at 192 (version 192, nonce 193..216, AEAD 217..).
  return {
      {"blob_version", 0, 0, {}, false, "unsupported_version"},
      {"count_too_large", 0, 1, {}, false, "malformed_input"},
      {"wrapped_key_version", 0, 12, {}, false, "unsupported_version"},
      {"spk_id", 0, 16, {}, false, "unknown_prekey"},
      {"ephemeral_key", 0, 20, {}, false, "authentication_failed"},
      {"wrapped_key_ciphertext", 0, 60, {}, false, "authentication_failed"},
      {"wrapped_key_tag", 0, 96, {}, false, "authentication_failed"},
      {"other_entry_keeps_this_one_valid", 0, 150, {}, false, "ok"},
      {"content_version", 0, 192, {}, false, "unsupported_version"},
      {"content_nonce", 0, 200, {}, false, "authentication_failed"},
      {"content_body", 0, 300, {}, false, "authentication_failed"},
      {"content_tag", 0, blob_size - 1, {}, false, "authentication_failed"},
      {"truncated_by_one", 0, {}, blob_size - 1, false, "malformed_input"},
      {"truncated_in_entry", 0, {}, 50, false, "malformed_input"},
      {"not_a_recipient", 16, {}, {}, false, "unknown_prekey"},
      {"wrong_beneficiary_identity", 1, {}, {}, true, "authentication_failed"},
  };
}

json generate_vectors(const std::string& generator) {
  const vector_world w = make_world();
  json out;
  out["description"] =
      "Sealed-to-workers vectors (CRYPTO.md §17.6): every worker can open what was sealed to her; each "
      "language regenerates its own file byte for byte and opens the other's.";
  out["generator"] = generator;
  out["now"] = now_s;
  out["setup_seed"] = to_hex(bytes(32, 0x17));
  out["org_seed"] = to_hex(w.org.seed().view());
  out["beneficiary_seed"] = to_hex(w.beneficiary.seed().view());
  for (const auto& wk : w.workers) {
    out["workers"].push_back({{"worker_id", wk.id},
                              {"identity_seed", to_hex(wk.identity.seed().view())},
                              {"identity_key", to_hex(wk.identity.public_key_bytes())},
                              {"spk_id", wk.spk.id},
                              {"spk_secret", to_hex(wk.spk.key.secret.view())},
                              {"spk_pub", to_hex(wk.spk.key.pub)},
                              {"spk_signature", to_hex(wk.spk.sig)},
                              {"certificate", to_hex(wk.certificate)}});
  }
  std::size_t index = 0;
  for (const auto& c : vector_cases()) {
    const bytes rng_seed(32, static_cast<std::uint8_t>(0x20 + index++));
    deterministic_random rng(rng_seed);
    std::vector<sealed_recipient> rs;
    json ids = json::array();
    for (auto i : c.recipients) {
      rs.push_back(recipient_of(w.workers[i], w.org.public_key_bytes()));
      ids.push_back(w.workers[i].id);
    }
    json jc = {{"name", c.name},
               {"purpose", purpose_name(c.purpose)},
               {"rng_seed", to_hex(rng_seed)},
               {"recipients", ids},
               {"plaintext", to_hex(c.plaintext)}};
    if (c.purpose == sealed_purpose::prechat) {
      bytes blob;
      if (seal_prechat(w.beneficiary, rs, c.plaintext, rng, blob)) throw std::runtime_error("seal_prechat failed");
      jc["blob"] = to_hex(blob);
    } else {
      sealed_message m;
      if (seal_to_workers(c.purpose, w.beneficiary, rs, c.plaintext, rng, m)) throw std::runtime_error("seal failed");
      jc["ciphertext"] = to_hex(m.ciphertext);
      for (const auto& k : m.keys) jc["keys"].push_back({{"worker_id", k.worker_id}, {"wrapped_key", to_hex(k.wrapped_key)}});
    }
    out["cases"].push_back(jc);
  }
  const auto blob_size = test::hex(out["cases"][0]["blob"].get<std::string>()).size();
  for (const auto& m : mutations(blob_size)) {
    json jm = {{"name", m.name}, {"opener", w.workers[m.opener].id}, {"wrong_beneficiary", m.wrong_beneficiary},
               {"expect", m.expect}};
    if (m.offset) jm["xor_offset"] = *m.offset;
    if (m.truncate_to) jm["truncate_to"] = *m.truncate_to;
    out["prechat_mutations"].push_back(jm);
  }
  return out;
}

/// Opens every case of a vector file (written by either language) with this implementation and
/// checks the keys, the plaintexts, that sealing again gives the same bytes, and the mutations.
std::optional<std::string> check_vectors(const json& v) {
  const vector_world w = make_world();
  if (v.at("org_seed") != to_hex(w.org.seed().view())) return "setup differs: org seed";
  if (v.at("beneficiary_seed") != to_hex(w.beneficiary.seed().view())) return "setup differs: beneficiary seed";
  std::map<std::uint64_t, const test_worker*> by_id;
  for (std::size_t i = 0; i < w.workers.size(); ++i) {
    const auto& jw = v.at("workers").at(i);
    const auto& wk = w.workers[i];
    if (jw.at("certificate") != to_hex(wk.certificate) || jw.at("spk_pub") != to_hex(wk.spk.key.pub) ||
        jw.at("identity_key") != to_hex(wk.identity.public_key_bytes())) {
      return "worker " + std::to_string(i) + " keys differ";
    }
    by_id[wk.id] = &wk;
  }
  for (const auto& c : v.at("cases")) {
    const std::string name = c.at("name");
    const bytes expected = test::hex(c.at("plaintext").get<std::string>());
    const bool prechat = c.at("purpose") == "prechat";
    for (const auto& id : c.at("recipients")) {
      const test_worker& wk = *by_id.at(id.get<std::uint64_t>());
      bytes pt;
      std::error_code ec;
      if (prechat) {
        ec = open_prechat(wk.identity, wk.id, wk.prekeys, w.beneficiary.public_key_bytes(),
                          test::hex(c.at("blob").get<std::string>()), pt);
      } else {
        std::string wrapped;
        for (const auto& k : c.at("keys")) {
          if (k.at("worker_id") == id) wrapped = k.at("wrapped_key");
        }
        ec = open_sealed(sealed_purpose::inbox, wk.identity, wk.prekeys, w.beneficiary.public_key_bytes(),
                         test::hex(wrapped), test::hex(c.at("ciphertext").get<std::string>()), pt);
      }
      if (ec) return name + ": worker " + std::to_string(wk.id) + " cannot open: " + ec.message();
      if (pt != expected) return name + ": worker " + std::to_string(wk.id) + " got another plaintext";
    }
  }
  // Same deterministic inputs, same bytes: this implementation seals exactly what the other did.
  const json mine = generate_vectors(v.at("generator"));
  if (mine.at("cases") != v.at("cases")) return "sealing the same inputs gives other bytes";
  const bytes blob = test::hex(v.at("cases").at(0).at("blob").get<std::string>());
  for (const auto& m : v.at("prechat_mutations")) {
    bytes b = blob;
    if (m.contains("xor_offset")) b.at(m.at("xor_offset").get<std::size_t>()) ^= 0x10;
    if (m.contains("truncate_to")) b.resize(m.at("truncate_to").get<std::size_t>());
    const test_worker& wk = *by_id.at(m.at("opener").get<std::uint64_t>());
    const public_key ben = m.at("wrong_beneficiary").get<bool>() ? w.workers[16].identity.public_key_bytes()
                                                                  : w.beneficiary.public_key_bytes();
    bytes pt;
    const auto got = errc_name(open_prechat(wk.identity, wk.id, wk.prekeys, ben, b, pt));
    if (got != m.at("expect")) return "mutation " + m.at("name").get<std::string>() + ": expected " +
                                      m.at("expect").get<std::string>() + ", got " + got;
  }
  return std::nullopt;
}

TEST(SealedVectors, GeneratorReproducesCommittedCppFile) {
  ASSERT_TRUE(sodium_init_once());
  const json fresh = generate_vectors("cpp");
  if (const char* dir = std::getenv("RELAIS_REGENERATE_VECTORS")) {
    // Maintainers only: RELAIS_REGENERATE_VECTORS=1 ./relais_crypto_tests --gtest_filter=SealedVectors.*
    (void)dir;
    std::ofstream(std::string(RELAIS_VECTORS_DIR) + "/sealed_vectors_cpp.json") << fresh.dump(2) << '\n';
  }
  EXPECT_EQ(fresh, test::load_vectors("sealed_vectors_cpp.json"));
}

TEST(SealedVectors, OpensCommittedCppFile) {
  ASSERT_TRUE(sodium_init_once());
  EXPECT_EQ(check_vectors(test::load_vectors("sealed_vectors_cpp.json")), std::nullopt);
}

TEST(SealedVectors, OpensWhatTypeScriptSealed) {
  ASSERT_TRUE(sodium_init_once());
  const json ts = test::load_vectors("sealed_vectors_ts.json");
  EXPECT_EQ(ts.at("generator"), "ts");
  EXPECT_EQ(check_vectors(ts), std::nullopt);
}

TEST(SealedVectors, CheckerCatchesAChangedByteAndAWrongExpectation) {
  ASSERT_TRUE(sodium_init_once());
  json v = test::load_vectors("sealed_vectors_cpp.json");
  std::string ct = v["cases"][2]["ciphertext"];
  ct[100] = ct[100] == '0' ? '1' : '0';
  json changed = v;
  changed["cases"][2]["ciphertext"] = ct;
  ASSERT_TRUE(check_vectors(changed).has_value());
  EXPECT_NE(check_vectors(changed)->find("inbox_three_workers"), std::string::npos) << *check_vectors(changed);
  json wrong = v;
  wrong["prechat_mutations"][0]["expect"] = "ok";
  ASSERT_TRUE(check_vectors(wrong).has_value());
}

// ------------------------------------------------------------------ behaviour and failure modes

class Sealed : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(sodium_init_once()); }

  std::vector<sealed_recipient> recipients(std::initializer_list<std::size_t> indexes) const {
    std::vector<sealed_recipient> out;
    for (auto i : indexes) out.push_back(recipient_of(world_.workers[i], world_.org.public_key_bytes()));
    return out;
  }
  sealed_message seal(sealed_purpose purpose, std::initializer_list<std::size_t> indexes, const std::string& text) {
    sealed_message m;
    deterministic_random rng(bytes(32, 0x42));
    EXPECT_FALSE(seal_to_workers(purpose, world_.beneficiary, recipients(indexes), test::bytes_of(text), rng, m));
    return m;
  }
  std::error_code open(sealed_purpose purpose, std::size_t worker, bytes_view wrapped, bytes_view ciphertext,
                       bytes& out, const public_key* beneficiary = nullptr) const {
    const auto& w = world_.workers[worker];
    return open_sealed(purpose, w.identity, w.prekeys,
                       beneficiary ? *beneficiary : world_.beneficiary.public_key_bytes(), wrapped, ciphertext, out);
  }
  const public_key& org_pub() const { return world_.org.public_key_bytes(); }

  vector_world world_ = make_world();
};

TEST_F(Sealed, EachRecipientOpensTheSameContent) {
  auto m = seal(sealed_purpose::inbox, {0, 1, 2}, "Bonjour, pouvez-vous me rappeler ?");
  ASSERT_EQ(m.keys.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m.keys[i].worker_id, world_.workers[i].id);
    EXPECT_EQ(m.keys[i].wrapped_key.size(), sealed_wrapped_key_bytes);
    bytes pt;
    ASSERT_FALSE(open(sealed_purpose::inbox, i, m.keys[i].wrapped_key, m.ciphertext, pt)) << i;
    EXPECT_EQ(pt, test::bytes_of("Bonjour, pouvez-vous me rappeler ?"));
  }
  EXPECT_EQ(m.ciphertext.size(), sealed_content_overhead + 256);  // padded to one block
}

TEST_F(Sealed, DrawsTheDocumentedRandomness) {
  deterministic_random rng(bytes(32, 0x42));
  sealed_message m;
  ASSERT_FALSE(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, recipients({0, 1, 2}), {}, rng, m));
  EXPECT_EQ(rng.draws(), 2U + 3U);  // content key, nonce, one ephemeral key per recipient
  // Draw 1 is the nonce, in clear after the version byte.
  deterministic_random again(bytes(32, 0x42));
  secret32 key;
  again.fill(key.span());
  xnonce nonce{};
  again.fill(nonce);
  EXPECT_TRUE(std::equal(nonce.begin(), nonce.end(), m.ciphertext.begin() + 1));
}

TEST_F(Sealed, RejectsWrongWorker) {
  auto m = seal(sealed_purpose::inbox, {0}, "pour la travailleuse 1");
  bytes pt;
  // Worker 2 holding a prekey under worker 1's spk_id: her keys do not open it.
  auto other = world_.workers[1];
  other.prekeys.spks.emplace(world_.workers[0].spk.id, other.spk.key);
  EXPECT_EQ(open_sealed(sealed_purpose::inbox, other.identity, other.prekeys, world_.beneficiary.public_key_bytes(),
                        m.keys[0].wrapped_key, m.ciphertext, pt),
            errc::authentication_failed);
  // Worker 1's prekey but another identity: the AD binds the recipient identity.
  other.prekeys.spks.clear();
  other.prekeys.spks.emplace(world_.workers[0].spk.id, world_.workers[0].spk.key);
  EXPECT_EQ(open_sealed(sealed_purpose::inbox, other.identity, other.prekeys, world_.beneficiary.public_key_bytes(),
                        m.keys[0].wrapped_key, m.ciphertext, pt),
            errc::authentication_failed);
  EXPECT_TRUE(pt.empty());
}

TEST_F(Sealed, RejectsTamperedWrappedKey) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  for (std::size_t i = 5; i < sealed_wrapped_key_bytes; ++i) {  // ephemeral key, wrapped key, tag
    bytes bad = m.keys[0].wrapped_key;
    bad[i] ^= 0x01;
    bytes pt;
    auto ec = open(sealed_purpose::inbox, 0, bad, m.ciphertext, pt);
    // A flipped ephemeral bit may land on a low-order point: then it is refused as such.
    EXPECT_TRUE(ec == errc::authentication_failed || (i < 37 && ec == errc::invalid_public_key)) << i << " " << ec.message();
  }
}

TEST_F(Sealed, RejectsTamperedContent) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  for (std::size_t i : {std::size_t{1}, std::size_t{24}, std::size_t{25}, std::size_t{200}, m.ciphertext.size() - 1}) {
    bytes bad = m.ciphertext;
    bad[i] ^= 0x80;
    bytes pt;
    EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, bad, pt), errc::authentication_failed) << i;
  }
  // Content re-encrypted under the same key by someone who knows it (another recipient) still
  // fails: each wrap binds the content's hash.
  bytes pt;
  auto other = seal(sealed_purpose::inbox, {0}, "autre contenu");
  EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, other.ciphertext, pt), errc::authentication_failed);
}

TEST_F(Sealed, RejectsWrongBeneficiaryIdentity) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  bytes pt;
  const public_key someone = world_.workers[16].identity.public_key_bytes();
  EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, m.ciphertext, pt, &someone),
            errc::authentication_failed);
  const public_key low_order{};  // all zero: not an Ed25519 key that converts
  EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, m.ciphertext, pt, &low_order),
            errc::invalid_public_key);
}

TEST_F(Sealed, RejectsTruncated) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  bytes pt;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{37}, sealed_wrapped_key_bytes - 1}) {
    bytes w(m.keys[0].wrapped_key.begin(), m.keys[0].wrapped_key.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(open(sealed_purpose::inbox, 0, w, m.ciphertext, pt), errc::malformed_input) << n;
  }
  bytes longer = m.keys[0].wrapped_key;
  longer.push_back(0);
  EXPECT_EQ(open(sealed_purpose::inbox, 0, longer, m.ciphertext, pt), errc::malformed_input);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{41}, m.ciphertext.size() - 1}) {
    bytes c(m.ciphertext.begin(), m.ciphertext.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, c, pt), errc::malformed_input) << n;
  }
}

TEST_F(Sealed, RejectsUnknownVersion) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  bytes pt;
  bytes w = m.keys[0].wrapped_key;
  w[0] = 0x02;
  EXPECT_EQ(open(sealed_purpose::inbox, 0, w, m.ciphertext, pt), errc::unsupported_version);
  bytes c = m.ciphertext;
  c[0] = 0x02;
  EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, c, pt), errc::unsupported_version);
  bytes blob;
  deterministic_random rng(bytes(32, 1));
  ASSERT_FALSE(seal_prechat(world_.beneficiary, recipients({0}), test::bytes_of("x"), rng, blob));
  blob[0] = 0x00;
  const auto& w0 = world_.workers[0];
  EXPECT_EQ(open_prechat(w0.identity, w0.id, w0.prekeys, world_.beneficiary.public_key_bytes(), blob, pt),
            errc::unsupported_version);
}

TEST_F(Sealed, RejectsUnknownSpkId) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  auto w = world_.workers[0];
  // The worker rotated her signed prekey: the old one still opens what was sealed to it...
  signed_prekey next = w.spk;
  next.id = w.spk.id + 1;
  next.key = x25519_key_pair::from_secret(bytes(32, 0x99));
  w.prekeys.spks.emplace(next.id, next.key);
  bytes pt;
  EXPECT_FALSE(open_sealed(sealed_purpose::inbox, w.identity, w.prekeys, world_.beneficiary.public_key_bytes(),
                           m.keys[0].wrapped_key, m.ciphertext, pt));
  // ...until she deletes it (CRYPTO.md §11).
  w.prekeys.spks.erase(w.spk.id);
  EXPECT_EQ(open_sealed(sealed_purpose::inbox, w.identity, w.prekeys, world_.beneficiary.public_key_bytes(),
                        m.keys[0].wrapped_key, m.ciphertext, pt),
            errc::unknown_prekey);
}

TEST_F(Sealed, RejectsLowOrderEphemeralKey) {
  auto m = seal(sealed_purpose::inbox, {0}, "message");
  // Curve25519's low-order points (libsodium's blacklist): X25519 with any of them is all zeros.
  for (const char* point : {"0000000000000000000000000000000000000000000000000000000000000000",
                            "0100000000000000000000000000000000000000000000000000000000000000",
                            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"}) {
    bytes w = m.keys[0].wrapped_key;
    const bytes p = test::hex(point);
    std::copy(p.begin(), p.end(), w.begin() + 5);
    bytes pt;
    EXPECT_EQ(open(sealed_purpose::inbox, 0, w, m.ciphertext, pt), errc::invalid_public_key) << point;
  }
}

TEST_F(Sealed, RejectsContentOfTheOtherPurpose) {
  auto m = seal(sealed_purpose::prechat, {0}, "réponses");
  bytes pt;
  EXPECT_EQ(open(sealed_purpose::inbox, 0, m.keys[0].wrapped_key, m.ciphertext, pt), errc::authentication_failed);
  EXPECT_FALSE(open(sealed_purpose::prechat, 0, m.keys[0].wrapped_key, m.ciphertext, pt));
}

TEST_F(Sealed, RefusesRecipientsThatDoNotVerify) {
  const auto& w = world_.workers[0];
  sealed_recipient r;
  // Another organisation's key pinned.
  public_key other_org = org_pub();
  other_org[0] ^= 1;
  EXPECT_EQ(verify_sealed_recipient(w.id, w.bundle, w.certificate, other_org, now_s, r), errc::untrusted_org_key);
  // Expired certificate.
  EXPECT_EQ(verify_sealed_recipient(w.id, w.bundle, w.certificate, org_pub(), now_s + 400 * 86400, r),
            errc::certificate_not_valid_now);
  // A certificate for another worker's identity key.
  EXPECT_EQ(verify_sealed_recipient(w.id, w.bundle, world_.workers[1].certificate, org_pub(), now_s, r),
            errc::authentication_failed);
  // A swapped signed prekey (bad SPK signature).
  prekey_bundle swapped = w.bundle;
  swapped.spk_pub = world_.workers[1].spk.key.pub;
  EXPECT_EQ(verify_sealed_recipient(w.id, swapped, w.certificate, org_pub(), now_s, r), errc::authentication_failed);
  // A damaged certificate.
  EXPECT_EQ(verify_sealed_recipient(w.id, w.bundle, bytes(10, 0), org_pub(), now_s, r), errc::malformed_input);
  // The good one, with a one-time prekey in the bundle (ignored).
  prekey_bundle with_opk = w.bundle;
  with_opk.opk_id = 5;
  with_opk.opk_pub = world_.workers[2].spk.key.pub;
  ASSERT_FALSE(verify_sealed_recipient(w.id, with_opk, w.certificate, org_pub(), now_s, r));
  EXPECT_EQ(r.display_name(), "Travailleuse 1");
  EXPECT_EQ(r.spk_id(), w.spk.id);
}

TEST_F(Sealed, RefusesBadRecipientLists) {
  deterministic_random rng(bytes(32, 3));
  sealed_message m;
  EXPECT_EQ(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, {}, {}, rng, m), errc::malformed_input);
  auto twice = recipients({0, 1, 0});
  EXPECT_EQ(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, twice, {}, rng, m), errc::malformed_input);
  std::vector<sealed_recipient> seventeen;
  for (std::size_t i = 0; i < 17; ++i) seventeen.push_back(recipient_of(world_.workers[i], org_pub()));
  EXPECT_EQ(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, seventeen, {}, rng, m), errc::malformed_input);
  seventeen.pop_back();
  EXPECT_FALSE(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, seventeen, {}, rng, m));
}

TEST_F(Sealed, PlaintextLimitsFitExactly) {
  EXPECT_EQ(max_prechat_plaintext(1), 3839U);
  EXPECT_EQ(max_prechat_plaintext(16), 2303U);
  EXPECT_EQ(max_inbox_plaintext(), 40703U);
  for (std::size_t n : {std::size_t{1}, std::size_t{16}}) {
    std::vector<sealed_recipient> rs;
    for (std::size_t i = 0; i < n; ++i) rs.push_back(recipient_of(world_.workers[i], org_pub()));
    deterministic_random rng(bytes(32, 4));
    bytes blob;
    ASSERT_FALSE(seal_prechat(world_.beneficiary, rs, bytes(max_prechat_plaintext(n), 'a'), rng, blob)) << n;
    EXPECT_LE(blob.size(), limits::max_prechat_blob);
    EXPECT_GT(blob.size() + 256, limits::max_prechat_blob);  // the next block would not fit
    EXPECT_EQ(seal_prechat(world_.beneficiary, rs, bytes(max_prechat_plaintext(n) + 1, 'a'), rng, blob),
              errc::malformed_input);
  }
  deterministic_random rng(bytes(32, 5));
  sealed_message m;
  ASSERT_FALSE(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, recipients({0}),
                               bytes(max_inbox_plaintext(), 'b'), rng, m));
  EXPECT_EQ(m.ciphertext.size(), 40745U);
  EXPECT_EQ(seal_to_workers(sealed_purpose::inbox, world_.beneficiary, recipients({0}),
                            bytes(max_inbox_plaintext() + 1, 'b'), rng, m),
            errc::malformed_input);
}

TEST_F(Sealed, PrechatOpensOnlyForItsRecipients) {
  deterministic_random rng(bytes(32, 6));
  bytes blob;
  ASSERT_FALSE(seal_prechat(world_.beneficiary, recipients({3, 7}), test::bytes_of("urgence : non"), rng, blob));
  EXPECT_EQ(blob.size(), 2 + 2 * (10 + sealed_wrapped_key_bytes) + sealed_content_overhead + 256);
  bytes pt;
  for (std::size_t i : {std::size_t{3}, std::size_t{7}}) {
    const auto& w = world_.workers[i];
    ASSERT_FALSE(open_prechat(w.identity, w.id, w.prekeys, world_.beneficiary.public_key_bytes(), blob, pt));
    EXPECT_EQ(pt, test::bytes_of("urgence : non"));
  }
  const auto& not_addressed = world_.workers[4];
  EXPECT_EQ(open_prechat(not_addressed.identity, not_addressed.id, not_addressed.prekeys,
                         world_.beneficiary.public_key_bytes(), blob, pt),
            errc::unknown_prekey);
}

TEST_F(Sealed, DecodePrechatRejectsMalformedBlobs) {
  deterministic_random rng(bytes(32, 7));
  bytes blob;
  ASSERT_FALSE(seal_prechat(world_.beneficiary, recipients({0, 1}), test::bytes_of("x"), rng, blob));
  sealed_message m;
  ASSERT_FALSE(decode_prechat(blob, m));
  auto with = [&](std::size_t offset, std::uint8_t value) {
    bytes b = blob;
    b[offset] = value;
    return decode_prechat(b, m);
  };
  EXPECT_EQ(with(1, 0), errc::malformed_input);   // no recipient
  EXPECT_EQ(with(1, 17), errc::malformed_input);  // too many
  EXPECT_EQ(with(1, 3), errc::malformed_input);   // more entries than there are: runs into the content
  EXPECT_EQ(with(10, 0xFF), errc::malformed_input);  // length beyond the blob
  bytes zero_len = blob;
  zero_len[10] = 0;
  zero_len[11] = 0;
  EXPECT_EQ(decode_prechat(zero_len, m), errc::malformed_input);
  bytes same_ids = blob;  // entry 1's id made equal to entry 0's
  std::copy(blob.begin() + 2, blob.begin() + 10, same_ids.begin() + 97);
  EXPECT_EQ(decode_prechat(same_ids, m), errc::malformed_input);
  bytes no_content(blob.begin(), blob.begin() + 192);
  EXPECT_EQ(decode_prechat(no_content, m), errc::malformed_input);
  bytes oversize = blob;
  oversize.resize(limits::max_prechat_blob + 1);
  EXPECT_EQ(decode_prechat(oversize, m), errc::malformed_input);
  EXPECT_EQ(decode_prechat({}, m), errc::malformed_input);
}

TEST_F(Sealed, EncodePrechatRefusesWhatDoesNotFit) {
  sealed_message m = seal(sealed_purpose::prechat, {0}, "x");
  bytes blob;
  ASSERT_FALSE(encode_prechat(m, blob));
  sealed_message big = m;
  big.ciphertext.resize(limits::max_prechat_blob);
  EXPECT_EQ(encode_prechat(big, blob), errc::malformed_input);
  sealed_message empty_key = m;
  empty_key.keys[0].wrapped_key.clear();
  EXPECT_EQ(encode_prechat(empty_key, blob), errc::malformed_input);
  sealed_message no_keys = m;
  no_keys.keys.clear();
  EXPECT_EQ(encode_prechat(no_keys, blob), errc::malformed_input);
}

}  // namespace
}  // namespace relais::crypto
