#include "relais_protocol_client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "relais/crypto/certificate.hpp"
#include "relais/crypto/encoding.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"

namespace relais::bench {

namespace pr = relais::protocol;

namespace limits {
/// Characters of a frame quoted in an error message (enough for an `error` frame).
inline constexpr std::size_t quoted_frame = 300;
/// Seconds a bench worker certificate is valid (a run is minutes; a day covers clock skew).
inline constexpr std::uint64_t certificate_validity_s = 24 * 3600;
/// One-time prekeys in one keys.publish (PROTOCOL.md §10).
inline constexpr int max_published_opks = 100;
/// Digits of the per-side counter in a measured client_msg_id.
inline constexpr std::size_t counter_digits = 12;
/// Digits of the stamp in a measured client_msg_id.
inline constexpr std::size_t stamp_digits = 20;
}  // namespace limits

namespace {

std::uint64_t unix_seconds() { return static_cast<std::uint64_t>(std::time(nullptr)); }

std::string quote(std::string_view frame) {
  return std::string(frame.substr(0, limits::quoted_frame)) + (frame.size() > limits::quoted_frame ? "..." : "");
}

crypto::bytes to_bytes(const std::string& s) { return crypto::bytes(s.begin(), s.end()); }

/// A fixed-size key out of encoded bytes, or a fatal error naming the field.
template <std::size_t N>
std::array<std::uint8_t, N> fixed(const pr::encoded_bytes& b, const std::string& field) {
  std::array<std::uint8_t, N> out{};
  if (b.decode_into(out)) fatal("server sent " + field + " of " + std::to_string(b.size()) + " bytes");
  return out;
}

}  // namespace

// ---------------------------------------------------------------- org key

std::string make_org_key_file(const std::string& path) {
  crypto::system_random rng;
  auto org = crypto::identity_key_pair::generate(rng);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  const auto hex = crypto::to_hex(org.seed().view()) + "\n";
  const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
  return pr::base64url_encode(std::span<const std::uint8_t>(org.public_key_bytes()));
}

crypto::identity_key_pair load_org_key_file(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) throw std::runtime_error("cannot read the org key from " + path);
  auto seed = crypto::from_hex(line);
  if (!seed || seed->size() != 32) throw std::runtime_error(path + ": expected 64 hex characters");
  return crypto::identity_key_pair::from_seed(*seed);
}

// ---------------------------------------------------------------- worker_account

worker_account::worker_account(std::string name, std::string pass, const crypto::identity_key_pair& org,
                               int opk_count)
    : username(std::move(name)), password(std::move(pass)) {
  crypto::system_random rng;
  identity = crypto::identity_key_pair::generate(rng);
  spk = crypto::make_signed_prekey(identity, 1, rng);
  prekeys.spks[spk.id] = spk.key;
  for (int i = 0; i < opk_count; ++i) {
    crypto::one_time_prekey k;
    k.id = static_cast<std::uint32_t>(100 + i);
    k.key = crypto::x25519_key_pair::generate(rng);
    prekeys.opks[k.id] = k.key;
    opks.push_back(std::move(k));
  }
  crypto::worker_certificate cert;
  cert.org_key = org.public_key_bytes();
  cert.worker_identity = identity.public_key_bytes();
  const auto now = unix_seconds();
  cert.not_before = now - limits::certificate_validity_s;
  cert.not_after = now + limits::certificate_validity_s;
  cert.display_name = username;
  if (auto ec = crypto::sign_worker_certificate(org, cert, certificate)) {
    throw std::runtime_error("cannot sign the certificate of " + username + ": " + ec.message());
  }
}

// ---------------------------------------------------------------- relais_connection

relais_connection::relais_connection(std::string name, io_pool& pool, unsigned io_index, const endpoint& ep)
    : name_(std::move(name)), pool_(pool), io_index_(io_index), ep_(ep) {}

void relais_connection::start(std::size_t index, pr::peer_role role,
                              std::function<void(const pr::welcome&)> welcomed) {
  role_ = role;
  welcomed_ = std::move(welcomed);
  conn_ = make_transport(pool_, io_index_, ep_, *this);
  conn_->start(index);
}

