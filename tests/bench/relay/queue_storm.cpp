#include "queue_storm.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <thread>
#include <vector>

#include "modes.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"
#include "stats.hpp"

namespace relais::bench {

namespace pr = relais::protocol;

namespace limits {
/// Seconds after the last join before the quiet measurement: the last joins' coalesced
/// position pushes (one round a second on the server) must be out first.
inline constexpr double storm_drain_s = 1.5;
/// Seconds of the quiet measurement (everyone waiting, nobody moving): what holding the queue
/// costs by itself, the baseline of the take phase.
inline constexpr double storm_quiet_s = 2.0;
/// One-time prekeys per bench worker: queue.take consumes none (only keys.fetch would).
inline constexpr int storm_worker_opks = 4;
}  // namespace limits

namespace {

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

/// A beneficiary that authenticates (stage 0), then joins the queue (stage 1) and counts the
/// queue.position pushes it receives until a worker takes it (conversation.opened).
class storm_beneficiary final : public client_unit {
 public:
  storm_beneficiary(io_pool& pool, unsigned io_index, std::size_t index, bool urgent, const endpoint& ep)
      : io_index_(io_index),
        index_(index),
        urgent_(urgent),
        conn_("beneficiary " + std::to_string(index), pool, io_index, ep) {
    crypto::system_random rng;
    identity_ = crypto::identity_key_pair::generate(rng);
    conn_.set_traffic([this](const pr::message& m) { return on_traffic(m); });
  }

  /// 0: authenticate; 1: join. Set between two run_setup calls (no phase running).
  void set_stage(int s) noexcept { stage_ = s; }
  [[nodiscard]] unsigned io_index() const noexcept override { return io_index_; }
  [[nodiscard]] std::vector<std::string> phases() const override {
    return {stage_ == 0 ? "beneficiary_auth" : "queue_join"};
  }
  [[nodiscard]] int phase_concurrency(std::size_t) const override { return 0; }
  // A join opens no connection: --connect-rate does not pace it, only --connect-concurrency.
  [[nodiscard]] double phase_connections(std::size_t) const override { return stage_ == 0 ? 1 : 0; }
  void run_phase(std::size_t, std::function<void()> done) override {
    if (stage_ == 0) return authenticate(std::move(done));
    pr::queue_join j;
    j.rid = "join";
    j.urgent = urgent_;
    conn_.expect("queue.position", [this, done](const pr::message& m) {
      first_position_.store(std::get<pr::queue_position>(m).position, std::memory_order_relaxed);
      done();
    });
    conn_.send(pr::encode(j));
  }

