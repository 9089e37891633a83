#include "evening.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "delivery_ledger.hpp"
#include "modes.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"
#include "stats.hpp"

namespace relais::bench {

namespace pr = relais::protocol;

namespace limits {
/// Seconds between the coordinator's samples of the server's RSS (its peak is a figure).
inline constexpr double evening_sample_s = 0.25;
/// One-time prekeys a worker publishes at most (one keys.publish, PROTOCOL.md §10); beyond,
/// bundles come without one (X3DH still works, CRYPTO.md §3).
inline constexpr int evening_max_opks = 100;
/// Lengths and pauses are drawn uniformly in mean x (1 -/+ this).
inline constexpr double evening_spread = 0.5;
/// A dropped beneficiary drops between these fractions of its conversation's length.
inline constexpr double drop_from = 0.25;
inline constexpr double drop_to = 0.75;
}  // namespace limits

namespace {

std::uint64_t unix_seconds() { return static_cast<std::uint64_t>(std::time(nullptr)); }

crypto::bytes to_bytes(const std::string& s) { return crypto::bytes(s.begin(), s.end()); }

bool starts_with(const std::optional<std::string>& rid, std::string_view prefix) {
  return rid && rid->compare(0, prefix.size(), prefix) == 0;
}

class evening_run;
class evening_worker;
class evening_beneficiary;

/// One conversation, both ends (side 0 the beneficiary, side 1 the worker): their Double
/// Ratchet sessions, what each wrote (ledgers) and which seqs each holds. Touched on io thread 0 only.
struct chat {
  enum class phase : std::uint8_t { handshake, chatting, ending, ended };
  std::int64_t id = 0;
  evening_beneficiary* beneficiary = nullptr;
  evening_worker* worker = nullptr;
  std::string beneficiary_key;  ///< from conversation.assigned, checked against the beneficiary
  phase state = phase::handshake;
  bool closing = false;  ///< the worker is winding it up: no new messages, end once settled
  bool beneficiary_ready = false;
  bool worker_ready = false;
  std::array<crypto::session, 2> sessions;
  std::array<delivery_ledger, 2> ledgers;  ///< [s]: the messages side s wrote
  std::array<seq_tracker, 2> seqs;         ///< [s]: the seqs side s holds
  std::array<std::int64_t, 2> receipt_sent{};
  std::array<std::uint64_t, 2> counters{};
  /// The beneficiary's messages not acknowledged yet, by counter: sent again after a reconnection.
  std::map<std::uint64_t, std::pair<std::string, std::string>> pending;
  double length_s = 0;
  bool drops = false;  ///< the beneficiary drops its connection once
};

/// What the run counts; io thread 0 only, read by the coordinator after the io thread stopped.
struct figures {
  std::uint64_t arrivals = 0;
  std::uint64_t joined = 0;
  std::uint64_t served = 0;
  std::uint64_t left_unserved = 0;
  std::uint64_t ended = 0;
  std::size_t waiting = 0;
  std::size_t open = 0;
  std::size_t peak_waiting = 0;
  std::size_t peak_open = 0;
  latency_histogram connect;   ///< arrival -> auth.ok (TCP, TLS, hello, signature)
  latency_histogram wait;      ///< queue.join -> conversation.opened
  latency_histogram delivery;  ///< conversation.send -> conversation.message, live
  latency_histogram ack;       ///< conversation.send -> conversation.ack
  std::uint64_t sent = 0;
  std::uint64_t delivered_live = 0;
  std::uint64_t recovered = 0;  ///< received in a sync replay after a reconnection
  std::uint64_t resent = 0;     ///< sent again after a reconnection (unacked or written offline)
  std::uint64_t held_offline = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t repeats = 0;  ///< a (message, seq) received again, dropped by seq
  std::uint64_t seq_conflicts = 0;
  std::uint64_t seq_gaps = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t unknown = 0;
  std::uint64_t unsettled = 0;
  std::uint64_t receipts = 0;
  std::uint64_t takes_sent = 0;
  std::uint64_t takes_empty = 0;
  std::uint64_t positions = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t inbox_offers = 0;
};

/// A worker on shift: one account, one device, one connection, up to --capacity conversations.
class evening_worker final : public client_unit {
 public:
  evening_worker(evening_run& run, std::size_t index, worker_account& account);
  [[nodiscard]] unsigned io_index() const noexcept override { return 0; }
  [[nodiscard]] std::vector<std::string> phases() const override { return {"worker_login"}; }
  [[nodiscard]] int phase_concurrency(std::size_t) const override { return limits::worker_logins_at_once; }
  void run_phase(std::size_t, std::function<void()> done) override;

  /// Sends queue.take when a slot is free and the queue is not known to be empty (take mode).
  void maybe_take();
  /// Stops taking (wind-up); in auto mode, tells the server she is busy.
  void stop_taking();
  void conversation_finished() {
    --busy_;
    maybe_take();
  }

  worker_account& account;
  relais_connection conn;

 private:
  bool on_traffic(const pr::message& m);
  bool on_error(const pr::error_message& e);
  chat* find(std::int64_t id);

  evening_run& run_;
  std::size_t index_;
  std::unordered_map<std::int64_t, chat*> chats_;
  int busy_ = 0;
  bool take_in_flight_ = false;
  std::int64_t queue_total_ = 0;
  std::uint64_t takes_ = 0;
};

/// A beneficiary: arrives, authenticates, joins, waits, chats, may drop and resume, leaves.
class evening_beneficiary {
 public:
  enum class phase : std::uint8_t { connecting, waiting, leaving, chatting, offline, resyncing, done };