void relais_connection::on_open() {
  pr::hello h;
  h.versions = {1};
  h.role = role_;
  h.client = "relais-bench/0.1";
  expect("welcome", [this](const pr::message& m) { welcomed_(std::get<pr::welcome>(m)); });
  send(pr::encode(h));
}

void relais_connection::send(const std::string& frame) { conn_->send(frame); }

void relais_connection::expect(std::string_view type, handler h) { expected_.emplace_back(std::string(type), std::move(h)); }

void relais_connection::on_frame(std::string_view frame) {
  std::error_code ec;
  pr::decode_diagnostics diag;
  auto m = pr::decode_from_server(frame, ec, &diag);
  if (ec) {
    fatal(name_ + ": invalid frame from the server (" + ec.message() + (diag.field.empty() ? "" : " at " + diag.field) +
          "): " + quote(frame));
  }
  const auto type = pr::type_name(m);
  if (type == "error") {
    if (error_filter_ && error_filter_(std::get<pr::error_message>(m))) return;
    fatal(name_ + ": the server answered with an error: " + quote(frame));
  }
  for (auto it = expected_.begin(); it != expected_.end(); ++it) {
    if (it->first == type) {
      auto h = std::move(it->second);
      expected_.erase(it);
      h(m);
      return;
    }
  }
  if (traffic_ && traffic_(m)) return;
  // Pushes a bench client may receive at any time and has no use for.
  static constexpr std::array<std::string_view, 8> ignored{
      "queue.position",    "queue.snapshot",         "permanence.status",   "keys.low",
      "inbox.count",       "conversation.delivered", "conversation.read",   "shift.state"};
  for (auto t : ignored) {
    if (t == type) return;
  }
  fatal(name_ + ": unexpected frame: " + quote(frame));
}

void relais_connection::on_closed(const std::string& why) { fatal(name_ + ": " + why); }

void relais_connection::drop() {
  if (conn_) conn_->close();
  conn_.reset();
  expected_.clear();
}

// ---------------------------------------------------------------- relais_link

relais_link::relais_link(io_pool& pool, unsigned io_index, std::size_t index, worker_account& account,
                         bool publishes, const relais_run_settings& settings)
    : pool_(pool),
      io_index_(io_index),
      index_(index),
      account_(account),
      publishes_(publishes),
      settings_(settings),
      plaintext_(settings.plaintext_size, std::uint8_t{'x'}) {
  beneficiary_identity_ = crypto::identity_key_pair::generate(rng_);
  beneficiary_ = std::make_unique<relais_connection>(what(0), pool_, io_index_, settings_.ep);
  worker_ = std::make_unique<relais_connection>(what(1), pool_, io_index_, settings_.ep);
  beneficiary_->set_traffic([this](const pr::message& m) { return on_traffic(0, m); });
  worker_->set_traffic([this](const pr::message& m) { return on_traffic(1, m); });
}

std::string relais_link::what(int side) const {
  return "link " + std::to_string(index_) + (side == 0 ? " beneficiary" : " worker " + account_.username);
}

std::vector<std::string> relais_link::phases() const {
  std::vector<std::string> p{"worker_publish", "worker_login", "beneficiary_auth", "join_and_take"};
  if (!settings_.precomputed) p.emplace_back("x3dh");
  return p;
}

void relais_link::run_phase(std::size_t p, std::function<void()> done) {
  // The account's first link logs in and publishes before the other devices log in: relaisd
  // reads a worker's identity key at login, so a device that logged in before the publication
  // would be told keys_not_found by queue.take.
  switch (p) {
    case 0:
      return publishes_ ? worker_login(std::move(done)) : done();
    case 1:
      return publishes_ ? done() : worker_login(std::move(done));
    case 2:
      return beneficiary_auth(std::move(done));
    case 3:
      return join_and_take(std::move(done));
    default:
      return handshake(std::move(done));
  }
}

void relais_link::worker_login(std::function<void()> done) {
  // One session per (worker, device): each link is a device of its own.
  worker_login_and_shift(*worker_, 2 * index_ + 1, account_, "bench-" + std::to_string(index_), publishes_,
                         std::move(done));
}

