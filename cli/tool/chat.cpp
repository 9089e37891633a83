#include "chat.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "chat_state.hpp"
#include "org.hpp"
#include "relais/crypto/certificate.hpp"
#include "relais/crypto/error.hpp"
#include "relais/crypto/encoding.hpp"
#include "relais/crypto/random.hpp"
#include "relais/crypto/safety_number.hpp"
#include "relais/crypto/sealed.hpp"
#include "relais/protocol/codec.hpp"

namespace relais::cli {

const char* const chat_help =
    "Input (stdin, or --input FILE/FIFO): one command or message per line.\n"
    "  TEXT            send TEXT (UTF-8, up to 45,823 bytes) in the current conversation, end-to-end\n"
    "                  encrypted; held until a session exists (a worker cannot write first)\n"
    "  //TEXT          send \"/TEXT\"\n"
    "  /prechat TEXT   beneficiary: pre-chat answers for the next /join, sealed to the workers of\n"
    "                  inbox.list_recipients whose certificate verifies (CRYPTO.md §17)\n"
    "  /join [urgent]  beneficiary: queue.join (--urgent makes every join urgent), with the sealed\n"
    "                  pre-chat if one was given\n"
    "  /leave          beneficiary: queue.leave\n"
    "  /inbox TEXT     beneficiary: inbox.send, TEXT sealed to the verified recipient workers\n"
    "  /feedback helped|somewhat|not_helped|- [TEXT]\n"
    "                  beneficiary: a feedback, sealed to the workers like /inbox (CRYPTO.md §17.8)\n"
    "  /permanence     permanence.get (and its pushes)\n"
    "  /shift on       worker: shift.start\n"
    "  /shift off [colleague|end]  worker: shift.stop, with the handover of open conversations\n"
    "  /holiday on [UNTIL_MS] | /holiday off   worker: shift.holiday\n"
    "  /presence available|busy [CAPACITY]     worker: presence.set\n"
    "  /queue          worker: queue.list (snapshot pushes are printed too)\n"
    "  /take [TICKET]  worker: queue.take (the next in serving order without TICKET); a sealed\n"
    "                  pre-chat is opened with the worker's signed prekeys (event prechat)\n"
    "  /transfer WORKER_ID  worker: hand the current conversation to a colleague (signed control\n"
    "                  message, CRYPTO.md §8, after her certificate verified)\n"
    "  /inbox list [AFTER_ID]  worker: inbox.list (event inbox, entries kept for /inbox open)\n"
    "  /inbox open [ID]        worker: decrypt a listed entry (all listed without ID)\n"
    "  /inbox answer ID        worker: inbox.answer (opens a conversation)\n"
    "  /inbox dismiss ID       worker: inbox.dismiss (a feedback: no answer needed)\n"
    "  /totp setup     worker: auth.totp_setup; prints the otpauth:// URI (event totp_secret)\n"
    "  /totp CODE      worker: auth.totp_confirm; once enrolled, publishes the keys and syncs\n"
    "  /conv ID        make conversation ID the current one\n"
    "  /end            conversation.end of the current conversation\n"
    "  /typing on|off  conversation.typing\n"
    "  /sync           sync with the stored cursors (also sent after every login)\n"
    "  /status         print a status event (conversations, cursors, unacknowledged messages)\n"
    "  /raw JSON       send JSON as it is (protocol tests)\n"
    "  /wait N         wait until N messages were received in this run\n"
    "  /wait EVENT [N] wait until N (default 1) events of that kind were printed in this run\n"
    "  /expect TEXT    wait until a received message containing TEXT was printed in this run\n"
    "  /sleep MS       keep handling frames for MS milliseconds before the next command\n"
    "  /quit           wait for the acks of sent messages, then exit (also at the end of the input)\n"
    "Waits fail after --wait-timeout-ms (event error, exit 4). A worker whose shift ends is\n"
    "disconnected by the server (close 4004, event closed): the run ends there, with status 0\n"
    "if nothing else failed.\n"
    "Exit status of chat: 0 all went well; 1 bad options, state folder or input command; 2 cannot\n"
    "connect; 3 the server refused something (an error event) or a worker's certificate did not\n"
    "verify (untrusted); 4 a message did not decrypt, the connection ended, a wait timed out, or\n"
    "messages were still unacknowledged at exit (they stay in the state folder for the next run).\n"
    "Output: one JSON object per line, {\"event\": NAME, ...}: connected, authenticated, identity,\n"
    "keys_published, keys_low, shift, queued, queue, assigned, opened, secured (bundle and certificate\n"
    "verified: worker_name, safety_number), held, sent, ack, message (conversation_id, seq, sender, text,\n"
    "sent_at), resent, queued_send (behind sends the server paced), duplicate, undecryptable, untrusted, delivered, read, typing, ended, synced, status, permanence,\n"
    "queue_timeout, inbox_offer, recipient_skipped, sealed, prechat_not_sent, inbox_sent, inbox_dismissed, prechat,\n"
    "presence, transfer_sent, transferred, history_unreadable, inbox, inbox_message, inbox_count,\n"
    "frame (anything else), error (code, name, request), closed (code).\n"
    "Each message is shown once: the state folder remembers the seqs shown and is written before the\n"
    "event is printed; the receipts conversation.delivered/read are sent automatically.\n"
    "--state DIR keeps the identity, prekeys, ratchet sessions, cursors, unacknowledged ciphertexts\n"
    "and the worker's token UNENCRYPTED (mode 0600): this is a test tool, not a client for real\n"
    "conversations. Without --state everything is in memory.\n";

namespace {

namespace pr = relais::protocol;
using json = nlohmann::ordered_json;
using steady = std::chrono::steady_clock;

/// Bytes: the largest line sent as one message. PROTOCOL.md §10: a conversation ciphertext is at
/// most 46,080 bytes; the initial message adds 114 bytes before the AEAD output (CRYPTO.md §4.1),
/// which is padded to 256-byte blocks plus a 16-byte tag: 45,824 padded bytes, one of padding.
constexpr std::size_t max_message_bytes = 45823;
/// Milliseconds: how long one read waits before the input queue is looked at again.
constexpr int poll_ms = 20;
/// One-time prekeys per upload: CRYPTO.md §11 uploads 100, the keys.publish limit.
constexpr std::uint32_t opk_batch = 100;
/// Milliseconds before a send refused as transient goes again when the error names no delay.
constexpr std::int64_t default_retry_ms = 1000;
/// Bytes of randomness in a client_msg_id: PROTOCOL.md §3 (22 base64url characters).
constexpr std::size_t client_msg_id_bytes = 16;

/// The sealed plaintext a client writes (CRYPTO.md §17.8): {"kind": KIND, "text": TEXT}.
std::string sealed_text(const char* kind, const std::string& text) {
  return json{{"kind", kind}, {"text", text}}.dump();
}

/// What an opened sealed plaintext says (CRYPTO.md §17.8): kind, text and, for a feedback, its
/// rating. Anything but such an object (an older client's free text) is `fallback_kind` as is.
json sealed_view(const char* fallback_kind, const crypto::bytes& plaintext) {
  std::string raw(plaintext.begin(), plaintext.end());
  auto parsed = json::parse(raw, nullptr, false);
  json out;
  if (parsed.is_object() && parsed.contains("kind") && parsed["kind"].is_string() && parsed.contains("text") &&
      parsed["text"].is_string()) {
    out["kind"] = parsed["kind"];
    out["text"] = parsed["text"];
    if (parsed.contains("rating")) out["rating"] = parsed["rating"];
  } else {
    out["kind"] = fallback_kind;
    out["text"] = raw;
  }
  sodium_memzero(raw.data(), raw.size());
  return out;
}

/// Lines read by the input thread, taken by the main loop. Shared (and leaked at exit on
/// purpose): the thread may still be blocked in a read when the process ends.
struct input_queue {
  std::mutex mu;
  std::deque<std::string> lines;
  bool eof = false;
  std::istream* in = nullptr;
  std::unique_ptr<std::ifstream> file;
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<std::int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 16 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(s);
}

crypto::bytes to_bytes(const std::string& s) { return crypto::bytes(s.begin(), s.end()); }

/// One side of the chat: the connection, the persistent state, the command queue.
class chat {
 public:
  chat(const common_options& o, const chat_options& c) : o_(o), c_(c), conn_(o, false) {}
  int run();

 private:
  struct request {
    std::string what;
    std::int64_t conversation_id = 0;
    std::string client_msg_id;
    std::int64_t worker_id = 0;  // keys.fetch of a worker: whose bundle
  };
  /// A text being sealed to the workers (CRYPTO.md §17): waits for inbox.recipients, then for
  /// one bundle per worker, then seals and sends queue.join or inbox.send.
  struct seal_job {
    crypto::sealed_purpose purpose = crypto::sealed_purpose::inbox;
    std::string text;
    bool urgent = false;
    std::size_t pending = 0;
    std::size_t listed = 0;  // workers inbox.recipients named
    std::vector<crypto::sealed_recipient> verified;
  };
  /// A command that blocks the following ones until its condition holds.
  struct waiter {
    std::string description;
    std::string event;
    int count = 0;
    std::string text;
    bool sleep = false;
    steady::time_point deadline;
  };