  [[nodiscard]] std::uint64_t position_pushes() const noexcept { return positions_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool taken() const noexcept { return taken_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t inbox_offers() const noexcept { return offers_.load(std::memory_order_relaxed); }

 private:
  void authenticate(std::function<void()> done) {
    conn_.start(index_, pr::peer_role::beneficiary, [this, done](const pr::welcome& w) {
      std::error_code ec;
      auto input = pr::beneficiary_auth_signing_input(w.challenge, ec);
      if (ec) fatal("beneficiary " + std::to_string(index_) + ": welcome.challenge is not 32 bytes");
      pr::auth_beneficiary a;
      a.rid = "auth";
      a.identity_key = pr::encoded_bytes::from_bytes(identity_.public_key_bytes());
      a.signature = pr::encoded_bytes::from_bytes(identity_.sign(input));
      conn_.expect("auth.ok", [done](const pr::message&) { done(); });
      conn_.send(pr::encode(a));
    });
  }

  bool on_traffic(const pr::message& m) {
    if (std::holds_alternative<pr::queue_position>(m)) {
      if (taken()) fatal("beneficiary " + std::to_string(index_) + ": queue.position after conversation.opened");
      positions_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (std::holds_alternative<pr::conversation_opened>(m)) {
      taken_.store(true, std::memory_order_relaxed);
      return true;
    }
    if (std::holds_alternative<pr::queue_inbox_offer>(m)) {
      offers_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (std::holds_alternative<pr::queue_timeout>(m)) {
      fatal("beneficiary " + std::to_string(index_) + ": queue.timeout (removed from the queue by the server)");
    }
    return false;
  }

  unsigned io_index_;
  std::size_t index_;
  bool urgent_;
  int stage_ = 0;
  crypto::identity_key_pair identity_;
  relais_connection conn_;
  std::atomic<std::uint64_t> positions_{0};
  std::atomic<std::int64_t> first_position_{0};
  std::atomic<bool> taken_{false};
  std::atomic<std::uint64_t> offers_{0};
};

/// A worker (one account, one device) that logs in, publishes its keys, starts a shift, and
/// then takes the next waiting beneficiary when told; counts its queue.snapshot pushes.
class storm_worker final : public client_unit {
 public:
  storm_worker(io_pool& pool, unsigned io_index, std::size_t index, worker_account& account, const endpoint& ep)
      : io_index_(io_index),
        index_(index),
        account_(account),
        conn_("worker " + account.username, pool, io_index, ep) {
    conn_.set_traffic([this](const pr::message& m) { return on_traffic(m); });
  }

  [[nodiscard]] unsigned io_index() const noexcept override { return io_index_; }
  [[nodiscard]] std::vector<std::string> phases() const override { return {"worker_login"}; }
  [[nodiscard]] int phase_concurrency(std::size_t) const override { return 0; }
  void run_phase(std::size_t, std::function<void()> done) override {
    // Source address numbers above the beneficiaries' (index is the worker's number).
    worker_login_and_shift(conn_, index_, account_, "storm-" + std::to_string(index_), true, std::move(done));
  }

  /// Sends one queue.take (on the io thread); the reply's latency goes to `latencies`.
  void take() {
    const auto sent = now_ns();
    pr::queue_take t;
    t.rid = "take-" + std::to_string(++takes_sent_);
    conn_.expect("conversation.assigned", [this, sent](const pr::message&) {
      latencies_.push_back(now_ns() - sent);
      assigned_.fetch_add(1, std::memory_order_relaxed);
    });
    conn_.send(pr::encode(t));
  }

  [[nodiscard]] std::uint64_t snapshot_pushes() const noexcept { return snapshots_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t assigned() const noexcept { return assigned_.load(std::memory_order_relaxed); }
  /// Only once the io threads are stopped.
  [[nodiscard]] const std::vector<std::uint64_t>& latencies() const noexcept { return latencies_; }

 private:
  bool on_traffic(const pr::message& m) {
    if (const auto* s = std::get_if<pr::queue_snapshot>(&m)) {
      if (!s->rid) snapshots_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  unsigned io_index_;
  std::size_t index_;
  worker_account& account_;
  relais_connection conn_;
  std::uint64_t takes_sent_ = 0;
  std::vector<std::uint64_t> latencies_;
  std::atomic<std::uint64_t> snapshots_{0};
  std::atomic<std::uint64_t> assigned_{0};
};

/// Value at percentile `p` of sorted `v` (nearest rank); 0 when empty.
template <typename T>
T nearest_rank(const std::vector<T>& v, double p) {
  if (v.empty()) return T{};
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

double server_cpu_between(const cpu_sample& a, const cpu_sample& b) {
  return a.server && b.server ? *b.server - *a.server : -1.0;
}

}  // namespace

void run_queue_storm(io_pool& pool, const options& o, const relais_run_settings& settings,
                     const crypto::identity_key_pair& org, const std::string& password, nlohmann::json& out) {
  const auto workers_n = static_cast<std::size_t>(o.workers);
  const auto beneficiaries_n = static_cast<std::size_t>(o.beneficiaries);
  auto io_of = [&](std::size_t i) { return static_cast<unsigned>(i % pool.size()); };

  std::vector<std::unique_ptr<worker_account>> accounts;
  std::vector<std::unique_ptr<storm_worker>> workers;
  for (std::size_t w = 0; w < workers_n; ++w) {
    accounts.push_back(std::make_unique<worker_account>(o.worker_prefix + std::to_string(w + 1), password, org,
                                                        limits::storm_worker_opks));
    workers.push_back(std::make_unique<storm_worker>(pool, io_of(w), beneficiaries_n + w, *accounts.back(), settings.ep));
  }
  // Urgent ones spread evenly: beneficiary i is urgent when floor((i+1)f) > floor(i f).
  std::vector<std::unique_ptr<storm_beneficiary>> beneficiaries;
  std::size_t urgent = 0;
  for (std::size_t i = 0; i < beneficiaries_n; ++i) {
    const auto fi = static_cast<double>(i);
    const bool u = std::floor((fi + 1) * o.urgent_fraction) > std::floor(fi * o.urgent_fraction);
    urgent += u ? 1U : 0U;
    beneficiaries.push_back(std::make_unique<storm_beneficiary>(pool, io_of(i), i, u, settings.ep));
  }
  std::vector<client_unit*> worker_units;
  for (auto& w : workers) worker_units.push_back(w.get());
  std::vector<client_unit*> beneficiary_units;
  for (auto& b : beneficiaries) beneficiary_units.push_back(b.get());
  out["beneficiaries"] = beneficiaries_n;
  out["urgent"] = urgent;
  out["workers"] = workers_n;
  out["duration"] = o.duration;

  // The permanence must be open (someone on shift) before anyone may join.
  run_setup(pool, worker_units, o, out);
  run_setup(pool, beneficiary_units, o, out);

  // Join phase.
  for (auto& b : beneficiaries) b->set_stage(1);
  const auto ja = cpu_sample::now(o.server_pid);
  const auto tja = now_ns();
  run_setup(pool, beneficiary_units, o, out);
  const auto tjb = now_ns();
  const auto jb = cpu_sample::now(o.server_pid);
  const double join_s = static_cast<double>(tjb - tja) / 1e9;
  const double join_cpu = server_cpu_between(ja, jb);
  out["join_s"] = join_s;
  out["joins_per_s"] = static_cast<double>(beneficiaries_n) / join_s;
  if (join_cpu >= 0) {
    out["join_server_cpu_s"] = join_cpu;
    out["join_server_cpu_pct"] = 100.0 * join_cpu / join_s;
    out["server_us_per_join"] = join_cpu * 1e6 / static_cast<double>(beneficiaries_n);
  }
  out["join_machine_busy_pct"] = 100.0 * (jb.machine - ja.machine) / join_s;

  // Quiet: everyone waits, nobody moves.
  sleep_s(limits::storm_drain_s);
  std::uint64_t join_positions = 0;
  for (const auto& b : beneficiaries) join_positions += b->position_pushes();
  out["join_position_frames"] = join_positions;
  const auto qa = cpu_sample::now(o.server_pid);
  sleep_s(limits::storm_quiet_s);
  const auto qb = cpu_sample::now(o.server_pid);
  if (const double c = server_cpu_between(qa, qb); c >= 0) out["quiet_server_cpu_pct"] = 100.0 * c / limits::storm_quiet_s;

  // Take phase: worker w takes at t0 + (k + w / W) seconds, k = 0 .. duration - 1.
  std::vector<std::uint64_t> positions_before(beneficiaries_n);
  for (std::size_t i = 0; i < beneficiaries_n; ++i) positions_before[i] = beneficiaries[i]->position_pushes();
  std::vector<std::uint64_t> snapshots_before(workers_n);
  for (std::size_t w = 0; w < workers_n; ++w) snapshots_before[w] = workers[w]->snapshot_pushes();
  const auto rounds = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::floor(o.duration)));
  const auto ta = cpu_sample::now(o.server_pid);
  const auto t0 = now_ns();
  for (std::size_t w = 0; w < workers_n; ++w) {
    auto* worker = workers[w].get();
    const auto offset = static_cast<std::uint64_t>(1e9 * static_cast<double>(w) / static_cast<double>(workers_n));
    auto k = std::make_shared<std::uint64_t>(0);
    pool.run_timer(worker->io_index(), [worker, offset, k, rounds, t0]() -> std::optional<steady_time> {
      const auto due = [&] { return t0 + offset + *k * 1'000'000'000ULL; };
      if (now_ns() >= due()) {
        worker->take();
        if (++*k == rounds) return std::nullopt;
      }
      return steady_time(std::chrono::nanoseconds(due()));
    });
  }
  // The last takes' pushes go out at the server's next round (at most a second later).
  const double secs = static_cast<double>(rounds) + limits::storm_drain_s;
  sleep_s(secs);
  const auto tb = cpu_sample::now(o.server_pid);
  const double take_s = static_cast<double>(now_ns() - t0) / 1e9;

  std::uint64_t assigned = 0;
  std::uint64_t snapshots = 0;
  for (std::size_t w = 0; w < workers_n; ++w) {
    assigned += workers[w]->assigned();
    snapshots += workers[w]->snapshot_pushes() - snapshots_before[w];
  }
  std::uint64_t positions = 0;
  std::uint64_t taken = 0;
  std::uint64_t offers = 0;
  std::vector<std::uint64_t> per_waiting;  // position frames of those still waiting at the end
  for (std::size_t i = 0; i < beneficiaries_n; ++i) {
    const auto d = beneficiaries[i]->position_pushes() - positions_before[i];
    positions += d;
    offers += beneficiaries[i]->inbox_offers();
    if (beneficiaries[i]->taken()) {
      ++taken;
    } else {
      per_waiting.push_back(d);
    }
  }
  const double take_cpu = server_cpu_between(ta, tb);
  pool.stop();
  std::vector<std::uint64_t> latencies;
  for (const auto& w : workers) latencies.insert(latencies.end(), w->latencies().begin(), w->latencies().end());
  std::sort(latencies.begin(), latencies.end());
  std::sort(per_waiting.begin(), per_waiting.end());

  const auto takes_sent = rounds * workers_n;
  const double takes = static_cast<double>(std::max<std::uint64_t>(assigned, 1));
  out["take_s"] = take_s;
  out["takes_sent"] = takes_sent;
  out["takes"] = assigned;
  out["taken_beneficiaries"] = taken;
  out["waiting_at_end"] = beneficiaries_n - taken;
  if (take_cpu >= 0) {
    out["server_cpu_s"] = take_cpu;
    out["server_cpu_pct"] = 100.0 * take_cpu / take_s;
    out["server_us_per_take"] = take_cpu * 1e6 / takes;
  }
  out["client_cpu_pct"] = 100.0 * (tb.self - ta.self) / take_s;
  out["machine_busy_pct"] = 100.0 * (tb.machine - ta.machine) / take_s;
  auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  out["take_p50_ms"] = ms(nearest_rank(latencies, 50));
  out["take_p99_ms"] = ms(nearest_rank(latencies, 99));
  out["take_max_ms"] = ms(latencies.empty() ? 0 : latencies.back());
  out["position_frames"] = positions;
  out["position_frames_per_take"] = static_cast<double>(positions) / takes;
  // Frames per waiting beneficiary per second: about 1 when every take round moves everyone
  // (O(waiting) a second), whatever the number of takes in the round.
  const double mean_waiting = static_cast<double>(beneficiaries_n) - static_cast<double>(taken) / 2.0;
  out["position_frames_per_waiting_per_s"] = static_cast<double>(positions) / mean_waiting / take_s;
  const double mean =
      per_waiting.empty() ? 0.0
                          : static_cast<double>(std::accumulate(per_waiting.begin(), per_waiting.end(), std::uint64_t{0})) /
                                static_cast<double>(per_waiting.size());
  out["position_frames_per_beneficiary"] = {{"min", per_waiting.empty() ? 0 : per_waiting.front()},
                                            {"p50", nearest_rank(per_waiting, 50)},
                                            {"p90", nearest_rank(per_waiting, 90)},
                                            {"p99", nearest_rank(per_waiting, 99)},
                                            {"max", per_waiting.empty() ? 0 : per_waiting.back()},
                                            {"mean", mean}};
  out["snapshot_frames"] = snapshots;
  out["snapshot_frames_per_worker_per_s"] = static_cast<double>(snapshots) / static_cast<double>(workers_n) / take_s;
  out["inbox_offers"] = offers;
  if (assigned != takes_sent) {
    std::fprintf(stderr, "relais-bench: warning: %llu of %llu queue.take answered within the run\n",
                 static_cast<unsigned long long>(assigned), static_cast<unsigned long long>(takes_sent));
  }
}

void print_queue_storm_table(const nlohmann::json& j) {
  auto num = [&](const char* key, int decimals) {
    if (!j.contains(key) || !j[key].is_number()) return std::string("-");
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%.*f", decimals, j[key].get<double>());
    return std::string(buf.data());
  };
  const auto& d = j["position_frames_per_beneficiary"];
  std::fprintf(stderr,
               "relais-bench relais queue-storm: %s waiting (%s urgent), %s workers, %s s of takes\n"
               "| phase | figure | value |\n|---|---|---|\n"
               "| join | joins/s | %s |\n"
               "| join | server CPU µs per join | %s |\n"
               "| join | queue.position pushes during the joins | %s |\n"
               "| quiet | server CPU %% (all waiting, nobody moving) | %s |\n"
               "| take | takes (sent) | %s (%s) |\n"
               "| take | server CPU s / %% of a core | %s / %s |\n"
               "| take | server CPU µs per take | %s |\n"
               "| take | queue.take → conversation.assigned p50 / p99 ms | %s / %s |\n"
               "| take | queue.position frames per take | %s |\n"
               "| take | queue.position frames per waiting beneficiary per second | %s |\n"
               "| take | per waiting beneficiary min / p50 / p90 / max | %s / %s / %s / %s |\n"
               "| take | queue.snapshot frames per worker per second | %s |\n"
               "| take | machine busy %% (2 cores = 200) | %s |\n",
               j["beneficiaries"].dump().c_str(), j["urgent"].dump().c_str(), j["workers"].dump().c_str(),
               num("duration", 0).c_str(), num("joins_per_s", 0).c_str(),
               num("server_us_per_join", 0).c_str(), num("join_position_frames", 0).c_str(),
               num("quiet_server_cpu_pct", 1).c_str(), num("takes", 0).c_str(),
               num("takes_sent", 0).c_str(), num("server_cpu_s", 2).c_str(),
               num("server_cpu_pct", 1).c_str(), num("server_us_per_take", 0).c_str(),
               num("take_p50_ms", 1).c_str(), num("take_p99_ms", 1).c_str(),
               num("position_frames_per_take", 0).c_str(),
               num("position_frames_per_waiting_per_s", 2).c_str(), d["min"].dump().c_str(),
               d["p50"].dump().c_str(), d["p90"].dump().c_str(), d["max"].dump().c_str(),
               num("snapshot_frames_per_worker_per_s", 2).c_str(), num("machine_busy_pct", 0).c_str());
}

}  // namespace relais::bench