void worker_login_and_shift(relais_connection& conn, std::size_t index, worker_account& account, std::string device,
                            bool publish, std::function<void()> done) {
  conn.start(index, pr::peer_role::worker, [&conn, &account, device = std::move(device), publish,
                                            done = std::move(done)](const pr::welcome&) {
    pr::auth_login login;
    login.rid = "login";
    login.username = account.username;
    login.password = account.password;
    login.device = device;
    conn.expect("auth.ok", [&conn, &account, publish, done](const pr::message&) {
      auto start_shift = [&conn, &account, done] {
        pr::shift_start s;
        s.rid = "shift";
        conn.expect("shift.state", [&account, done](const pr::message& m) {
          const auto& st = std::get<pr::shift_state>(m);
          if (st.state != pr::on_call_state::on) {
            fatal("worker " + account.username + ": shift.start answered a state other than on");
          }
          done();
        });
        conn.send(pr::encode(s));
      };
      if (!publish) return start_shift();
      pr::keys_publish k;
      k.rid = "publish";
      k.identity_key = pr::encoded_bytes::from_bytes(account.identity.public_key_bytes());
      k.spk_id = account.spk.id;
      k.spk_pub = pr::encoded_bytes::from_bytes(account.spk.key.pub);
      k.spk_signature = pr::encoded_bytes::from_bytes(account.spk.sig);
      std::vector<pr::one_time_prekey> opks;
      for (const auto& o : account.opks) {
        if (opks.size() == static_cast<std::size_t>(limits::max_published_opks)) break;
        opks.push_back(pr::one_time_prekey{o.id, pr::encoded_bytes::from_bytes(o.key.pub)});
      }
      if (!opks.empty()) k.one_time_prekeys = std::move(opks);
      k.worker_certificate = pr::encoded_bytes::from_bytes(account.certificate);
      conn.expect("ok", [start_shift](const pr::message&) { start_shift(); });
      conn.send(pr::encode(k));
    });
    conn.send(pr::encode(login));
  });
}

void relais_link::beneficiary_auth(std::function<void()> done) {
  beneficiary_->start(2 * index_, pr::peer_role::beneficiary, [this, done](const pr::welcome& w) {
    std::error_code ec;
    auto input = pr::beneficiary_auth_signing_input(w.challenge, ec);
    if (ec) fatal(what(0) + ": welcome.challenge is not 32 bytes");
    pr::auth_beneficiary a;
    a.rid = "auth";
    a.identity_key = pr::encoded_bytes::from_bytes(beneficiary_identity_.public_key_bytes());
    a.signature = pr::encoded_bytes::from_bytes(beneficiary_identity_.sign(input));
    beneficiary_->expect("auth.ok", [done](const pr::message&) { done(); });
    beneficiary_->send(pr::encode(a));
  });
}

void relais_link::join_and_take(std::function<void()> done) {
  pr::queue_join j;
  j.rid = "join";
  j.urgent = false;
  beneficiary_->expect("queue.position", [this, done](const pr::message&) {
    // Both the worker's assignment and the beneficiary's opening must arrive, in any order.
    auto remaining = std::make_shared<int>(2);
    auto one_more = [remaining, done] {
      if (--*remaining == 0) done();
    };
    beneficiary_->expect("conversation.opened", [this, one_more](const pr::message& m) {
      const auto& o = std::get<pr::conversation_opened>(m);
      if (conversation_id_ != 0 && o.conversation_id != conversation_id_) {
        fatal(what(0) + ": conversation.opened names another conversation than conversation.assigned");
      }
      conversation_id_ = o.conversation_id;
      one_more();
    });
    pr::queue_take t;
    t.rid = "take";
    expect_take_reply(one_more);
    worker_->send(pr::encode(t));
  });
  beneficiary_->send(pr::encode(j));
}