  int setup_keys_and_role();
  int read_password(std::string& password);
  void start_input();
  int authenticate(const std::string& password);
  int prepare_worker_keys(const std::string& display_name);
  void publish_bundle();
  void top_up_prekeys();
  void send_sync();
  int loop();
  bool run_commands();
  void command(const std::string& line);
  bool satisfied(const waiter& w) const;
  void handle(const pr::message& m);
  void on_error(const pr::error_message& e);
  void on_bundle(const pr::keys_bundle& b);
  void on_message(const pr::conversation_message& m);
  void on_sync_done(const pr::sync_done& d);
  void on_assigned(const pr::conversation_assigned& x);
  void on_transferred(const pr::conversation_transferred& t);
  void start_seal(crypto::sealed_purpose purpose, std::string text, bool urgent);
  void on_recipients(const pr::inbox_recipients& r);
  void on_worker_bundle(std::int64_t worker_id, const pr::keys_bundle& b);
  void recipient_done();
  void finish_seal();
  void send_join(bool urgent, const crypto::bytes* prechat);
  void on_transfer_bundle(std::int64_t conversation_id, std::int64_t worker_id, const pr::keys_bundle& b);
  void on_inbox_messages(const pr::inbox_messages& m);
  void open_inbox(std::int64_t id);
  void send_text(const std::string& text);
  void encrypt_and_send(conversation_state& c, const std::string& text);
  void flush_held(conversation_state& c);
  void fetch_keys(std::int64_t conversation_id);
  void send_receipts();
  void pump_send_queue();
  void send_stored(std::int64_t conversation_id, const unacked_message& u, bool again);
  conversation_state& conversation(std::int64_t id);
  void become_current(conversation_state& c);
  [[nodiscard]] bool has_unacked() const;

  void emit(json j);
  void save();
  std::string rid(std::string what, std::int64_t conversation_id = 0, std::string client_msg_id = {});
  template <class T>
  std::string send(T m, std::string what, std::int64_t conversation_id = 0, std::string client_msg_id = {});
  /// Sends a message that has no reply (receipts, typing): no request is remembered for it.
  template <class T>
  void send_untracked(const T& m);
  void fatal(int status, const std::string& message);