  evening_beneficiary(evening_run& run, std::size_t index, bool urgent);
  void start();
  /// Leaves the queue (wind-up); a take that raced the leave still opens the conversation.
  void leave();
  /// Drops the connection as a lost network would, and reconnects after --offline-s.
  void drop();
  /// Ends on conversation.ended: closes the connection.
  void finish();
  [[nodiscard]] bool online() const noexcept { return state == phase::chatting; }

  crypto::identity_key_pair identity;
  std::string key_text;
  relais_connection conn;
  phase state = phase::connecting;
  chat* current = nullptr;
  bool syncing = false;

 private:
  void authenticate(const pr::welcome& w, std::function<void()> done);
  void joined();
  void reconnected();
  bool on_traffic(const pr::message& m);
  bool on_error(const pr::error_message& e);

  evening_run& run_;
  std::size_t index_;
  bool urgent_;
  std::uint64_t arrived_ns_ = 0;
  std::uint64_t join_ns_ = 0;
};

/// The whole evening: clients, conversations, figures, the draws. io thread 0 only, except
/// the atomics the coordinator polls.
class evening_run {
 public:
  evening_run(io_pool& io, const options& opts, const relais_run_settings& run_settings)
      : pool(io), o(opts), settings(run_settings), rng(opts.seed) {}

  /// Runs `fn` on io thread 0 after `s` seconds.
  void after(double s, std::function<void()> fn) {
    const auto due = steady_time(std::chrono::nanoseconds(now_ns() + static_cast<std::uint64_t>(s * 1e9)));
    auto armed = std::make_shared<bool>(false);
    pool.run_timer(0, [due, armed, fn = std::move(fn)]() -> std::optional<steady_time> {
      if (!*armed) {
        *armed = true;
        return due;
      }
      fn();
      return std::nullopt;
    });
  }

  /// mean x uniform(1 - spread, 1 + spread)
  double draw(double mean) {
    std::uniform_real_distribution<double> d(1.0 - limits::evening_spread, 1.0 + limits::evening_spread);
    return mean * d(rng);
  }