void relais_link::expect_take_reply(std::function<void()> one_more) {
  worker_->expect("conversation.assigned", [this, one_more](const pr::message& m) {
    const auto& a = std::get<pr::conversation_assigned>(m);
    // Without rid: the push of a take by another device of the same account (PROTOCOL.md
    // §6.5 queue.take), not this link's reply.
    if (!a.rid) return expect_take_reply(one_more);
    if (a.beneficiary_key.text() !=
        pr::encoded_bytes::from_bytes(beneficiary_identity_.public_key_bytes()).text()) {
      fatal(what(1) + ": queue.take gave another beneficiary than the only one waiting");
    }
    if (conversation_id_ != 0 && a.conversation_id != conversation_id_) {
      fatal(what(1) + ": conversation.assigned names another conversation than conversation.opened");
    }
    conversation_id_ = a.conversation_id;
    one_more();
  });
}

void initiate_from_bundle(const pr::keys_bundle& b, const crypto::public_key& org, const crypto::identity_key_pair& me,
                          crypto::random_source& rng, crypto::session& out, const std::string& who) {
  if (!b.worker_certificate) fatal(who + ": keys.bundle of a worker without worker_certificate");
  crypto::worker_certificate cert;
  const auto cert_bytes = to_bytes(b.worker_certificate->decode());
  if (auto ec = crypto::verify_worker_certificate(cert_bytes, org, unix_seconds(), cert)) {
    fatal(who + ": the worker certificate does not verify against the org key: " + ec.message());
  }
  crypto::prekey_bundle bundle;
  bundle.identity_key = fixed<32>(b.identity_key, "identity_key");
  if (cert.worker_identity != bundle.identity_key) fatal(who + ": the certificate is for another identity");
  bundle.spk_id = static_cast<std::uint32_t>(b.spk_id);
  bundle.spk_pub = fixed<32>(b.spk_pub, "spk_pub");
  bundle.spk_signature = fixed<64>(b.spk_signature, "spk_signature");
  if (b.opk_id && b.opk_pub) {
    bundle.opk_id = static_cast<std::uint32_t>(*b.opk_id);
    bundle.opk_pub = fixed<32>(*b.opk_pub, "opk_pub");
  }
  if (auto ec = crypto::session::initiate(me, bundle, rng, out)) {
    fatal(who + ": X3DH with the worker's bundle failed: " + ec.message());
  }
}

void relais_link::handshake(std::function<void()> done) {
  // The beneficiary fetches the worker's bundle, checks the certificate against the org key,
  // runs X3DH and sends a first (type 0x01) message; the worker accepts it and answers; the
  // link is ready when the beneficiary decrypted the answer and both sides had their acks.
  auto remaining = std::make_shared<int>(3);
  auto one_more = [remaining, done] {
    if (--*remaining == 0) done();
  };
  pr::keys_fetch f;
  f.rid = "fetch";
  f.conversation_id = conversation_id_;
  beneficiary_->expect("keys.bundle", [this, one_more](const pr::message& m) {
    initiate_from_bundle(std::get<pr::keys_bundle>(m), settings_.org_public, beneficiary_identity_, rng_,
                         beneficiary_session_, what(0));
    if (auto ec = beneficiary_session_.encrypt(plaintext_, scratch_)) fatal(what(0) + ": encrypt: " + ec.message());
    pr::conversation_send s;
    s.rid = "first";
    s.conversation_id = conversation_id_;
    s.client_msg_id = "setup-b-" + std::to_string(index_) + "-000000000";
    s.ciphertext = pr::encoded_bytes::from_bytes(std::span<const std::uint8_t>(scratch_));
    beneficiary_->expect("conversation.ack", [one_more](const pr::message&) { one_more(); });
    beneficiary_->expect("conversation.message", [this, one_more](const pr::message& reply) {
      const auto& msg = std::get<pr::conversation_message>(reply);
      crypto::bytes pt;
      if (auto ec = beneficiary_session_.decrypt(to_bytes(msg.ciphertext.decode()), rng_, unix_seconds(), pt)) {
        fatal(what(0) + ": cannot decrypt the worker's first answer: " + ec.message());
      }
      one_more();
    });
    beneficiary_->send(pr::encode(s));
  });
  expect_first_message(one_more);
  beneficiary_->send(pr::encode(f));
}