  common_options o_;
  chat_options c_;
  connection conn_;
  pr::peer_role role_ = pr::peer_role::beneficiary;
  crypto::public_key org_pub_{};
  bool have_org_pub_ = false;
  chat_state st_;
  state_store store_;
  crypto::system_random rng_;
  std::shared_ptr<input_queue> input_;
  std::map<std::string, request> requests_;
  std::uint64_t next_rid_ = 1;
  std::map<std::string, int> counts_;
  std::vector<std::string> texts_;  // decrypted texts shown in this run, for /expect
  std::optional<waiter> wait_;
  bool quitting_ = false;
  steady::time_point quit_deadline_;
  std::map<std::int64_t, bool> receipts_due_;
  std::map<std::int64_t, bool> fetching_;
  std::int64_t worker_id_ = 0;       // ours, from auth.ok (a worker finds her pre-chat entry by it)
  std::string prechat_;              // beneficiary: pre-chat answers for the next /join
  std::optional<seal_job> job_;      // at most one sealing at a time
  std::map<std::int64_t, pr::inbox_item> inbox_;  // worker: entries listed in this run
  /// Sends waiting for their turn after the server said "too fast" (rate_limited,
  /// server_busy...): sent one per pace_, in order, and new messages queue behind them, so that
  /// the order of the conversation is kept and the client never floods a server that already
  /// refused it (repeated refusals close the connection with 1008).
  struct queued_send {
    std::int64_t conversation_id = 0;
    std::string client_msg_id;
  };
  std::deque<queued_send> send_queue_;
  std::chrono::milliseconds pace_{default_retry_ms};
  steady::time_point next_send_at_;
  steady::time_point receipts_paused_until_;
  int status_ = ok;
  std::optional<int> fatal_;
};

void chat::emit(json j) {
  json out = {{"event", j["event"]}};
  for (auto& [k, v] : j.items()) {
    if (k != "event") out[k] = v;
  }
  ++counts_[out["event"].get<std::string>()];
  std::cout << dump(out) << '\n' << std::flush;
}

void chat::fatal(int status, const std::string& message) {
  if (fatal_) return;
  fail(status, message);
  fatal_ = status;
}

void chat::save() {
  std::string error;
  if (!store_.save(st_, error)) fatal(protocol_failure, error);
}

std::string chat::rid(std::string what, std::int64_t conversation_id, std::string client_msg_id) {
  auto r = "c" + std::to_string(next_rid_++);
  requests_[r] = {std::move(what), conversation_id, std::move(client_msg_id)};
  return r;
}

template <class T>
std::string chat::send(T m, std::string what, std::int64_t conversation_id, std::string client_msg_id) {
  auto r = rid(std::move(what), conversation_id, std::move(client_msg_id));
  m.rid = r;
  if (conn_.send(pr::encode(m)) != ok) fatal(protocol_failure, "the connection failed while sending");
  return r;
}

template <class T>
void chat::send_untracked(const T& m) {
  if (conn_.send(pr::encode(m)) != ok) fatal(protocol_failure, "the connection failed while sending");
}

int chat::setup_keys_and_role() {
  if (c_.role == "worker") {
    role_ = pr::peer_role::worker;
  } else if (c_.role == "beneficiary") {
    role_ = pr::peer_role::beneficiary;
  } else {
    return fail(usage, "--role must be worker or beneficiary");
  }
  if (!c_.org_key_pub.empty()) {
    if (!parse_public_key(c_.org_key_pub, org_pub_)) return fail(usage, "--org-key-pub is not a base64url Ed25519 key");
    have_org_pub_ = true;
  }
  if (role_ == pr::peer_role::beneficiary && !have_org_pub_) {
    return fail(usage, "a beneficiary needs --org-key-pub: it is how the worker's keys are verified");
  }
  if (role_ == pr::peer_role::worker && c_.username.empty()) return fail(usage, "a worker needs --username");
  st_.role = c_.role;
  std::string error;
  if (!store_.open(c_.state_dir, st_, error)) return fail(usage, error);
  if (!st_.identity) {
    st_.identity = crypto::identity_key_pair::generate(rng_);
    save();
  }
  return fatal_.value_or(ok);
}

int chat::read_password(std::string& password) {
  if (!c_.password_file.empty()) {
    std::ifstream in(c_.password_file);
    if (!in || !std::getline(in, password)) return fail(usage, "cannot read the password from " + c_.password_file);
  } else if (c_.password_stdin) {
    // The first input line; the reader thread starts after it, so commands never see it.
    if (!std::getline(*input_->in, password)) return fail(usage, "--password-stdin: no password line on the input");
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return ok;
}

void chat::start_input() {
  std::thread([q = input_] {
    std::string line;
    while (std::getline(*q->in, line)) {
      std::lock_guard lock(q->mu);
      q->lines.push_back(std::move(line));
    }
    std::lock_guard lock(q->mu);
    q->eof = true;
  }).detach();
}

int chat::authenticate(const std::string& password) {
  if (auto rc = conn_.connect(); rc != ok) return rc;
  if (auto rc = conn_.hello({1}, role_); rc != ok) return rc;
  emit({{"event", "connected"}, {"role", c_.role}, {"version", conn_.welcome().version}});
  bool resumed = false;
  if (role_ == pr::peer_role::beneficiary) {
    if (auto rc = conn_.send_beneficiary_auth(st_.identity->seed()); rc != ok) return rc;
  } else if (!st_.token.empty()) {
    std::error_code ec;
    pr::auth_resume a;
    a.token = pr::encoded_bytes::from_text(st_.token, ec);
    if (!ec) {
      if (auto rc = conn_.send(pr::encode(a)); rc != ok) return rc;
      resumed = true;
    }
  }
  auto login = [&]() -> int {
    if (password.empty()) return fail(usage, "no valid session token in the state: a password is needed");
    pr::auth_login l;
    l.username = c_.username;
    l.password = password;
    if (!c_.totp.empty()) l.totp = c_.totp;
    l.device = c_.device;
    auto frame = pr::encode(l);
    sodium_memzero(l.password.data(), l.password.size());
    auto rc = conn_.send(frame);
    sodium_memzero(frame.data(), frame.size());
    return rc;
  };
  if (role_ == pr::peer_role::worker && !resumed) {
    if (auto rc = login(); rc != ok) return rc;
  }
  for (;;) {
    pr::message m;
    auto rc = conn_.receive(m);
    if (rc == refused) {
      const auto& e = std::get<pr::error_message>(m);
      emit({{"event", "error"}, {"code", static_cast<int>(e.code)}, {"name", e.name}, {"request", "auth"}});
      if (resumed && e.code == pr::error::invalid_token) {
        resumed = false;
        st_.token.clear();
        save();
        if (auto lrc = login(); lrc != ok) return lrc;
        continue;
      }
      return refused;
    }
    if (rc != ok) return rc;
    if (const auto* a = std::get_if<pr::auth_ok>(&m)) {
      if (a->token) {
        st_.token = a->token->text();
        save();
      }
      json ev = {{"event", "authenticated"}, {"role", c_.role}, {"resumed", resumed}};
      if (a->worker_id) {
        ev["worker_id"] = *a->worker_id;
        worker_id_ = *a->worker_id;
      }
      if (a->display_name) ev["display_name"] = *a->display_name;
      if (a->totp_enrolled) ev["totp_enrolled"] = *a->totp_enrolled;
      ev["identity_key"] = crypto::to_base64url(st_.identity->public_key_bytes());
      emit(std::move(ev));
      if (role_ == pr::peer_role::worker) return prepare_worker_keys(a->display_name.value_or(c_.username));
      return ok;
    }
    handle(m);  // a push before auth.ok (none is expected)
  }
}

int chat::prepare_worker_keys(const std::string& display_name) {
  const auto& identity = *st_.identity;
  if (st_.prekeys.spks.empty()) {
    st_.spk_id = 1;
    auto spk = crypto::make_signed_prekey(identity, st_.spk_id, rng_);
    st_.prekeys.spks.emplace(st_.spk_id, spk.key);
    for (std::uint32_t i = 0; i < opk_batch; ++i) {
      st_.prekeys.opks.emplace(st_.next_opk_id++, crypto::x25519_key_pair::generate(rng_));
    }
    st_.published = false;
  }
  // The certificate: given by the admin, kept from an earlier run, or signed here with the
  // org key file (tests and single-worker setups where the worker is her own admin).
  std::string cert = c_.certificate.empty() ? st_.certificate : c_.certificate;
  if (!c_.certificate_from_org_key.empty()) {
    crypto::identity_key_pair org;
    std::string error;
    if (!load_org_key(c_.certificate_from_org_key, org, error)) return fail(usage, error);
    if (!have_org_pub_) {
      org_pub_ = org.public_key_bytes();
      have_org_pub_ = true;
    }
    crypto::worker_certificate existing;
    auto raw = crypto::from_base64url(cert);
    if (cert.empty() || !raw || crypto::verify_worker_certificate(*raw, org_pub_, unix_now(), existing)) {
      crypto::bytes signed_cert;
      auto name = c_.certificate_name.empty() ? display_name : c_.certificate_name;
      if (!certify(org, identity.public_key_bytes(), name, default_certificate_days, signed_cert, error)) {
        return fail(usage, error);
      }
      cert = crypto::to_base64url(signed_cert);
    }
  }
  if (cert.empty()) {
    emit({{"event", "identity"}, {"identity_key", crypto::to_base64url(identity.public_key_bytes())}});
    return fail(usage,
                "a worker needs a certificate: ask the admin to run 'relais-cli org certify --identity-key "
                "<identity_key above>' and pass it with --certificate (or use --certificate-from-org-key FILE)");
  }
  if (!have_org_pub_) return fail(usage, "a worker needs --org-key-pub (or --certificate-from-org-key)");
  auto raw = crypto::from_base64url(cert);
  crypto::worker_certificate parsed;
  if (!raw) return fail(usage, "the certificate is not base64url");
  if (auto ec = crypto::verify_worker_certificate(*raw, org_pub_, unix_now(), parsed)) {
    return fail(usage, "the certificate does not verify against --org-key-pub: " + ec.message());
  }
  if (parsed.worker_identity != identity.public_key_bytes()) {
    return fail(usage, "the certificate is for another identity key");
  }
  if (cert != st_.certificate) {
    st_.certificate = cert;
    st_.published = false;
  }
  save();  // the prekey secrets are on disk before the server can hand out their public halves
  return fatal_.value_or(ok);
}

void chat::publish_bundle() {
  const auto& identity = *st_.identity;
  const auto& spk_pair = st_.prekeys.spks.at(st_.spk_id);
  pr::keys_publish p;
  p.identity_key = pr::encoded_bytes::from_bytes(identity.public_key_bytes());
  p.spk_id = st_.spk_id;
  p.spk_pub = pr::encoded_bytes::from_bytes(spk_pair.pub);
  p.spk_signature =
      pr::encoded_bytes::from_bytes(identity.sign(crypto::signed_prekey_message(st_.spk_id, spk_pair.pub)));
  std::vector<pr::one_time_prekey> opks;
  for (const auto& [id, kp] : st_.prekeys.opks) {
    if (opks.size() == opk_batch) break;
    opks.push_back({id, pr::encoded_bytes::from_bytes(kp.pub)});
  }
  if (!opks.empty()) p.one_time_prekeys = std::move(opks);
  std::error_code ec;
  p.worker_certificate = pr::encoded_bytes::from_text(st_.certificate, ec);
  send(std::move(p), "keys.publish");
}

void chat::top_up_prekeys() {
  std::vector<pr::one_time_prekey> opks;
  for (std::uint32_t i = 0; i < opk_batch; ++i) {
    auto id = st_.next_opk_id++;
    auto kp = crypto::x25519_key_pair::generate(rng_);
    opks.push_back({id, pr::encoded_bytes::from_bytes(kp.pub)});
    st_.prekeys.opks.emplace(id, kp);
  }
  save();
  pr::keys_publish p;
  p.identity_key = pr::encoded_bytes::from_bytes(st_.identity->public_key_bytes());
  p.one_time_prekeys = std::move(opks);
  send(std::move(p), "keys.top_up");
}

void chat::send_sync() {
  pr::sync s;
  for (const auto& [id, c] : st_.conversations) {
    if (c.open) s.cursors.push_back({id, c.contiguous_seq});
  }
  send(std::move(s), "sync");
  // Unacknowledged messages go again with their client_msg_id: the server stores each once.
  for (auto& [id, c] : st_.conversations) {
    if (!c.open) continue;
    for (const auto& u : c.unacked) send_stored(id, u, true);
  }
}

conversation_state& chat::conversation(std::int64_t id) {
  auto [it, inserted] = st_.conversations.try_emplace(id);
  if (inserted) it->second.id = id;
  return it->second;
}

void chat::become_current(conversation_state& c) {
  st_.current = c.id;
  for (auto& line : st_.held) c.held.push_back(std::move(line));
  st_.held.clear();
}

bool chat::has_unacked() const {
  for (const auto& [id, c] : st_.conversations) {
    if (c.open && !c.unacked.empty()) return true;
  }
  return false;
}

void chat::fetch_keys(std::int64_t conversation_id) {
  if (fetching_[conversation_id]) return;
  fetching_[conversation_id] = true;
  pr::keys_fetch f;
  f.conversation_id = conversation_id;
  send(std::move(f), "keys.fetch", conversation_id);
}

void chat::send_text(const std::string& text) {
  if (text.size() > max_message_bytes) {
    emit({{"event", "error"}, {"name", "too_long"}, {"message", "a message is at most 45,823 bytes"}});
    status_ = usage;
    return;
  }
  auto it = st_.conversations.find(st_.current);
  if (st_.current == 0 || it == st_.conversations.end()) {
    st_.held.push_back(text);
    save();
    emit({{"event", "held"}, {"reason", "no conversation yet"}});
    return;
  }
  auto& c = it->second;
  if (!c.open) {
    emit({{"event", "error"}, {"name", "conversation_ended"}, {"conversation_id", c.id}});
    status_ = refused;
    return;
  }
  if (!c.session) {
    c.held.push_back(text);
    save();
    emit({{"event", "held"}, {"conversation_id", c.id}, {"reason", "no session yet"}});
    return;
  }
  encrypt_and_send(c, text);
}

void chat::encrypt_and_send(conversation_state& c, const std::string& text) {
  crypto::bytes wire;
  if (auto ec = c.session->encrypt(to_bytes(text), wire)) {
    emit({{"event", "error"}, {"name", "encrypt_failed"}, {"conversation_id", c.id}, {"message", ec.message()}});
    status_ = protocol_failure;
    return;
  }
  std::array<std::uint8_t, client_msg_id_bytes> id_bytes{};
  rng_.fill(id_bytes);
  unacked_message u{crypto::to_base64url(id_bytes), crypto::to_base64url(wire)};
  c.unacked.push_back(u);
  save();  // the ratchet step and the ciphertext are on disk before the server can see them
  if (!send_queue_.empty()) {
    send_queue_.push_back({c.id, u.client_msg_id});  // behind the ones the server paced
    emit({{"event", "queued_send"}, {"conversation_id", c.id}, {"client_msg_id", u.client_msg_id}});
    return;
  }
  send_stored(c.id, u, false);
}

void chat::flush_held(conversation_state& c) {
  auto held = std::move(c.held);
  c.held.clear();
  for (const auto& text : held) encrypt_and_send(c, text);
  save();
}

void chat::send_receipts() {
  // Receipts share the server's message budget: none while it paces us.
  if (steady::now() < receipts_paused_until_ || !send_queue_.empty()) return;
  for (auto& [id, due] : receipts_due_) {
    if (!due) continue;
    due = false;
    auto it = st_.conversations.find(id);
    if (it == st_.conversations.end() || !it->second.open || it->second.contiguous_seq == 0) continue;
    pr::conversation_delivered d;
    d.conversation_id = id;
    d.up_to_seq = it->second.contiguous_seq;
    send_untracked(d);
    pr::conversation_read r;
    r.conversation_id = id;
    r.up_to_seq = it->second.contiguous_seq;
    send_untracked(r);
  }
}

void chat::send_stored(std::int64_t conversation_id, const unacked_message& u, bool again) {
  pr::conversation_send m;
  m.conversation_id = conversation_id;
  m.client_msg_id = u.client_msg_id;
  std::error_code ec;
  m.ciphertext = pr::encoded_bytes::from_text(u.ciphertext, ec);
  send(std::move(m), "conversation.send", conversation_id, u.client_msg_id);
  emit({{"event", again ? "resent" : "sent"}, {"conversation_id", conversation_id}, {"client_msg_id", u.client_msg_id}});
}

void chat::pump_send_queue() {
  while (!send_queue_.empty() && steady::now() >= next_send_at_) {
    auto next = send_queue_.front();
    send_queue_.pop_front();
    auto it = st_.conversations.find(next.conversation_id);
    if (it == st_.conversations.end() || !it->second.open) continue;
    auto u = std::find_if(it->second.unacked.begin(), it->second.unacked.end(),
                          [&](const auto& x) { return x.client_msg_id == next.client_msg_id; });
    if (u == it->second.unacked.end()) continue;  // acknowledged meanwhile
    send_stored(next.conversation_id, *u, true);
    next_send_at_ = steady::now() + pace_;
  }
}

void chat::on_error(const pr::error_message& e) {
  json ev = {{"event", "error"}, {"code", static_cast<int>(e.code)}, {"name", e.name}};
  if (e.message) ev["message"] = *e.message;
  if (e.retry_after_ms) ev["retry_after_ms"] = *e.retry_after_ms;
  auto it = e.rid ? requests_.find(*e.rid) : requests_.end();
  if (it == requests_.end()) {
    // Only receipts and typing go without a request id: too many of them is no failure of
    // the run, they wait (the next receipt is cumulative).
    if (e.code == pr::error::rate_limited) {
      receipts_paused_until_ = steady::now() + std::chrono::milliseconds(e.retry_after_ms.value_or(default_retry_ms));
    } else {
      status_ = refused;
    }
    emit(std::move(ev));
    return;
  }
  const auto refused_request = it->second;
  requests_.erase(it);
  if (refused_request.what == "keys.fetch.worker") {
    // A worker without keys (or gone) is left out of the recipients: not a failure of the run.
    emit({{"event", "recipient_skipped"}, {"worker_id", refused_request.worker_id}, {"reason", e.name}});
    recipient_done();
    return;
  }
  if (refused_request.what == "inbox.list_recipients" && job_) {
    auto job = std::move(*job_);
    job_.reset();
    if (job.purpose == crypto::sealed_purpose::prechat) {
      // Waiting matters more than the pre-chat: join without it, and say so.
      emit({{"event", "prechat_not_sent"}, {"reason", e.name}});
      send_join(job.urgent, nullptr);
    }
  }
  ev["request"] = refused_request.what;
  if (refused_request.conversation_id) ev["conversation_id"] = refused_request.conversation_id;
  if (!refused_request.client_msg_id.empty()) ev["client_msg_id"] = refused_request.client_msg_id;
  if (refused_request.what == "keys.fetch") fetching_[refused_request.conversation_id] = false;
  bool transient = e.code == pr::error::rate_limited || e.code == pr::error::server_busy ||
                   e.code == pr::error::shutting_down || e.code == pr::error::internal_error;
  if (refused_request.what == "conversation.send" && transient) {
    // Sent again, same client_msg_id and ciphertext, paced at the delay the server named; the
    // ack decides whether the run succeeds.
    pace_ = std::chrono::milliseconds(std::max<std::int64_t>(e.retry_after_ms.value_or(default_retry_ms), 1));
    next_send_at_ = steady::now() + pace_;
    // Every unacknowledged message of the conversation goes again, in the order it was typed:
    // those still in flight are acknowledged once by the server (client_msg_id), and the
    // pump skips any whose ack arrived meanwhile.
    auto& c = conversation(refused_request.conversation_id);
    std::erase_if(send_queue_, [&](const auto& q) { return q.conversation_id == c.id; });
    for (const auto& u : c.unacked) send_queue_.push_back({c.id, u.client_msg_id});
  } else {
    status_ = refused;
    if (refused_request.what == "conversation.send") {
      // A refused message is never stored (PROTOCOL.md §8): it will not be acknowledged.
      auto& c = conversation(refused_request.conversation_id);
      std::erase_if(c.unacked, [&](const auto& u) { return u.client_msg_id == refused_request.client_msg_id; });
      save();
    }
  }
  emit(std::move(ev));
}

void chat::on_bundle(const pr::keys_bundle& b) {
  auto it = b.rid ? requests_.find(*b.rid) : requests_.end();
  if (it != requests_.end() && it->second.what == "keys.fetch.worker") {
    auto worker_id = it->second.worker_id;
    requests_.erase(it);
    return on_worker_bundle(worker_id, b);
  }
  if (it != requests_.end() && it->second.what == "keys.fetch.transfer") {
    auto conversation_id = it->second.conversation_id;
    auto worker_id = it->second.worker_id;
    requests_.erase(it);
    return on_transfer_bundle(conversation_id, worker_id, b);
  }
  if (it == requests_.end() || it->second.what != "keys.fetch") {
    emit({{"event", "frame"}, {"type", "keys.bundle"}});
    return;
  }
  auto conversation_id = it->second.conversation_id;
  requests_.erase(it);
  fetching_[conversation_id] = false;
  auto& c = conversation(conversation_id);
  auto untrusted = [&](const std::string& why) {
    status_ = refused;
    emit({{"event", "untrusted"}, {"conversation_id", conversation_id}, {"message", why}});
  };
  if (!b.worker_certificate) return untrusted("the bundle has no worker certificate");
  crypto::worker_certificate cert;
  if (auto ec = crypto::verify_worker_certificate(to_bytes(b.worker_certificate->decode()), org_pub_, unix_now(), cert)) {
    return untrusted("worker certificate: " + ec.message());
  }
  crypto::prekey_bundle pb;
  if (b.identity_key.decode_into(pb.identity_key) || b.spk_pub.decode_into(pb.spk_pub) ||
      b.spk_signature.decode_into(pb.spk_signature)) {
    return untrusted("bad key sizes");
  }
  if (cert.worker_identity != pb.identity_key) return untrusted("the certificate is for another identity key");
  if (!c.expected_worker_key.empty() && b.identity_key.text() != c.expected_worker_key) {
    return untrusted("the bundle is not the one of the worker named in the signed transfer");
  }
  pb.spk_id = static_cast<std::uint32_t>(b.spk_id);  // the codec checked 0..2^32-1
  if (b.opk_id && b.opk_pub) {
    pb.opk_id = static_cast<std::uint32_t>(*b.opk_id);
    if (b.opk_pub->decode_into(pb.opk_pub)) return untrusted("bad one-time prekey");
  }
  crypto::session session;
  if (auto ec = crypto::session::initiate(*st_.identity, pb, rng_, session)) return untrusted(ec.message());
  c.session = std::move(session);
  c.peer_key = b.identity_key.text();
  c.expected_worker_key.clear();
  save();
  emit({{"event", "secured"},
        {"conversation_id", conversation_id},
        {"worker_name", cert.display_name},
        {"one_time_prekey", pb.opk_id.has_value()},
        {"safety_number", crypto::safety_number(st_.identity->public_key_bytes(), pb.identity_key)}});
  flush_held(c);
}

void chat::on_message(const pr::conversation_message& m) {
  auto& c = conversation(m.conversation_id);
  if (c.seen(m.seq)) {
    emit({{"event", "duplicate"}, {"conversation_id", m.conversation_id}, {"seq", m.seq}});
    return;
  }
  if (m.sender == role_) {
    // Our own message (a replay after a reconnect): it may stand for an ack we lost.
    std::erase_if(c.unacked, [&](const auto& u) { return u.client_msg_id == m.client_msg_id; });
    c.mark_seen(m.seq);
    save();
    return;
  }
  auto wire = to_bytes(m.ciphertext.decode());
  crypto::bytes plaintext;
  std::error_code ec;
  if (!c.session && role_ == pr::peer_role::worker) {
    crypto::session session;
    std::optional<std::uint32_t> consumed;
    ec = crypto::session::accept(*st_.identity, st_.prekeys, wire, rng_, unix_now(), session, plaintext, consumed);
    if (!ec && !c.peer_key.empty() && crypto::to_base64url(session.peer_identity()) != c.peer_key) {
      // The first message must come from the identity the server assigned: anything else is
      // someone else's key (or a confused server), and its session is not kept.
      ec = crypto::make_error_code(crypto::errc::authentication_failed);
    } else if (!ec) {
      if (consumed) st_.prekeys.opks.erase(*consumed);
      c.peer_key = crypto::to_base64url(session.peer_identity());
      c.session = std::move(session);
    }
  } else if (c.session) {
    ec = c.session->decrypt(wire, rng_, unix_now(), plaintext);
  } else {
    ec = crypto::make_error_code(crypto::errc::no_sending_chain);
  }
  c.mark_seen(m.seq);
  receipts_due_[c.id] = true;
  save();  // written before the event: a kill after this line can never show the message twice
  if (ec && c.transferred_in && !c.session) {
    // Sealed to the previous worker's session: history follows only by re-encryption from her
    // console (CRYPTO.md §8), so this is expected, not a failure.
    emit({{"event", "history_unreadable"}, {"conversation_id", m.conversation_id}, {"seq", m.seq}});
    return;
  }
  if (ec) {
    status_ = protocol_failure;
    emit({{"event", "undecryptable"}, {"conversation_id", m.conversation_id}, {"seq", m.seq}, {"error", ec.message()}});
    return;
  }
  std::string text(plaintext.begin(), plaintext.end());
  crypto::wipe(plaintext);
  texts_.push_back(text);
  emit({{"event", "message"},
        {"conversation_id", m.conversation_id},
        {"seq", m.seq},
        {"sender", std::string(pr::wire_name(m.sender))},
        {"text", text},
        {"sent_at", m.sent_at}});
  if (!c.held.empty()) flush_held(c);
}

/// The prekey bundle of a keys.bundle frame; false when a key has the wrong size.
bool to_prekey_bundle(const pr::keys_bundle& b, crypto::prekey_bundle& pb) {
  if (b.identity_key.decode_into(pb.identity_key) || b.spk_pub.decode_into(pb.spk_pub) ||
      b.spk_signature.decode_into(pb.spk_signature)) {
    return false;
  }
  pb.spk_id = static_cast<std::uint32_t>(b.spk_id);  // the codec checked 0..2^32-1
  pb.opk_id.reset();  // never used by sealing or transfers
  return true;
}

void chat::send_join(bool urgent, const crypto::bytes* prechat) {
  pr::queue_join j;
  j.urgent = urgent;
  if (prechat) j.prechat = pr::encoded_bytes::from_bytes(*prechat);
  send(j, "queue.join");
}

void chat::start_seal(crypto::sealed_purpose purpose, std::string text, bool urgent) {
  if (job_) {
    emit({{"event", "error"}, {"name", "usage"}, {"message", "a sealed message is already being prepared"}});
    status_ = usage;
    return;
  }
  job_ = seal_job{purpose, std::move(text), urgent, 0, 0, {}};
  send(pr::inbox_list_recipients{}, "inbox.list_recipients");
}

void chat::on_recipients(const pr::inbox_recipients& r) {
  if (!job_) {
    emit({{"event", "frame"}, {"type", "inbox.recipients"}});
    return;
  }
  job_->pending = r.workers.size();
  job_->listed = r.workers.size();
  if (r.workers.empty()) return finish_seal();
  // One bundle per worker: each is verified against the pinned org key before anything is
  // sealed to it (CRYPTO.md §17.1).
  for (const auto& w : r.workers) {
    pr::keys_fetch f;
    f.worker_id = w.worker_id;
    auto rid_sent = send(std::move(f), "keys.fetch.worker");
    requests_[rid_sent].worker_id = w.worker_id;
  }
}

void chat::on_worker_bundle(std::int64_t worker_id, const pr::keys_bundle& b) {
  if (!job_) return;
  auto skip = [&](const std::string& why) {
    emit({{"event", "recipient_skipped"}, {"worker_id", worker_id}, {"reason", why}});
    recipient_done();
  };
  crypto::prekey_bundle pb;
  if (!to_prekey_bundle(b, pb)) return skip("bad key sizes");
  if (!b.worker_certificate) return skip("no worker certificate");
  crypto::sealed_recipient r;
  if (auto ec = crypto::verify_sealed_recipient(static_cast<std::uint64_t>(worker_id), pb,
                                                to_bytes(b.worker_certificate->decode()), org_pub_, unix_now(), r)) {
    return skip("untrusted: " + ec.message());
  }
  if (job_->verified.size() == crypto::limits::max_sealed_recipients) return skip("more than 16 recipients");
  job_->verified.push_back(std::move(r));
  recipient_done();
}

void chat::recipient_done() {
  if (!job_) return;
  if (job_->pending > 0) --job_->pending;
  if (job_->pending == 0) finish_seal();
}

void chat::finish_seal() {
  auto job = std::move(*job_);
  job_.reset();
  const bool prechat = job.purpose == crypto::sealed_purpose::prechat;
  if (job.verified.empty()) {
    const std::string why = job.listed == 0 ? "the server lists no recipient worker"
                                            : "no listed worker's certificate and keys verify";
    if (prechat) {
      emit({{"event", "prechat_not_sent"}, {"reason", why}});
      return send_join(job.urgent, nullptr);
    }
    emit({{"event", "error"}, {"name", "no_recipient"}, {"message", why}});
    status_ = refused;
    return;
  }
  json ids = json::array();
  for (const auto& r : job.verified) ids.push_back(r.worker_id());
  const auto plaintext = to_bytes(job.text);
  sodium_memzero(job.text.data(), job.text.size());
  if (prechat) {
    crypto::bytes blob;
    if (auto ec = crypto::seal_prechat(*st_.identity, job.verified, plaintext, rng_, blob)) {
      emit({{"event", "prechat_not_sent"}, {"reason", "too long for " + std::to_string(job.verified.size()) +
                                                          " recipients: " + ec.message()}});
      status_ = usage;
      return send_join(job.urgent, nullptr);
    }
    emit({{"event", "sealed"}, {"purpose", "prechat"}, {"recipients", ids}, {"bytes", blob.size()}});
    return send_join(job.urgent, &blob);
  }
  crypto::sealed_message m;
  if (auto ec = crypto::seal_to_workers(crypto::sealed_purpose::inbox, *st_.identity, job.verified, plaintext, rng_, m)) {
    emit({{"event", "error"}, {"name", "seal_failed"}, {"message", ec.message()}});
    status_ = usage;
    return;
  }
  emit({{"event", "sealed"}, {"purpose", "inbox"}, {"recipients", ids}, {"bytes", m.ciphertext.size()}});
  pr::inbox_send out;
  std::array<std::uint8_t, client_msg_id_bytes> id_bytes{};
  rng_.fill(id_bytes);
  out.client_msg_id = crypto::to_base64url(id_bytes);
  out.ciphertext = pr::encoded_bytes::from_bytes(m.ciphertext);
  for (const auto& k : m.keys) {
    out.recipients.push_back({static_cast<std::int64_t>(k.worker_id), pr::encoded_bytes::from_bytes(k.wrapped_key)});
  }
  send(std::move(out), "inbox.send", 0, {});
}

void chat::on_assigned(const pr::conversation_assigned& x) {
  auto& c = conversation(x.conversation_id);
  c.open = true;
  c.peer_key = x.beneficiary_key.text();
  if (x.transferred_from) c.transferred_in = true;
  become_current(c);
  save();
  json ev = {{"event", "assigned"}, {"conversation_id", x.conversation_id}, {"beneficiary_key", c.peer_key},
             {"urgent", x.urgent}, {"returning", x.returning}};
  if (x.transferred_from) ev["transferred_from"] = *x.transferred_from;
  if (x.inbox_id) ev["inbox_id"] = *x.inbox_id;
  emit(std::move(ev));
  if (!x.prechat) return;
  // The pre-chat answers, sealed to this worker's signed prekey (CRYPTO.md §17).
  crypto::public_key beneficiary{};
  crypto::bytes plaintext;
  std::error_code ec = x.beneficiary_key.decode_into(beneficiary) ? crypto::make_error_code(crypto::errc::malformed_input)
                                                                   : std::error_code{};
  if (!ec) {
    ec = crypto::open_prechat(*st_.identity, static_cast<std::uint64_t>(worker_id_), st_.prekeys, beneficiary,
                              to_bytes(x.prechat->decode()), plaintext);
  }
  if (ec) {
    status_ = protocol_failure;
    emit({{"event", "prechat_unreadable"}, {"conversation_id", x.conversation_id}, {"error", ec.message()}});
    return;
  }
  auto shown = sealed_view("prechat", plaintext);
  crypto::wipe(plaintext);
  texts_.push_back(shown["text"].get<std::string>());
  shown["event"] = "prechat";
  shown["conversation_id"] = x.conversation_id;
  emit(std::move(shown));
}

void chat::on_transfer_bundle(std::int64_t conversation_id, std::int64_t worker_id, const pr::keys_bundle& b) {
  auto refuse = [&](const std::string& why) {
    status_ = refused;
    emit({{"event", "untrusted"}, {"conversation_id", conversation_id}, {"worker_id", worker_id}, {"message", why}});
  };
  crypto::prekey_bundle pb;
  if (!to_prekey_bundle(b, pb)) return refuse("bad key sizes");
  if (!b.worker_certificate) return refuse("the colleague's bundle has no worker certificate");
  if (!have_org_pub_) return refuse("no organisation key to verify the colleague (--org-key-pub)");
  crypto::worker_certificate cert;
  if (auto ec = crypto::verify_worker_certificate(to_bytes(b.worker_certificate->decode()), org_pub_, unix_now(), cert)) {
    return refuse("colleague's certificate: " + ec.message());
  }
  if (cert.worker_identity != pb.identity_key) return refuse("the certificate is for another identity key");
  crypto::transfer_message t;
  t.conversation_id = std::to_string(conversation_id);  // PROTOCOL.md: the decimal ASCII id
  t.from_worker = st_.identity->public_key_bytes();
  t.to_worker = pb.identity_key;
  t.issued_at = unix_now();
  crypto::bytes control;
  if (auto ec = crypto::sign_transfer(*st_.identity, t, control)) return refuse("cannot sign: " + ec.message());
  pr::conversation_transfer out;
  out.conversation_id = conversation_id;
  out.to_worker_id = worker_id;
  out.control = pr::encoded_bytes::from_bytes(control);
  auto r = send(std::move(out), "conversation.transfer", conversation_id);
  requests_[r].worker_id = worker_id;
}

void chat::on_transferred(const pr::conversation_transferred& t) {
  auto& c = conversation(t.conversation_id);
  json ev = {{"event", "transferred"}, {"conversation_id", t.conversation_id}, {"from_worker_id", t.from_worker_id},
             {"to_worker_id", t.to_worker_id}, {"to_display_name", t.to_display_name}};
  if (role_ == pr::peer_role::worker) {
    // We handed it over: the old session is closed and its keys deleted (CRYPTO.md §8).
    c.open = false;
    c.session.reset();
    c.unacked.clear();
    c.held.clear();
    if (st_.current == c.id) st_.current = 0;
    save();
    emit(std::move(ev));
    return;
  }
  // Beneficiary: accept a new worker only on the current worker's signature (CRYPTO.md §8).
  crypto::public_key current{};
  auto current_raw = crypto::from_base64url(c.peer_key);
  crypto::transfer_message verified;
  std::error_code ec;
  if (!current_raw || current_raw->size() != current.size()) {
    ec = crypto::make_error_code(crypto::errc::authentication_failed);
  } else {
    std::copy(current_raw->begin(), current_raw->end(), current.begin());
    ec = crypto::verify_transfer(to_bytes(t.control.decode()), current, verified);
  }
  if (!ec && verified.conversation_id != std::to_string(t.conversation_id)) {
    ec = crypto::make_error_code(crypto::errc::authentication_failed);
  }
  if (ec) {
    status_ = refused;
    emit({{"event", "untrusted"}, {"conversation_id", t.conversation_id},
          {"message", "transfer not signed by the current worker: " + ec.message()}});
    return;
  }
  c.session.reset();  // a transfer starts a new session with the new worker's bundle
  c.worker_id = t.to_worker_id;
  c.display_name = t.to_display_name;
  c.expected_worker_key = crypto::to_base64url(verified.to_worker);
  save();
  ev["verified"] = true;
  emit(std::move(ev));
  fetch_keys(c.id);
}

void chat::on_inbox_messages(const pr::inbox_messages& m) {
  json items = json::array();
  for (const auto& item : m.items) {
    inbox_[item.inbox_id] = item;
    items.push_back({{"inbox_id", item.inbox_id}, {"beneficiary_key", item.beneficiary_key.text()},
                     {"received_at", item.received_at}});
  }
  emit({{"event", "inbox"}, {"items", items}, {"more", m.more}});
}

void chat::open_inbox(std::int64_t id) {
  auto it = inbox_.find(id);
  if (it == inbox_.end()) {
    emit({{"event", "error"}, {"name", "usage"}, {"message", "/inbox open: entry " + std::to_string(id) + " not listed"}});
    status_ = usage;
    return;
  }
  const auto& item = it->second;
  crypto::public_key beneficiary{};
  crypto::bytes plaintext;
  std::error_code ec = item.beneficiary_key.decode_into(beneficiary)
                           ? crypto::make_error_code(crypto::errc::malformed_input)
                           : crypto::open_sealed(crypto::sealed_purpose::inbox, *st_.identity, st_.prekeys, beneficiary,
                                                 to_bytes(item.wrapped_key.decode()), to_bytes(item.ciphertext.decode()),
                                                 plaintext);
  if (ec) {
    status_ = protocol_failure;
    emit({{"event", "undecryptable"}, {"inbox_id", id}, {"error", ec.message()}});
    return;
  }
  auto shown = sealed_view("message", plaintext);
  crypto::wipe(plaintext);
  texts_.push_back(shown["text"].get<std::string>());
  shown["event"] = "inbox_message";
  shown["inbox_id"] = id;
  shown["beneficiary_key"] = item.beneficiary_key.text();
  shown["received_at"] = item.received_at;
  emit(std::move(shown));
}

void chat::on_sync_done(const pr::sync_done& d) {
  json list = json::array();
  for (const auto& s : d.conversations) {
    auto& c = conversation(s.conversation_id);
    c.open = s.open;
    if (!s.open) {
      c.session.reset();  // CRYPTO.md §11: a closed conversation deletes its session
      c.unacked.clear();
      c.held.clear();
      if (st_.current == c.id) st_.current = 0;
    } else if (role_ == pr::peer_role::beneficiary && !c.session) {
      fetch_keys(c.id);
    }
    if (s.open && st_.current == 0) become_current(c);
    list.push_back({{"conversation_id", s.conversation_id}, {"last_seq", s.last_seq}, {"open", s.open}});
  }
  save();
  emit({{"event", "synced"}, {"conversations", list}});
}

void chat::handle(const pr::message& m) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, pr::error_message>) {
          on_error(x);
        } else if constexpr (std::is_same_v<T, pr::ok>) {
          auto it = x.rid ? requests_.find(*x.rid) : requests_.end();
          if (it == requests_.end()) return;
          if (it->second.what == "keys.publish") {
            st_.published = true;
            save();
            emit({{"event", "keys_published"}, {"one_time_prekeys", st_.prekeys.opks.size()}});
          } else if (it->second.what == "auth.totp_confirm") {
            // Enrolled: what the server refused before (totp_required) goes now.
            emit({{"event", "totp_enrolled"}});
            if (!st_.published) publish_bundle();
            send_sync();
          } else if (it->second.what == "keys.top_up") {
            emit({{"event", "keys_published"}, {"one_time_prekeys", opk_batch}});
          } else if (it->second.what == "presence.set") {
            emit({{"event", "presence"}});
          } else if (it->second.what == "conversation.transfer") {
            emit({{"event", "transfer_sent"}, {"conversation_id", it->second.conversation_id},
                  {"to_worker_id", it->second.worker_id}});
          } else if (it->second.what == "queue.leave") {
            emit({{"event", "left"}});
          } else if (it->second.what == "inbox.dismiss") {
            emit({{"event", "inbox_dismissed"}});
          }
          requests_.erase(it);
        } else if constexpr (std::is_same_v<T, pr::auth_totp_secret>) {
          // Printed on purpose (a test tool): scripts compute the codes from it.
          emit({{"event", "totp_secret"}, {"otpauth_uri", x.otpauth_uri}});
        } else if constexpr (std::is_same_v<T, pr::keys_bundle>) {
          on_bundle(x);
        } else if constexpr (std::is_same_v<T, pr::keys_low>) {
          emit({{"event", "keys_low"}, {"remaining", x.remaining}});
          if (role_ == pr::peer_role::worker) top_up_prekeys();
        } else if constexpr (std::is_same_v<T, pr::shift_state>) {
          json ev = {{"event", "shift"}, {"state", std::string(pr::wire_name(x.state))},
                     {"mode", std::string(pr::wire_name(x.mode))}};
          if (x.ends_at) ev["ends_at"] = *x.ends_at;
          if (x.next_start_at) ev["next_start_at"] = *x.next_start_at;
          emit(std::move(ev));
        } else if constexpr (std::is_same_v<T, pr::queue_position>) {
          emit({{"event", "queued"}, {"ticket_id", x.ticket_id}, {"position", x.position},
                {"estimated_wait_s", x.estimated_wait_s}});
        } else if constexpr (std::is_same_v<T, pr::queue_snapshot>) {
          json entries = json::array();
          for (const auto& e : x.entries) {
            entries.push_back({{"ticket_id", e.ticket_id}, {"urgent", e.urgent}, {"joined_at", e.joined_at},
                               {"returning", e.returning}});
          }
          emit({{"event", "queue"}, {"total", x.total}, {"entries", entries}, {"push", !x.rid.has_value()}});
        } else if constexpr (std::is_same_v<T, pr::queue_timeout>) {
          emit({{"event", "queue_timeout"}, {"reason", std::string(pr::wire_name(x.reason))},
                {"inbox_available", x.inbox_available}});
        } else if constexpr (std::is_same_v<T, pr::queue_inbox_offer>) {
          emit({{"event", "inbox_offer"}, {"reason", std::string(pr::wire_name(x.reason))}});
        } else if constexpr (std::is_same_v<T, pr::permanence_status>) {
          json ev = {{"event", "permanence"}, {"open", x.open},
                     {"availability", std::string(pr::wire_name(x.availability))}, {"queue_open", x.queue_open}};
          if (x.workers_on_call) ev["workers_on_call"] = *x.workers_on_call;
          if (x.estimated_wait_s) ev["estimated_wait_s"] = *x.estimated_wait_s;
          if (x.next_opening_at) ev["next_opening_at"] = *x.next_opening_at;
          json numbers = json::array();
          for (const auto& n : x.emergency_numbers) numbers.push_back(n.number);
          ev["emergency_numbers"] = numbers;
          emit(std::move(ev));
        } else if constexpr (std::is_same_v<T, pr::conversation_assigned>) {
          on_assigned(x);
        } else if constexpr (std::is_same_v<T, pr::conversation_transferred>) {
          on_transferred(x);
        } else if constexpr (std::is_same_v<T, pr::inbox_recipients>) {
          on_recipients(x);
        } else if constexpr (std::is_same_v<T, pr::inbox_ack>) {
          emit({{"event", "inbox_sent"}, {"inbox_id", x.inbox_id}, {"client_msg_id", x.client_msg_id}});
        } else if constexpr (std::is_same_v<T, pr::inbox_messages>) {
          on_inbox_messages(x);
        } else if constexpr (std::is_same_v<T, pr::inbox_count>) {
          emit({{"event", "inbox_count"}, {"unread", x.unread}});
        } else if constexpr (std::is_same_v<T, pr::conversation_opened>) {
          auto& c = conversation(x.conversation_id);
          c.open = true;
          c.worker_id = x.worker_id;
          c.display_name = x.display_name;
          become_current(c);
          save();
          emit({{"event", "opened"}, {"conversation_id", x.conversation_id}, {"worker_id", x.worker_id},
                {"display_name", x.display_name}});
          if (!c.session) fetch_keys(c.id);
        } else if constexpr (std::is_same_v<T, pr::conversation_ack>) {
          auto& c = conversation(x.conversation_id);
          auto before = c.unacked.size();
          std::erase_if(c.unacked, [&](const auto& u) { return u.client_msg_id == x.client_msg_id; });
          c.mark_seen(x.seq);
          save();
          if (x.rid) requests_.erase(*x.rid);
          if (before != c.unacked.size()) {
            emit({{"event", "ack"}, {"conversation_id", x.conversation_id}, {"client_msg_id", x.client_msg_id},
                  {"seq", x.seq}});
          }
        } else if constexpr (std::is_same_v<T, pr::conversation_message>) {
          on_message(x);
        } else if constexpr (std::is_same_v<T, pr::conversation_delivered>) {
          emit({{"event", "delivered"}, {"conversation_id", x.conversation_id}, {"up_to_seq", x.up_to_seq}});
        } else if constexpr (std::is_same_v<T, pr::conversation_read>) {
          emit({{"event", "read"}, {"conversation_id", x.conversation_id}, {"up_to_seq", x.up_to_seq}});
        } else if constexpr (std::is_same_v<T, pr::conversation_typing>) {
          emit({{"event", "typing"}, {"conversation_id", x.conversation_id}, {"active", x.active}});
        } else if constexpr (std::is_same_v<T, pr::conversation_ended>) {
          auto& c = conversation(x.conversation_id);
          c.open = false;
          c.session.reset();  // CRYPTO.md §11: a closed conversation deletes its session
          c.unacked.clear();
          c.held.clear();
          if (st_.current == c.id) st_.current = 0;
          save();
          emit({{"event", "ended"}, {"conversation_id", x.conversation_id},
                {"reason", std::string(pr::wire_name(x.reason))}});
        } else if constexpr (std::is_same_v<T, pr::sync_done>) {
          on_sync_done(x);
        } else {
          emit({{"event", "frame"}, {"type", std::string(T::type)}});
        }
      },
      m);
  if (const auto& r = pr::rid_of(m)) requests_.erase(*r);  // every request has one reply
}