  /// Starts the arrivals (Poisson at --arrival-rate) until wind_up.
  void start_arrivals() {
    auto next = std::make_shared<std::uint64_t>(now_ns() + next_gap());
    // A process holds at most 20,000 descriptors here (TOOLCHAIN.md); options.cpp checks
    // --arrival-rate x --duration against the same bound, this only caps a Poisson excess.
    const auto cap = static_cast<std::size_t>(19'900 - o.workers - 100);
    pool.run_timer(0, [this, next, cap]() -> std::optional<steady_time> {
      if (winding) return std::nullopt;
      const auto now = now_ns();
      while (*next <= now && beneficiaries.size() < cap) {
        arrive();
        *next += next_gap();
      }
      return steady_time(std::chrono::nanoseconds(*next));
    });
  }

  chat& chat_of(std::int64_t id) {
    auto& c = chats[id];
    if (!c) {
      c = std::make_unique<chat>();
      c->id = id;
      c->length_s = draw(o.conversation_s);
      std::uniform_real_distribution<double> u(0.0, 1.0);
      c->drops = u(rng) < o.reconnect_fraction;
      ++f.open;
      f.peak_open = std::max(f.peak_open, f.open);
      open_chats.fetch_add(1, std::memory_order_relaxed);
    }
    return *c;
  }

  /// Both ends are known: check they agree, then wind up at once if the evening is over.
  void attached(chat& c);
  void start_handshake(chat& c);
  void send(chat& c, int side);
  void on_message(chat& c, int receiver, const pr::conversation_message& m, bool replayed);
  /// Side `side` learned that its message `id` is stored as `seq` (ack, or its own message replayed).
  void on_stored(chat& c, int side, const std::string& id, std::int64_t seq, bool from_ack);
  void begin_closing(chat& c) {
    if (c.closing) return;
    c.closing = true;
    check_closing(c);
  }
  void check_closing(chat& c);
  void finished(chat& c);
  void wind_up();
  void progress() { progress_.fetch_add(1, std::memory_order_relaxed); }
  void beneficiary_done() {
    active.fetch_sub(1, std::memory_order_relaxed);
    progress();
  }

  io_pool& pool;
  const options& o;
  const relais_run_settings& settings;
  std::mt19937_64 rng;
  crypto::system_random crypto_rng;
  std::vector<std::unique_ptr<worker_account>> accounts;
  std::vector<std::unique_ptr<evening_worker>> workers;
  std::vector<std::unique_ptr<evening_beneficiary>> beneficiaries;
  std::unordered_map<std::string, evening_beneficiary*> by_key;
  std::unordered_map<std::int64_t, std::unique_ptr<chat>> chats;
  crypto::bytes plaintext;
  bool winding = false;
  figures f;
  std::atomic<std::size_t> active{0};      ///< beneficiaries arrived and not done
  std::atomic<std::size_t> open_chats{0};  ///< conversations not ended
  std::atomic<std::uint64_t> progress_{0};

 private:
  std::uint64_t next_gap() {
    std::exponential_distribution<double> d(o.arrival_rate);
    return static_cast<std::uint64_t>(d(rng) * 1e9);
  }
  void arrive() {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const bool urgent = u(rng) < o.urgent_fraction;
    const auto index = static_cast<std::size_t>(o.workers) + beneficiaries.size();
    beneficiaries.push_back(std::make_unique<evening_beneficiary>(*this, index, urgent));
    auto* b = beneficiaries.back().get();
    by_key[b->key_text] = b;
    ++f.arrivals;
    active.fetch_add(1, std::memory_order_relaxed);
    b->start();
  }
  void schedule_next(chat& c, int side);
  void send_receipt(chat& c, int side);
};

// ---------------------------------------------------------------- worker

evening_worker::evening_worker(evening_run& run, std::size_t index, worker_account& acc)
    : account(acc), conn("worker " + acc.username, run.pool, 0, run.settings.ep), run_(run), index_(index) {
  conn.set_traffic([this](const pr::message& m) { return on_traffic(m); });
  conn.set_error_filter([this](const pr::error_message& e) { return on_error(e); });
}

void evening_worker::run_phase(std::size_t, std::function<void()> done) {
  worker_login_and_shift(conn, index_, account, "evening-" + std::to_string(index_), true, [this, done] {
    // Auto: the server gives her up to --capacity conversations; take: manual only (0).
    pr::presence_set p;
    p.rid = "presence";
    p.status = pr::presence_status::available;
    p.capacity = run_.o.assign == "auto" ? run_.o.capacity : 0;
    conn.expect("ok", [this, done](const pr::message&) {
      done();
      maybe_take();
    });
    conn.send(pr::encode(p));
  });
}

void evening_worker::maybe_take() {
  if (run_.o.assign != "take" || run_.winding || take_in_flight_ || busy_ >= run_.o.capacity || queue_total_ <= 0) {
    return;
  }
  pr::queue_take t;
  t.rid = "take-" + std::to_string(++takes_);
  take_in_flight_ = true;
  --queue_total_;  // until the next snapshot says otherwise
  ++run_.f.takes_sent;
  conn.send(pr::encode(t));
}

void evening_worker::stop_taking() {
  if (run_.o.assign != "auto") return;
  pr::presence_set p;
  p.rid = "presence-stop";
  p.status = pr::presence_status::busy;  // keeps automatic assignment away from her
  conn.send(pr::encode(p));  // its `ok` is passed over in on_traffic
}

chat* evening_worker::find(std::int64_t id) {
  auto it = chats_.find(id);
  if (it == chats_.end()) fatal("worker " + account.username + ": a frame for conversation " + std::to_string(id) +
                                " she was never given");
  return it->second;
}

bool evening_worker::on_error(const pr::error_message& e) {
  if (e.code == pr::error::queue_empty && starts_with(e.rid, "take-")) {
    // Colleagues took the last ones first: wait for the next snapshot.
    take_in_flight_ = false;
    queue_total_ = 0;
    ++run_.f.takes_empty;
    return true;
  }
  // A receipt overtaken by her own conversation.end (the store answers them in any order).
  return e.code == pr::error::conversation_ended && starts_with(e.rid, "rcpt");
}

bool evening_worker::on_traffic(const pr::message& m) {
  if (const auto* s = std::get_if<pr::queue_snapshot>(&m)) {
    if (!s->rid) ++run_.f.snapshots;
    queue_total_ = s->total;
    maybe_take();
    return true;
  }
  if (const auto* a = std::get_if<pr::conversation_assigned>(&m)) {
    if (a->rid) take_in_flight_ = false;
    if (chats_.count(a->conversation_id) != 0) return true;
    if (run_.by_key.count(a->beneficiary_key.text()) == 0) {
      fatal("worker " + account.username + ": given a beneficiary this run did not make (a queue left by an "
            "earlier run? start relaisd on a fresh store)");
    }
    auto& c = run_.chat_of(a->conversation_id);
    c.worker = this;
    c.beneficiary_key = a->beneficiary_key.text();
    chats_[c.id] = &c;
    ++busy_;
    run_.progress();
    run_.attached(c);
    maybe_take();
    return true;
  }
  if (const auto* msg = std::get_if<pr::conversation_message>(&m)) {
    run_.on_message(*find(msg->conversation_id), 1, *msg, false);
    return true;
  }
  if (const auto* ack = std::get_if<pr::conversation_ack>(&m)) {
    auto& c = *find(ack->conversation_id);
    run_.on_stored(c, 1, ack->client_msg_id, ack->seq, true);
    return true;
  }
  if (const auto* ok = std::get_if<pr::ok>(&m)) {
    if (starts_with(ok->rid, "presence-stop")) return true;
    if (!starts_with(ok->rid, "end-")) return false;
    run_.finished(*find(std::stoll(ok->rid->substr(4))));
    return true;
  }
  if (const auto* ended = std::get_if<pr::conversation_ended>(&m)) {
    auto& c = *find(ended->conversation_id);
    if (c.state != chat::phase::ending && c.state != chat::phase::ended) {
      fatal("worker " + account.username + ": conversation " + std::to_string(c.id) +
            " ended by the server before she ended it (reason " + std::string(pr::wire_name(ended->reason)) + ")");
    }
    run_.finished(c);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- beneficiary

evening_beneficiary::evening_beneficiary(evening_run& run, std::size_t index, bool urgent)
    : conn("beneficiary " + std::to_string(index), run.pool, 0, run.settings.ep),
      run_(run),
      index_(index),
      urgent_(urgent) {
  identity = crypto::identity_key_pair::generate(run.crypto_rng);
  key_text = pr::encoded_bytes::from_bytes(identity.public_key_bytes()).text();
  conn.set_traffic([this](const pr::message& m) { return on_traffic(m); });
  conn.set_error_filter([this](const pr::error_message& e) { return on_error(e); });
}

void evening_beneficiary::start() {
  arrived_ns_ = now_ns();
  conn.start(index_, pr::peer_role::beneficiary,
             [this](const pr::welcome& w) { authenticate(w, [this] { joined(); }); });
}

void evening_beneficiary::authenticate(const pr::welcome& w, std::function<void()> done) {
  std::error_code ec;
  auto input = pr::beneficiary_auth_signing_input(w.challenge, ec);
  if (ec) fatal("beneficiary " + std::to_string(index_) + ": welcome.challenge is not 32 bytes");
  pr::auth_beneficiary a;
  a.rid = "auth";
  a.identity_key = pr::encoded_bytes::from_bytes(identity.public_key_bytes());
  a.signature = pr::encoded_bytes::from_bytes(identity.sign(input));
  conn.expect("auth.ok", [done = std::move(done)](const pr::message&) { done(); });
  conn.send(pr::encode(a));
}

void evening_beneficiary::joined() {
  run_.f.connect.record(now_ns() - arrived_ns_);
  if (run_.winding) {  // arrived as the evening closed: goes away without joining
    ++run_.f.left_unserved;
    state = phase::done;
    conn.drop();
    run_.beneficiary_done();
    return;
  }
  pr::queue_join j;
  j.rid = "join";
  j.urgent = urgent_;
  join_ns_ = now_ns();
  conn.expect("queue.position", [this](const pr::message&) {
    if (state != phase::connecting) return;  // taken before the reply was read
    state = phase::waiting;
    ++run_.f.joined;
    ++run_.f.waiting;
    run_.f.peak_waiting = std::max(run_.f.peak_waiting, run_.f.waiting);
    if (run_.winding) leave();
  });
  conn.send(pr::encode(j));
}

void evening_beneficiary::leave() {
  if (state != phase::waiting) return;
  state = phase::leaving;
  pr::queue_leave l;
  l.rid = "leave";
  conn.expect("ok", [this](const pr::message&) {
    if (state != phase::leaving) return;
    --run_.f.waiting;
    ++run_.f.left_unserved;
    state = phase::done;
    conn.drop();
    run_.beneficiary_done();
  });
  conn.send(pr::encode(l));
}

void evening_beneficiary::drop() {
  state = phase::offline;
  conn.drop();
  ++run_.f.reconnects;
  run_.after(run_.o.offline_s, [this] {
    state = phase::resyncing;
    conn.start(index_, pr::peer_role::beneficiary,
               [this](const pr::welcome& w) { authenticate(w, [this] { reconnected(); }); });
  });
}

void evening_beneficiary::reconnected() {
  // Resume from the highest seq below which nothing is missing (PROTOCOL.md §7): the store
  // replays everything above it, own messages included, then sync.done.
  pr::sync s;
  s.rid = "sync";
  s.cursors.push_back({current->id, current->seqs[0].contiguous()});
  syncing = true;
  conn.expect("sync.done", [this](const pr::message& m) {
    syncing = false;
    const auto& done = std::get<pr::sync_done>(m);
    bool listed = false;
    for (const auto& c : done.conversations) listed = listed || (c.conversation_id == current->id && c.open);
    if (!listed) fatal("beneficiary " + std::to_string(index_) + ": sync.done without its open conversation");
    state = phase::chatting;
    // What was not acknowledged before the drop, or written while away, goes (again) now:
    // the same client_msg_id and ciphertext, so the server stores each once.
    for (const auto& [n, entry] : current->pending) {
      current->ledgers[0].resent(entry.first);
      ++run_.f.resent;
      conn.send(entry.second);
    }
    run_.progress();
    run_.check_closing(*current);
  });
  conn.send(pr::encode(s));
}

void evening_beneficiary::finish() {
  state = phase::done;
  conn.drop();
  run_.beneficiary_done();
}

bool evening_beneficiary::on_error(const pr::error_message& e) {
  // A take that reached the server before the leave: conversation.opened follows.
  if (e.code == pr::error::not_in_queue && starts_with(e.rid, "leave")) return true;
  // The worker ended the conversation while this receipt was on its way.
  return e.code == pr::error::conversation_ended && starts_with(e.rid, "rcpt");
}

bool evening_beneficiary::on_traffic(const pr::message& m) {
  if (std::holds_alternative<pr::queue_position>(m)) {
    ++run_.f.positions;
    return true;
  }
  if (const auto* o = std::get_if<pr::conversation_opened>(&m)) {
    if (current != nullptr) {
      // Sent again after each authentication for every open conversation.
      if (o->conversation_id != current->id) {
        fatal("beneficiary " + std::to_string(index_) + ": conversation.opened for a second conversation");
      }
      return true;
    }
    if (state != phase::waiting && state != phase::leaving && state != phase::connecting) {
      fatal("beneficiary " + std::to_string(index_) + ": conversation.opened while not waiting");
    }
    run_.f.wait.record(now_ns() - join_ns_);
    if (state != phase::connecting) {
      --run_.f.waiting;
    } else {
      ++run_.f.joined;  // taken before the join's reply was read
    }
    ++run_.f.served;
    state = phase::chatting;
    auto& c = run_.chat_of(o->conversation_id);
    c.beneficiary = this;
    current = &c;
    run_.progress();
    run_.attached(c);
    run_.start_handshake(c);
    return true;
  }
  if (const auto* msg = std::get_if<pr::conversation_message>(&m)) {
    if (current == nullptr || msg->conversation_id != current->id) {
      fatal("beneficiary " + std::to_string(index_) + ": a message of a conversation it is not in");
    }
    run_.on_message(*current, 0, *msg, syncing);
    return true;
  }
  if (const auto* ack = std::get_if<pr::conversation_ack>(&m)) {
    if (current == nullptr || ack->conversation_id != current->id) {
      fatal("beneficiary " + std::to_string(index_) + ": an ack for a conversation it is not in");
    }
    run_.on_stored(*current, 0, ack->client_msg_id, ack->seq, true);
    return true;
  }
  if (const auto* ended = std::get_if<pr::conversation_ended>(&m)) {
    if (current == nullptr || ended->conversation_id != current->id) return true;
    if (current->state != chat::phase::ending && current->state != chat::phase::ended) {
      fatal("beneficiary " + std::to_string(index_) + ": conversation ended before its worker ended it (reason " +
            std::string(pr::wire_name(ended->reason)) + ")");
    }
    finish();
    return true;
  }
  if (std::holds_alternative<pr::queue_inbox_offer>(m)) {
    ++run_.f.inbox_offers;
    return true;
  }
  if (std::holds_alternative<pr::queue_timeout>(m)) {
    fatal("beneficiary " + std::to_string(index_) + ": queue.timeout (removed from the queue by the server)");
  }
  return false;
}

// ---------------------------------------------------------------- conversations

void evening_run::attached(chat& c) {
  if (c.beneficiary != nullptr && c.worker != nullptr && c.beneficiary->key_text != c.beneficiary_key) {
    fatal("conversation " + std::to_string(c.id) + ": conversation.assigned names another beneficiary");
  }
  if (winding) begin_closing(c);
}

void evening_run::start_handshake(chat& c) {
  if (settings.precomputed) return send(c, 0);
  // The widget's way (PROTOCOL.md conversation.opened): the bundle, the certificate checked
  // against the org key, X3DH, and the first message.
  pr::keys_fetch fetch;
  fetch.rid = "fetch";
  fetch.conversation_id = c.id;
  c.beneficiary->conn.expect("keys.bundle", [this, &c](const pr::message& m) {
    initiate_from_bundle(std::get<pr::keys_bundle>(m), settings.org_public, c.beneficiary->identity, crypto_rng,
                         c.sessions[0], "conversation " + std::to_string(c.id) + " beneficiary");
    send(c, 0);
  });
  c.beneficiary->conn.send(pr::encode(fetch));
}

void evening_run::send(chat& c, int side) {
  const auto s = static_cast<std::size_t>(side);
  const auto n = ++c.counters[s];
  const auto id = make_client_msg_id(side == 0 ? 'b' : 'w', n, now_ns());
  pr::conversation_send m;
  m.conversation_id = c.id;
  m.client_msg_id = id;
  if (settings.precomputed) {
    std::error_code ec;
    m.ciphertext = pr::encoded_bytes::from_text(settings.precomputed_ciphertext, ec);
  } else {
    crypto::bytes wire;
    if (auto ec = c.sessions[s].encrypt(plaintext, wire)) fatal("conversation " + std::to_string(c.id) + ": encrypt: " + ec.message());
    m.ciphertext = pr::encoded_bytes::from_bytes(std::span<const std::uint8_t>(wire));
  }
  auto frame = pr::encode(m);
  c.ledgers[s].sent(id);
  ++f.sent;
  if (side == 1) {
    c.worker->conn.send(frame);
    return;
  }
  if (c.beneficiary->online()) {
    c.beneficiary->conn.send(frame);
  } else {
    ++f.held_offline;  // written while away: sent after the resume
  }
  c.pending.emplace(n, std::make_pair(id, std::move(frame)));
}

void evening_run::on_message(chat& c, int receiver, const pr::conversation_message& m, bool replayed) {
  const int sender = m.sender == pr::peer_role::beneficiary ? 0 : 1;
  const auto r = static_cast<std::size_t>(receiver);
  const auto s = static_cast<std::size_t>(sender);
  if (sender == receiver) {
    // Its own message replayed by sync: stored, whether or not its ack came.
    if (!replayed) fatal("conversation " + std::to_string(c.id) + ": a live copy of the sender's own message");
    on_stored(c, sender, m.client_msg_id, m.seq, false);
    return;
  }
  switch (c.seqs[r].add(m.seq, m.client_msg_id)) {
    case seq_tracker::result::repeat:
      ++f.repeats;  // at-least-once: dropped by seq, never decrypted twice
      return;
    case seq_tracker::result::conflict:
      ++f.seq_conflicts;
      return;
    case seq_tracker::result::added:
      break;
  }
  if (c.ledgers[s].received(m.client_msg_id, m.seq) != delivery_ledger::arrival::fresh) return;  // counted there
  const auto now = now_ns();
  const auto who = "conversation " + std::to_string(c.id) + (receiver == 0 ? " beneficiary" : " worker");
  if (!settings.precomputed) {
    crypto::bytes pt;
    const auto wire = to_bytes(m.ciphertext.decode());
    if (receiver == 1 && !c.worker_ready) {
      std::optional<std::uint32_t> used;
      auto& account = c.worker->account;
      std::lock_guard g(account.prekeys_mutex);
      if (auto ec = crypto::session::accept(account.identity, account.prekeys, wire, crypto_rng, unix_seconds(),
                                            c.sessions[1], pt, used)) {
        fatal(who + ": cannot accept the first message: " + ec.message());
      }
      if (used) account.prekeys.opks.erase(*used);
    } else if (auto ec = c.sessions[r].decrypt(wire, crypto_rng, unix_seconds(), pt)) {
      fatal(who + ": cannot decrypt seq " + std::to_string(m.seq) + ": " + ec.message());
    }
    if (pt.size() != plaintext.size()) fatal(who + ": decrypted a message of the wrong size");
  }
  if (replayed) {
    ++f.recovered;
  } else {
    ++f.delivered_live;
    auto stamp = stamp_of_client_msg_id(m.client_msg_id);
    if (!stamp) fatal(who + ": a client_msg_id the bench did not make");
    if (!c.ledgers[s].was_resent(m.client_msg_id)) f.delivery.record(now - *stamp);
  }
  progress();
  if (o.receipts) send_receipt(c, receiver);
  if (receiver == 1 && !c.worker_ready) {
    // She answers at once, then chats at her pace until she ends it.
    c.worker_ready = true;
    send(c, 1);
    schedule_next(c, 1);
    after(c.length_s, [this, &c] { begin_closing(c); });
  } else if (receiver == 0 && !c.beneficiary_ready) {
    c.beneficiary_ready = true;
    c.state = chat::phase::chatting;
    schedule_next(c, 0);
    if (c.drops) {
      std::uniform_real_distribution<double> u(limits::drop_from, limits::drop_to);
      after(c.length_s * u(rng), [&c] {
        if (!c.closing && c.state == chat::phase::chatting && c.beneficiary->online()) c.beneficiary->drop();
      });
    }
  }
  check_closing(c);
}

void evening_run::send_receipt(chat& c, int side) {
  const auto s = static_cast<std::size_t>(side);
  const auto up = c.seqs[s].contiguous();
  if (up <= c.receipt_sent[s]) return;
  if (side == 0 && !c.beneficiary->online()) return;  // the next one after the resume covers it
  c.receipt_sent[s] = up;
  pr::conversation_delivered d;
  d.rid = "rcpt";
  d.conversation_id = c.id;
  d.up_to_seq = up;
  (side == 0 ? c.beneficiary->conn : c.worker->conn).send(pr::encode(d));
  ++f.receipts;
}

void evening_run::on_stored(chat& c, int side, const std::string& id, std::int64_t seq, bool from_ack) {
  const auto s = static_cast<std::size_t>(side);
  const bool was_acked = c.ledgers[s].is_acked(id);
  if (!c.ledgers[s].acked(id, seq)) return;  // a duplicate or unknown: counted by the ledger
  if (c.seqs[s].add(seq, id) == seq_tracker::result::conflict) ++f.seq_conflicts;
  if (side == 0) {
    auto n = std::stoull(id.substr(1, 12));
    c.pending.erase(n);
  }
  if (from_ack && !was_acked && !c.ledgers[s].was_resent(id)) {
    if (auto stamp = stamp_of_client_msg_id(id)) f.ack.record(now_ns() - *stamp);
  }
  progress();
  check_closing(c);
}

void evening_run::schedule_next(chat& c, int side) {
  after(draw(o.think_s), [this, &c, side] {
    if (c.closing || c.state != chat::phase::chatting) return;
    send(c, side);
    schedule_next(c, side);
  });
}

void evening_run::check_closing(chat& c) {
  if (!c.closing || c.state == chat::phase::ending || c.state == chat::phase::ended) return;
  if (c.beneficiary == nullptr || c.worker == nullptr || !c.worker_ready || !c.beneficiary_ready) return;
  if (!c.beneficiary->online() || c.beneficiary->syncing) return;
  if (!c.ledgers[0].settled() || !c.ledgers[1].settled()) return;
  // Both sides have everything: she says goodbye and ends it.
  c.state = chat::phase::ending;
  pr::conversation_end e;
  e.rid = "end-" + std::to_string(c.id);
  e.conversation_id = c.id;
  c.worker->conn.send(pr::encode(e));
}

void evening_run::finished(chat& c) {
  if (c.state == chat::phase::ended) return;
  c.state = chat::phase::ended;
  ++f.ended;
  --f.open;
  open_chats.fetch_sub(1, std::memory_order_relaxed);
  progress();
  const auto total = c.ledgers[0].sent_count() + c.ledgers[1].sent_count();
  for (std::size_t s = 0; s < 2; ++s) {
    f.lost += c.ledgers[s].lost();
    f.duplicates += c.ledgers[s].duplicates();
    f.unknown += c.ledgers[s].unknown();
    // Gapless and complete: each side holds 1..total, its own and the other's.
    if (c.seqs[s].size() != total || c.seqs[s].contiguous() != static_cast<std::int64_t>(total)) ++f.seq_gaps;
  }
  c.worker->conversation_finished();
}

void evening_run::wind_up() {
  winding = true;
  for (auto& w : workers) w->stop_taking();
  for (auto& b : beneficiaries) {
    if (b->state == evening_beneficiary::phase::waiting) b->leave();
  }
  for (auto& [id, c] : chats) begin_closing(*c);
}

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }
double us(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

}  // namespace

bool run_evening(io_pool& pool, const options& o, const relais_run_settings& settings,
                 const crypto::identity_key_pair& org, const std::string& password, nlohmann::json& out) {
  evening_run run(pool, o, settings);
  run.plaintext.assign(settings.plaintext_size, std::uint8_t{'x'});
  const auto workers_n = static_cast<std::size_t>(o.workers);
  // Prekeys for the conversations each worker may take (X3DH works without one beyond).
  const double expected = o.arrival_rate * o.duration / static_cast<double>(workers_n);
  const int opks = std::clamp(static_cast<int>(std::ceil(expected * 1.5)) + 4, 4, limits::evening_max_opks);
  for (std::size_t w = 0; w < workers_n; ++w) {
    run.accounts.push_back(std::make_unique<worker_account>(o.worker_prefix + std::to_string(w + 1), password, org, opks));
    run.workers.push_back(std::make_unique<evening_worker>(run, w, *run.accounts.back()));
  }
  std::vector<client_unit*> units;
  for (auto& w : run.workers) units.push_back(w.get());
  run_setup(pool, units, o, out);

  const auto rss_start = process_rss_kib(o.server_pid);
  long rss_max = rss_start.value_or(0);
  auto sample_rss = [&] {
    if (auto r = process_rss_kib(o.server_pid)) rss_max = std::max(rss_max, *r);
  };
  const auto ca = cpu_sample::now(o.server_pid);
  const auto t0 = now_ns();
  pool.post(0, [&run] { run.start_arrivals(); });
  const auto arrivals_end = t0 + static_cast<std::uint64_t>(o.duration * 1e9);
  while (now_ns() < arrivals_end) {
    sleep_s(limits::evening_sample_s);
    sample_rss();
  }
  // The evening closes: nobody new, those waiting leave, every conversation is wound up.
  pool.post(0, [&run] { run.wind_up(); });
  const auto tw = now_ns();
  auto last = run.progress_.load();
  auto last_progress = now_ns();
  bool stuck = false;
  while (run.active.load() != 0 || run.open_chats.load() != 0) {
    sleep_s(limits::evening_sample_s);
    sample_rss();
    if (auto p = run.progress_.load(); p != last) {
      last = p;
      last_progress = now_ns();
    } else if (static_cast<double>(now_ns() - last_progress) / 1e9 > o.timeout) {
      stuck = true;
      break;
    }
  }
  const auto t1 = now_ns();
  const auto cb = cpu_sample::now(o.server_pid);
  const auto rss_end = process_rss_kib(o.server_pid);
  pool.stop();

  auto& f = run.f;
  if (stuck) {
    // Conversations that never settled: what was acknowledged and not received is lost.
    for (auto& [id, c] : run.chats) {
      if (c->state == chat::phase::ended) continue;
      ++f.unsettled;
      for (const auto& l : c->ledgers) {
        f.lost += l.lost();
        f.duplicates += l.duplicates();
      }
    }
  }
  const double secs = static_cast<double>(t1 - t0) / 1e9;
  out["workers"] = workers_n;
  out["capacity"] = o.capacity;
  out["assign"] = o.assign;
  out["arrival_rate"] = o.arrival_rate;
  out["duration"] = o.duration;
  out["conversation_s"] = o.conversation_s;
  out["think_s"] = o.think_s;
  out["reconnect_fraction"] = o.reconnect_fraction;
  out["offline_s"] = o.offline_s;
  out["receipts"] = o.receipts;
  out["size"] = o.size;
  out["secs"] = secs;
  out["wind_up_s"] = static_cast<double>(t1 - tw) / 1e9;
  out["arrivals"] = f.arrivals;
  out["joined"] = f.joined;
  out["served"] = f.served;
  out["left_unserved"] = f.left_unserved;
  out["ended"] = f.ended;
  out["peak_waiting"] = f.peak_waiting;
  out["peak_open"] = f.peak_open;
  out["connect_p50_ms"] = ms(f.connect.percentile(50));
  out["connect_p99_ms"] = ms(f.connect.percentile(99));
  out["wait_samples"] = f.wait.count();
  out["wait_p50_ms"] = ms(f.wait.percentile(50));
  out["wait_p99_ms"] = ms(f.wait.percentile(99));
  out["wait_max_ms"] = ms(f.wait.max());
  out["messages"] = f.sent;
  out["delivered"] = f.delivered_live;
  out["delivery_samples"] = f.delivery.count();
  out["delivery_p50_us"] = us(f.delivery.percentile(50));
  out["delivery_p90_us"] = us(f.delivery.percentile(90));
  out["delivery_p99_us"] = us(f.delivery.percentile(99));
  out["delivery_max_us"] = us(f.delivery.max());
  out["ack_p50_us"] = us(f.ack.percentile(50));
  out["ack_p99_us"] = us(f.ack.percentile(99));
  out["reconnects"] = f.reconnects;
  out["recovered"] = f.recovered;
  out["resent"] = f.resent;
  out["held_offline"] = f.held_offline;
  out["redelivered"] = f.repeats;
  out["lost"] = f.lost;
  out["duplicates"] = f.duplicates + f.unknown + f.seq_conflicts;
  out["seq_gaps"] = f.seq_gaps;
  out["unsettled"] = f.unsettled;
  out["receipts_sent"] = f.receipts;
  out["takes_sent"] = f.takes_sent;
  out["takes_empty"] = f.takes_empty;
  out["position_frames"] = f.positions;
  out["snapshot_frames"] = f.snapshots;
  out["inbox_offers"] = f.inbox_offers;
  if (ca.server && cb.server) {
    const double cpu = *cb.server - *ca.server;
    out["server_cpu_s"] = cpu;
    out["server_cpu_pct"] = 100.0 * cpu / secs;
    const auto relayed = f.delivered_live + f.recovered;
    if (relayed > 0) out["server_us_per_chat_msg"] = cpu * 1e6 / static_cast<double>(relayed);
  }
  if (rss_start) {
    out["server_rss_start_kib"] = *rss_start;
    out["server_rss_max_kib"] = rss_max;
    out["server_rss_end_kib"] = rss_end.value_or(0);
  }
  out["client_cpu_pct"] = 100.0 * (cb.self - ca.self) / secs;
  out["machine_busy_pct"] = 100.0 * (cb.machine - ca.machine) / secs;
  const bool failed = stuck || f.lost != 0 || f.duplicates != 0 || f.unknown != 0 || f.seq_conflicts != 0 ||
                      f.seq_gaps != 0;
  out["failed"] = failed;
  return !failed;
}

void print_evening_table(const nlohmann::json& j) {
  // key / divisor with `decimals`, or "-" when the run did not produce it.
  auto num = [&](const char* key, int decimals, double divisor = 1.0) {
    if (!j.contains(key) || !j[key].is_number()) return std::string("-");
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%.*f", decimals, j[key].get<double>() / divisor);
    return std::string(buf.data());
  };
  std::fprintf(stderr,
               "relais-bench relais evening: %s arrivals/s for %s s, %s workers x %s (%s), a message every ~%s s "
               "each way, conversations ~%s s, %s %% drop and resume after %s s\n"
               "| figure | value |\n|---|---|\n"
               "| arrivals / served / left unserved at the close | %s / %s / %s |\n"
               "| peak waiting / peak open conversations | %s / %s |\n"
               "| connect (TCP, TLS, hello, auth) p50 / p99 ms | %s / %s |\n"
               "| wait, queue.join to conversation.opened, p50 / p99 / max ms | %s / %s / %s |\n"
               "| chat messages sent / delivered live / recovered by sync | %s / %s / %s |\n"
               "| delivery p50 / p99 / max ms (live) | %s / %s / %s |\n"
               "| durable ack p50 / p99 ms | %s / %s |\n"
               "| reconnects / messages sent again / redelivered (dropped by seq) | %s / %s / %s |\n"
               "| lost / duplicated / seq gaps / unsettled (must be 0) | %s / %s / %s / %s |\n"
               "| queue.take sent / found the queue empty | %s / %s |\n"
               "| server CPU %% of a core / µs per chat message (everything included) | %s / %s |\n"
               "| server RSS start / peak / end MiB | %s / %s / %s |\n"
               "| machine busy %% (2 cores = 200) | %s |\n",
               num("arrival_rate", 1).c_str(), num("duration", 0).c_str(), num("workers", 0).c_str(),
               num("capacity", 0).c_str(), j.value("assign", std::string("?")).c_str(), num("think_s", 1).c_str(),
               num("conversation_s", 0).c_str(), num("reconnect_fraction", 0, 0.01).c_str(),
               num("offline_s", 1).c_str(), num("arrivals", 0).c_str(), num("served", 0).c_str(),
               num("left_unserved", 0).c_str(), num("peak_waiting", 0).c_str(), num("peak_open", 0).c_str(),
               num("connect_p50_ms", 1).c_str(), num("connect_p99_ms", 1).c_str(), num("wait_p50_ms", 0).c_str(),
               num("wait_p99_ms", 0).c_str(), num("wait_max_ms", 0).c_str(), num("messages", 0).c_str(),
               num("delivered", 0).c_str(), num("recovered", 0).c_str(), num("delivery_p50_us", 2, 1000).c_str(),
               num("delivery_p99_us", 2, 1000).c_str(), num("delivery_max_us", 2, 1000).c_str(),
               num("ack_p50_us", 2, 1000).c_str(), num("ack_p99_us", 2, 1000).c_str(), num("reconnects", 0).c_str(),
               num("resent", 0).c_str(), num("redelivered", 0).c_str(), num("lost", 0).c_str(),
               num("duplicates", 0).c_str(), num("seq_gaps", 0).c_str(), num("unsettled", 0).c_str(),
               num("takes_sent", 0).c_str(), num("takes_empty", 0).c_str(), num("server_cpu_pct", 1).c_str(),
               num("server_us_per_chat_msg", 0).c_str(), num("server_rss_start_kib", 1, 1024).c_str(),
               num("server_rss_max_kib", 1, 1024).c_str(), num("server_rss_end_kib", 1, 1024).c_str(),
               num("machine_busy_pct", 0).c_str());
}

}  // namespace relais::bench