void relais_link::expect_first_message(std::function<void()> one_more) {
  worker_->expect("conversation.message", [this, one_more](const pr::message& m) {
    const auto& msg = std::get<pr::conversation_message>(m);
    if (msg.conversation_id != conversation_id_) {
      // Another device of the account took that one: every device of an account follows
      // the account's conversations (PROTOCOL.md §6.5 queue.take, §7). A copy, not ours.
      ++other_device_copies_;
      return expect_first_message(one_more);
    }
    crypto::bytes pt;
    std::optional<std::uint32_t> used;
    {
      std::lock_guard g(account_.prekeys_mutex);
      if (auto ec = crypto::session::accept(account_.identity, account_.prekeys, to_bytes(msg.ciphertext.decode()),
                                            rng_, unix_seconds(), worker_session_, pt, used)) {
        fatal(what(1) + ": cannot accept the beneficiary's first message: " + ec.message());
      }
      if (used) account_.prekeys.opks.erase(*used);
    }
    if (auto ec = worker_session_.encrypt(plaintext_, scratch_)) fatal(what(1) + ": encrypt: " + ec.message());
    pr::conversation_send s;
    s.rid = "answer";
    s.conversation_id = conversation_id_;
    s.client_msg_id = "setup-w-" + std::to_string(index_) + "-000000000";
    s.ciphertext = pr::encoded_bytes::from_bytes(std::span<const std::uint8_t>(scratch_));
    worker_->expect("conversation.ack", [one_more](const pr::message&) { one_more(); });
    worker_->send(pr::encode(s));
  });
}

std::string make_client_msg_id(char side, std::uint64_t counter, std::uint64_t stamp_ns) {
  std::array<char, 48> buf{};
  std::snprintf(buf.data(), buf.size(), "%c%012llu-%020llu", side, static_cast<unsigned long long>(counter),
                static_cast<unsigned long long>(stamp_ns));
  return std::string(buf.data());
}

std::string relais_link::next_client_msg_id(int side, std::uint64_t stamp_ns) {
  return make_client_msg_id(side == 0 ? 'b' : 'w', ++counters_[static_cast<std::size_t>(side)], stamp_ns);
}