bool chat::satisfied(const waiter& w) const {
  if (w.sleep) return steady::now() >= w.deadline;
  if (!w.text.empty()) {
    for (const auto& t : texts_) {
      if (t.find(w.text) != std::string::npos) return true;
    }
    return false;
  }
  auto it = counts_.find(w.event);
  return it != counts_.end() && it->second >= w.count;
}

void chat::command(const std::string& raw) {
  if (raw.empty()) return;
  if (raw[0] != '/' || raw.rfind("//", 0) == 0) {
    send_text(raw[0] == '/' ? raw.substr(1) : raw);
    return;
  }
  std::istringstream words(raw);
  std::string verb;
  std::string arg;
  words >> verb;
  std::getline(words, arg);
  arg = trim(arg);
  auto wrong_role = [&] {
    emit({{"event", "error"}, {"name", "usage"}, {"message", verb + " is not for a " + c_.role}});
    status_ = usage;
  };
  bool worker = role_ == pr::peer_role::worker;
  auto current_open = [&]() -> conversation_state* {
    auto it = st_.conversations.find(st_.current);
    if (it == st_.conversations.end() || !it->second.open) {
      emit({{"event", "error"}, {"name", "usage"}, {"message", verb + ": no current conversation"}});
      status_ = usage;
      return nullptr;
    }
    return &it->second;
  };
  auto deadline = steady::now() + std::chrono::milliseconds(c_.wait_timeout_ms);
  auto usage_error = [&](const std::string& message) {
    emit({{"event", "error"}, {"name", "usage"}, {"message", message}});
    status_ = usage;
  };
  std::istringstream args(arg);
  std::string first;
  std::string second;
  args >> first >> second;
  if (verb == "/join") {
    if (worker) return wrong_role();
    const bool urgent = c_.urgent || arg == "urgent";
    if (prechat_.empty()) return send_join(urgent, nullptr);
    start_seal(crypto::sealed_purpose::prechat, sealed_text("prechat", std::exchange(prechat_, {})), urgent);
  } else if (verb == "/prechat") {
    if (worker) return wrong_role();
    if (arg.empty() || arg.size() > crypto::max_prechat_plaintext(1)) {
      return usage_error("/prechat TEXT (1 to " + std::to_string(crypto::max_prechat_plaintext(1)) + " bytes)");
    }
    prechat_ = arg;
  } else if (verb == "/leave") {
    if (worker) return wrong_role();
    send(pr::queue_leave{}, "queue.leave");
  } else if (verb == "/inbox" && !worker) {
    if (arg.empty() || arg.size() > crypto::max_inbox_plaintext()) {
      return usage_error("/inbox TEXT (1 to " + std::to_string(crypto::max_inbox_plaintext()) + " bytes)");
    }
    start_seal(crypto::sealed_purpose::inbox, sealed_text("message", arg), false);
  } else if (verb == "/feedback") {
    if (worker) return wrong_role();
    static const std::array<std::string_view, 4> ratings{"helped", "somewhat", "not_helped", "-"};
    if (std::find(ratings.begin(), ratings.end(), first) == ratings.end()) {
      return usage_error("/feedback helped|somewhat|not_helped|- [TEXT]");
    }
    auto text = arg.size() > first.size() ? arg.substr(first.size() + 1) : std::string();
    json f = {{"kind", "feedback"}, {"rating", first == "-" ? json(nullptr) : json(first)}, {"text", text}};
    auto plaintext = f.dump();
    if (plaintext.size() > crypto::max_inbox_plaintext()) return usage_error("/feedback: TEXT too long");
    start_seal(crypto::sealed_purpose::inbox, plaintext, false);
  } else if (verb == "/inbox") {
    if (first == "list") {
      pr::inbox_list l;
      if (auto after = parse_int(second)) l.after_id = *after;
      send(l, "inbox.list");
    } else if (first == "open") {
      if (second.empty()) {
        for (const auto& [id, item] : inbox_) open_inbox(id);
      } else if (auto id = parse_int(second)) {
        open_inbox(*id);
      } else {
        usage_error("/inbox open [ID]");
      }
    } else if (auto id = parse_int(second); first == "answer" && id) {
      pr::inbox_answer a;
      a.inbox_id = *id;
      send(a, "inbox.answer");
    } else if (first == "dismiss" && id) {
      pr::inbox_dismiss d;
      d.inbox_id = *id;
      send(d, "inbox.dismiss");
    } else {
      usage_error("/inbox list [AFTER_ID] | open [ID] | answer ID | dismiss ID");
    }
  } else if (verb == "/permanence") {
    send(pr::permanence_get{}, "permanence.get");
  } else if (verb == "/shift") {
    if (!worker) return wrong_role();
    if (first == "off") {
      pr::shift_stop stop;
      if (second == "colleague") {
        stop.handover = pr::handover_policy::colleague;
      } else if (second == "end") {
        stop.handover = pr::handover_policy::end;
      } else if (!second.empty()) {
        return usage_error("/shift off [colleague|end]");
      }
      send(stop, "shift.stop");
    } else if (first == "on" || first.empty()) {
      send(pr::shift_start{}, "shift.start");
    } else {
      usage_error("/shift on | /shift off [colleague|end]");
    }
  } else if (verb == "/holiday") {
    if (!worker) return wrong_role();
    pr::shift_holiday h;
    h.enabled = first == "on";
    if (first != "on" && first != "off") return usage_error("/holiday on [UNTIL_MS] | /holiday off");
    if (auto until = parse_int(second); until && h.enabled) h.until = *until;
    send(h, "shift.holiday");
  } else if (verb == "/presence") {
    if (!worker) return wrong_role();
    pr::presence_set p;
    if (first == "busy") {
      p.status = pr::presence_status::busy;
    } else if (first != "available") {
      return usage_error("/presence available|busy [CAPACITY]");
    }
    if (auto capacity = parse_int(second)) p.capacity = *capacity;
    send(p, "presence.set");
  } else if (verb == "/queue") {
    if (!worker) return wrong_role();
    send(pr::queue_list{}, "queue.list");
  } else if (verb == "/transfer") {
    if (!worker) return wrong_role();
    auto to = parse_int(first);
    if (!to) return usage_error("/transfer WORKER_ID");
    if (auto* c = current_open()) {
      pr::keys_fetch f;
      f.worker_id = *to;
      auto r = send(std::move(f), "keys.fetch.transfer", c->id);
      requests_[r].worker_id = *to;
    }
  } else if (verb == "/totp") {
    if (!worker) return wrong_role();
    if (arg == "setup") {
      send(pr::auth_totp_setup{}, "auth.totp_setup");
    } else {
      pr::auth_totp_confirm t;
      t.code = arg;
      send(t, "auth.totp_confirm");
    }
  } else if (verb == "/take") {
    if (!worker) return wrong_role();
    pr::queue_take t;
    if (auto ticket = parse_int(arg)) t.ticket_id = *ticket;
    send(t, "queue.take");
  } else if (verb == "/conv") {
    auto id = parse_int(arg);
    auto it = id ? st_.conversations.find(*id) : st_.conversations.end();
    if (it == st_.conversations.end()) {
      emit({{"event", "error"}, {"name", "usage"}, {"message", "/conv: unknown conversation " + arg}});
      status_ = usage;
      return;
    }
    become_current(it->second);
    save();
  } else if (verb == "/end") {
    if (auto* c = current_open()) {
      pr::conversation_end e;
      e.conversation_id = c->id;
      send(e, "conversation.end", c->id);
    }
  } else if (verb == "/typing") {
    if (auto* c = current_open()) {
      pr::conversation_typing t;
      t.conversation_id = c->id;
      t.active = arg != "off";
      send_untracked(t);
    }
  } else if (verb == "/sync") {
    send_sync();
  } else if (verb == "/status") {
    json list = json::array();
    for (const auto& [id, c] : st_.conversations) {
      list.push_back({{"conversation_id", id}, {"open", c.open}, {"secured", c.session.has_value()},
                      {"last_seq", c.contiguous_seq}, {"unacked", c.unacked.size()}, {"held", c.held.size()}});
    }
    emit({{"event", "status"}, {"current", st_.current}, {"conversations", list},
          {"one_time_prekeys", st_.prekeys.opks.size()}});
  } else if (verb == "/raw") {
    if (conn_.send(arg) != ok) fatal(protocol_failure, "the connection failed while sending");
  } else if (verb == "/wait") {
    waiter w;
    w.deadline = deadline;
    if (auto n = parse_int(first)) {
      w.event = "message";
      w.count = static_cast<int>(std::min<std::int64_t>(*n, std::numeric_limits<int>::max()));
    } else if (!first.empty()) {
      w.event = first;
      w.count = static_cast<int>(std::min<std::int64_t>(parse_int(second).value_or(1), std::numeric_limits<int>::max()));
    } else {
      emit({{"event", "error"}, {"name", "usage"}, {"message", "/wait N or /wait EVENT [N]"}});
      status_ = usage;
      return;
    }
    w.description = "/wait " + arg;
    wait_ = w;
  } else if (verb == "/expect") {
    wait_ = waiter{"/expect " + arg, {}, 0, arg, false, deadline};
  } else if (verb == "/sleep") {
    auto ms = parse_int(arg).value_or(0);
    wait_ = waiter{"/sleep", {}, 0, {}, true, steady::now() + std::chrono::milliseconds(ms)};
  } else if (verb == "/quit") {
    quitting_ = true;
    quit_deadline_ = deadline;
  } else {
    emit({{"event", "error"}, {"name", "usage"}, {"message", "unknown command " + verb + " (see --help)"}});
    status_ = usage;
  }
}