std::optional<std::uint64_t> stamp_of_client_msg_id(std::string_view id) noexcept {
  constexpr std::size_t stamp_at = 1 + limits::counter_digits + 1;
  if (id.size() != stamp_at + limits::stamp_digits || (id[0] != 'b' && id[0] != 'w') || id[stamp_at - 1] != '-') {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  const auto* end = id.data() + id.size();
  auto [p, ec] = std::from_chars(id.data() + stamp_at, end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

void relais_link::send(int side, std::uint64_t stamp_ns) {
  pr::conversation_send s;
  s.conversation_id = conversation_id_;
  s.client_msg_id = next_client_msg_id(side, stamp_ns);
  if (settings_.precomputed) {
    std::error_code ec;
    s.ciphertext = pr::encoded_bytes::from_text(settings_.precomputed_ciphertext, ec);
  } else {
    auto& session = side == 0 ? beneficiary_session_ : worker_session_;
    if (auto ec = session.encrypt(plaintext_, scratch_)) fatal(what(side) + ": encrypt: " + ec.message());
    s.ciphertext = pr::encoded_bytes::from_bytes(std::span<const std::uint8_t>(scratch_));
  }
  (side == 0 ? beneficiary_ : worker_)->send(pr::encode(s));
}

std::size_t relais_link::queued(int side) const noexcept {
  return side == 0 ? beneficiary_->queued() : worker_->queued();
}

bool relais_link::on_traffic(int side, const pr::message& m) {
  if (const auto* msg = std::get_if<pr::conversation_message>(&m)) {
    if (side == 1 && msg->conversation_id != conversation_id_) {
      ++other_device_copies_;  // a conversation of another device of the same account
      return true;
    }
    if (msg->conversation_id != conversation_id_) {
      fatal(what(side) + ": conversation.message of conversation " + std::to_string(msg->conversation_id) +
            " on a connection that opened only " + std::to_string(conversation_id_));
    }
    const auto expected_sender = side == 0 ? pr::peer_role::worker : pr::peer_role::beneficiary;
    if (msg->sender != expected_sender) fatal(what(side) + ": received its own message back");
    auto stamp = stamp_of_client_msg_id(msg->client_msg_id);
    if (!stamp) fatal(what(side) + ": conversation.message with a client_msg_id the bench did not make");
    if (!settings_.precomputed) {
      auto& session = side == 0 ? beneficiary_session_ : worker_session_;
      crypto::bytes pt;
      if (auto ec = session.decrypt(to_bytes(msg->ciphertext.decode()), rng_, unix_seconds(), pt)) {
        fatal(what(side) + ": cannot decrypt seq " + std::to_string(msg->seq) + ": " + ec.message());
      }
      if (pt.size() != settings_.plaintext_size) fatal(what(side) + ": decrypted a message of the wrong size");
    }
    if (listener_ != nullptr) listener_->on_delivered(index_, side, *stamp);
    return true;
  }
  if (const auto* ack = std::get_if<pr::conversation_ack>(&m)) {
    auto stamp = stamp_of_client_msg_id(ack->client_msg_id);
    if (!stamp) fatal(what(side) + ": conversation.ack for a client_msg_id the bench did not send");
    if (listener_ != nullptr) listener_->on_acked(index_, side, *stamp);
    return true;
  }
  if (const auto* assigned = std::get_if<pr::conversation_assigned>(&m)) {
    // Another device of this account took someone: pushed to all its connections.
    if (side == 1 && !assigned->rid && assigned->conversation_id != conversation_id_) return true;
    return false;
  }
  if (const auto* ended = std::get_if<pr::conversation_ended>(&m)) {
    fatal(what(side) + ": conversation " + std::to_string(ended->conversation_id) + " ended by the server (reason " +
          std::string(pr::wire_name(ended->reason)) + ")");
  }
  return false;
}

// ---------------------------------------------------------------- idle beneficiary

relais_idle_beneficiary::relais_idle_beneficiary(io_pool& pool, unsigned io_index, std::size_t index,
                                                 const endpoint& ep)
    : io_index_(io_index), index_(index), conn_("idle beneficiary " + std::to_string(index), pool, io_index, ep) {
  crypto::system_random rng;
  identity_ = crypto::identity_key_pair::generate(rng);
}

void relais_idle_beneficiary::run_phase(std::size_t, std::function<void()> done) {
  conn_.start(index_, pr::peer_role::beneficiary, [this, done](const pr::welcome& w) {
    std::error_code ec;
    auto input = pr::beneficiary_auth_signing_input(w.challenge, ec);
    if (ec) fatal("idle beneficiary: welcome.challenge is not 32 bytes");
    pr::auth_beneficiary a;
    a.identity_key = pr::encoded_bytes::from_bytes(identity_.public_key_bytes());
    a.signature = pr::encoded_bytes::from_bytes(identity_.sign(input));
    conn_.expect("auth.ok", [done](const pr::message&) { done(); });
    conn_.send(pr::encode(a));
  });
}

std::string make_precomputed_ciphertext(std::size_t size) {
  crypto::system_random rng;
  auto alice = crypto::identity_key_pair::generate(rng);
  auto bob = crypto::identity_key_pair::generate(rng);
  auto spk = crypto::make_signed_prekey(bob, 1, rng);
  auto bundle = crypto::make_bundle(bob, spk, nullptr);
  crypto::session s;
  if (auto ec = crypto::session::initiate(alice, bundle, rng, s)) fatal("precomputed ciphertext: " + ec.message());
  crypto::bytes wire;
  crypto::bytes first(size, std::uint8_t{'x'});
  if (auto ec = s.encrypt(first, wire)) fatal("precomputed ciphertext: " + ec.message());
  // The second message of the chain: what every measured message is made of.
  if (auto ec = s.encrypt(first, wire)) fatal("precomputed ciphertext: " + ec.message());
  return pr::base64url_encode(std::span<const std::uint8_t>(wire));
}

}  // namespace relais::bench