bool chat::run_commands() {
  for (;;) {
    if (fatal_ || quitting_) return false;
    if (wait_) {
      if (!satisfied(*wait_)) {
        if (!wait_->sleep && steady::now() >= wait_->deadline) {
          emit({{"event", "error"}, {"name", "wait_timeout"}, {"message", wait_->description}});
          fatal(protocol_failure, "timed out: " + wait_->description);
        }
        return false;
      }
      wait_.reset();
    }
    std::string line;
    {
      std::lock_guard lock(input_->mu);
      if (input_->lines.empty()) {
        if (input_->eof) {
          quitting_ = true;
          quit_deadline_ = steady::now() + std::chrono::milliseconds(c_.wait_timeout_ms);
        }
        return false;
      }
      line = std::move(input_->lines.front());
      input_->lines.pop_front();
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    command(line);
  }
}

int chat::loop() {
  for (;;) {
    run_commands();
    if (fatal_) break;
    if (quitting_ && (!has_unacked() || steady::now() >= quit_deadline_)) break;
    pump_send_queue();
    pr::message m;
    auto rc = conn_.receive(m, poll_ms);
    if (rc == ok || rc == refused) {
      handle(m);
    } else if (conn_.timed_out()) {
      send_receipts();
    } else {
      emit({{"event", "closed"}, {"code", conn_.close_code()}});
      // 4004: the worker's shift ended and the server ended her sessions ("off means off",
      // PROTOCOL.md §9): the expected end of a run that stopped its shift, not a failure.
      if (!quitting_ && conn_.close_code() != static_cast<std::uint16_t>(pr::close_code::shift_ended)) {
        fatal(protocol_failure, "the connection ended");
      }
      break;
    }
    if (fatal_) break;
  }
  if (!fatal_) send_receipts();  // (skipped if the server is pacing us)
  if (quitting_ && has_unacked()) {
    emit({{"event", "error"}, {"name", "unacked_at_exit"},
          {"message", "kept in the state folder, resent by the next run"}});
    fatal(protocol_failure, "some messages were not acknowledged");
  }
  conn_.close();
  return fatal_.value_or(status_);
}

int chat::run() {
  input_ = std::make_shared<input_queue>();
  if (c_.input == "-") {
    input_->in = &std::cin;
  } else {
    input_->file = std::make_unique<std::ifstream>(c_.input);
    if (!*input_->file) return fail(usage, "cannot read " + c_.input);
    input_->in = input_->file.get();
  }
  if (auto rc = setup_keys_and_role(); rc != ok) return rc;
  std::string password;
  if (role_ == pr::peer_role::worker) {
    if (auto rc = read_password(password); rc != ok) return rc;
  }
  start_input();
  auto rc = authenticate(password);
  sodium_memzero(password.data(), password.size());
  if (rc != ok) return rc;
  if (role_ == pr::peer_role::worker && !st_.published) publish_bundle();
  send_sync();
  if (fatal_) return *fatal_;
  return loop();
}

}  // namespace

int run_chat(const common_options& o, const chat_options& c) {
  chat session(o, c);
  return session.run();
}

}  // namespace relais::cli
