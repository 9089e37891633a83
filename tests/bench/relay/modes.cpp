#include "modes.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "stats.hpp"

namespace relais::bench {

namespace limits {
/// Frames: a client connection's unsent queue beyond this means the server stopped reading;
/// the run fails rather than growing without bound.
inline constexpr std::size_t max_client_queue = 10'000;
/// Messages per side sent and not yet delivered (latency mode): the same bound at the
/// application level, when the server reads but does not relay.
inline constexpr std::uint64_t max_undelivered = 100'000;
/// Milliseconds between the coordinator's checks (progress, deadlines).
inline constexpr int poll_ms = 2;
/// Seconds the servers get to register the last joins before traffic starts (pair relays
/// drop frames for a side that has not joined yet).
inline constexpr double settle_s = 0.3;
/// Seconds after the last connection opened before the idle mode reads the server's RSS.
inline constexpr double idle_settle_s = 1.5;
}  // namespace limits

void fatal(const std::string& what) {
  std::fprintf(stderr, "relais-bench: %s\n", what.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(1);
}

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

namespace {

double seconds_since(std::uint64_t t0) { return static_cast<double>(now_ns() - t0) / 1e9; }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

/// CPU figures between two samples over `secs` seconds and `messages` messages.
void add_cpu(nlohmann::json& out, const cpu_sample& a, const cpu_sample& b, double secs, std::uint64_t messages) {
  if (a.server && b.server) {
    const double server = *b.server - *a.server;
    out["server_cpu_pct"] = 100.0 * server / secs;
    out["server_us_per_msg"] = messages > 0 ? server * 1e6 / static_cast<double>(messages) : -1.0;
  }
  out["client_cpu_pct"] = 100.0 * (b.self - a.self) / secs;
  out["machine_busy_pct"] = 100.0 * (b.machine - a.machine) / secs;
}

void add_percentiles(nlohmann::json& out, const std::string& prefix, const latency_histogram& h) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  out[prefix + "samples"] = h.count();
  out[prefix + "p50_us"] = us(h.percentile(50));
  out[prefix + "p90_us"] = us(h.percentile(90));
  out[prefix + "p99_us"] = us(h.percentile(99));
  out[prefix + "p999_us"] = us(h.percentile(99.9));
  out[prefix + "max_us"] = us(h.max());
}

/// Per-side counters of one link; touched only on the link's io thread.
struct link_state {
  std::array<std::uint64_t, 2> sent{};
  std::array<std::uint64_t, 2> delivered{};  // [s]: messages of side s received by its peer
  std::array<std::uint64_t, 2> acked{};      // [s]: acks received by side s
};

/// Shared base of the two traffic modes: counters, histograms and the send loop bounds.
class traffic : public link_listener {
 public:
  traffic(io_pool& pool, const std::vector<bench_link*>& links, const options& o)
      : pool_(pool), links_(links), o_(o), state_(links.size()), delivery_(pool.size()), acks_(pool.size()) {
    for (auto* l : links_) l->set_listener(this);
  }
  virtual ~traffic() = default;
  traffic(const traffic&) = delete;
  traffic& operator=(const traffic&) = delete;

  void on_delivered(std::size_t link, int receiver, std::uint64_t sent_ns) override {
    const int sender = 1 - receiver;
    auto& st = state_[link];
    ++st.delivered[static_cast<std::size_t>(sender)];
    relayed_.fetch_add(1, std::memory_order_relaxed);
    if (sent_ns >= measure_begin_.load(std::memory_order_relaxed) &&
        sent_ns < measure_end_.load(std::memory_order_relaxed)) {
      delivery_[links_[link]->io_index()].record(now_ns() - sent_ns);
    }
    after_progress(link, sender);
  }

  void on_acked(std::size_t link, int sender, std::uint64_t sent_ns) override {
    ++state_[link].acked[static_cast<std::size_t>(sender)];
    acked_.fetch_add(1, std::memory_order_relaxed);
    if (sent_ns >= measure_begin_.load(std::memory_order_relaxed) &&
        sent_ns < measure_end_.load(std::memory_order_relaxed)) {
      acks_[links_[link]->io_index()].record(now_ns() - sent_ns);
    }
    after_progress(link, sender);
  }

 protected:
  virtual void after_progress(std::size_t link, int sender) = 0;

  /// Messages of side s that are finished: received by the peer and, where the protocol
  /// acks, acked too (so both the server's relay and its store are bounded by the window).
  [[nodiscard]] std::uint64_t finished(std::size_t link, std::size_t s) const {
    const auto& st = state_[link];
    return links_[link]->acked_protocol() ? std::min(st.acked[s], st.delivered[s]) : st.delivered[s];
  }

  void send_one(std::size_t link, int side) {
    auto* l = links_[link];
    if (l->queued(side) > limits::max_client_queue) {
      fatal("link " + std::to_string(link) + " side " + std::to_string(side) + ": more than " +
            std::to_string(limits::max_client_queue) + " frames unsent; the server stopped reading");
    }
    l->send(side, now_ns());
    ++state_[link].sent[static_cast<std::size_t>(side)];
    sent_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Stops the io threads and merges the per-thread histograms.
  void finish(latency_histogram& delivery, latency_histogram& acks) {
    pool_.stop();
    for (const auto& h : delivery_) delivery.merge(h);
    for (const auto& h : acks_) acks.merge(h);
  }

  io_pool& pool_;
  const std::vector<bench_link*>& links_;
  const options& o_;
  std::vector<link_state> state_;
  std::vector<latency_histogram> delivery_;  // per io thread
  std::vector<latency_histogram> acks_;      // per io thread
  std::atomic<std::uint64_t> relayed_{0};
  std::atomic<std::uint64_t> acked_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> measure_begin_{UINT64_MAX};
  std::atomic<std::uint64_t> measure_end_{UINT64_MAX};
};

class throughput_run final : public traffic {
 public:
  using traffic::traffic;

  void run(nlohmann::json& out) {
    const auto t0 = now_ns();
    measure_begin_ = t0 + static_cast<std::uint64_t>(o_.warmup * 1e9);
    for (std::size_t i = 0; i < links_.size(); ++i) {
      pool_.post(links_[i]->io_index(), [this, i] {
        fill(i, 0);
        fill(i, 1);
      });
    }
    const std::uint64_t target = 2ULL * links_.size() * static_cast<std::uint64_t>(o_.msgs);
    sleep_s(o_.warmup);
    const auto a = relayed_.load();
    const auto ta = now_ns();
    const auto ca = cpu_sample::now(o_.server_pid);
    const auto deadline = ta + static_cast<std::uint64_t>(o_.duration * 1e9);
    auto last = a;
    auto last_progress = ta;
    while (now_ns() < deadline && relayed_.load() < target) {
      std::this_thread::sleep_for(std::chrono::milliseconds(limits::poll_ms));
      const auto r = relayed_.load();
      if (r != last) {
        last = r;
        last_progress = now_ns();
      } else if (seconds_since(last_progress) > o_.timeout) {
        fatal("throughput: no message relayed for " + std::to_string(o_.timeout) + " s (stalled)");
      }
    }
    const auto b = relayed_.load();
    const auto tb = now_ns();
    const auto cb = cpu_sample::now(o_.server_pid);
    measure_end_ = tb;
    stop_ = true;
    latency_histogram delivery;
    latency_histogram acks;
    finish(delivery, acks);
    const double secs = static_cast<double>(tb - ta) / 1e9;
    const double mps = static_cast<double>(b - a) / secs;
    out["secs"] = secs;
    out["relayed"] = b - a;
    out["msgs_per_s"] = mps;
    out["MB_per_s"] = mps * o_.size / 1e6;
    out["total_relayed"] = b;
    out["total_acked"] = acked_.load();
    add_cpu(out, ca, cb, secs, b - a);
    // Under saturation these are queueing times inside the window, not the relay's latency.
    add_percentiles(out, "window_", delivery);
    if (acks.count() > 0) add_percentiles(out, "ack_", acks);
  }

 private:
  void after_progress(std::size_t link, int sender) override { fill(link, sender); }

  void fill(std::size_t link, int side) {
    const auto s = static_cast<std::size_t>(side);
    while (!stop_.load(std::memory_order_relaxed) && state_[link].sent[s] < static_cast<std::uint64_t>(o_.msgs) &&
           state_[link].sent[s] - finished(link, s) < static_cast<std::uint64_t>(o_.window)) {
      send_one(link, side);
    }
  }
};

class latency_run final : public traffic {
 public:
  using traffic::traffic;

  void run(nlohmann::json& out) {
    const auto t0 = now_ns();
    measure_begin_ = t0 + static_cast<std::uint64_t>(o_.warmup * 1e9);
    measure_end_ = measure_begin_ + static_cast<std::uint64_t>(o_.duration * 1e9);
    // Each io thread sends its share of the rate, round-robin over its links' sides.
    const unsigned n = pool_.size();
    per_thread_.resize(n);
    for (std::size_t i = 0; i < links_.size(); ++i) {
      per_thread_[links_[i]->io_index()].links.push_back(i);
    }
    std::size_t busy = 0;
    for (const auto& t : per_thread_) busy += t.links.empty() ? 0U : 1U;
    for (unsigned t = 0; t < n; ++t) {
      if (per_thread_[t].links.empty()) continue;
      per_thread_[t].rate = o_.rate / static_cast<double>(busy);
      pool_.run_timer(t, [this, t, t0]() -> std::optional<steady_time> { return tick(per_thread_[t], t0); });
    }
    sleep_s(o_.warmup);
    const auto relayed_a = relayed_.load();
    const auto ca = cpu_sample::now(o_.server_pid);
    sleep_s(o_.duration);
    const auto relayed_b = relayed_.load();
    const auto cb = cpu_sample::now(o_.server_pid);
    sleep_s(o_.drain);  // messages stamped inside the window may still be arriving
    stop_ = true;
    latency_histogram delivery;
    latency_histogram acks;
    finish(delivery, acks);
    std::uint64_t lag = 0;
    for (const auto& t : per_thread_) lag = std::max(lag, t.max_lag_ns);
    const auto expected = static_cast<std::uint64_t>(o_.rate * o_.duration);
    out["rate"] = o_.rate;
    out["secs"] = o_.duration;
    out["expected"] = expected;
    out["relayed"] = relayed_b - relayed_a;
    add_percentiles(out, "", delivery);
    if (acks.count() > 0) add_percentiles(out, "ack_", acks);
    out["sched_max_lag_us"] = static_cast<double>(lag) / 1000.0;
    add_cpu(out, ca, cb, o_.duration, relayed_b - relayed_a);
    if (delivery.count() + expected / 100 < expected) {
      std::fprintf(stderr, "relais-bench: warning: %llu of %llu messages of the window arrived\n",
                   static_cast<unsigned long long>(delivery.count()), static_cast<unsigned long long>(expected));
    }
  }

 private:
  struct thread_state {
    std::vector<std::size_t> links;
    double rate = 0;
    std::uint64_t scheduled = 0;
    std::size_t next = 0;  // round-robin position over 2 * links.size() sides
    std::uint64_t max_lag_ns = 0;
  };

  void after_progress(std::size_t link, int sender) override {
    const auto s = static_cast<std::size_t>(sender);
    if (state_[link].sent[s] - state_[link].delivered[s] > limits::max_undelivered) {
      fatal("latency: more than " + std::to_string(limits::max_undelivered) +
            " messages of one side undelivered; the server does not keep up with --rate");
    }
  }

  std::optional<steady_time> tick(thread_state& t, std::uint64_t t0) {
    if (stop_.load(std::memory_order_relaxed)) return std::nullopt;
    const auto now = now_ns();
    if (now >= measure_end_.load(std::memory_order_relaxed)) return std::nullopt;
    const auto due = static_cast<std::uint64_t>(static_cast<double>(now - t0) * t.rate / 1e9);
    while (t.scheduled < due) {
      const auto planned = t0 + static_cast<std::uint64_t>(static_cast<double>(t.scheduled) * 1e9 / t.rate);
      t.max_lag_ns = std::max(t.max_lag_ns, now - planned);
      const auto side_index = t.next;
      t.next = (t.next + 1) % (2 * t.links.size());
      send_one(t.links[side_index / 2], static_cast<int>(side_index % 2));
      ++t.scheduled;
    }
    const auto next = t0 + static_cast<std::uint64_t>(static_cast<double>(t.scheduled + 1) * 1e9 / t.rate);
    return steady_time(std::chrono::nanoseconds(next));
  }

  std::vector<thread_state> per_thread_;
};

}  // namespace

void run_setup(io_pool& pool, const std::vector<client_unit*>& units, const options& o, nlohmann::json& out) {
  if (units.empty()) return;
  const auto names = units.front()->phases();
  for (std::size_t p = 0; p < names.size(); ++p) {
    const int c = units.front()->phase_concurrency(p);
    const auto concurrency = static_cast<std::size_t>(c == 0 ? o.connect_concurrency : c);
    const bool rated = c == 0;
    const double per_unit = units.front()->phase_connections(p);
    std::mutex m;
    std::condition_variable cv;
    std::size_t done = 0;
    std::size_t started = 0;
    const auto t0 = now_ns();
    auto last_progress = t0;
    std::size_t last_done = 0;
    std::unique_lock lock(m);
    while (done < units.size()) {
      while (started < units.size() && started - done < concurrency &&
             (!rated || static_cast<double>(started) * per_unit < seconds_since(t0) * o.connect_rate + 1.0)) {
        auto* u = units[started++];
        pool.post(u->io_index(), [u, p, &m, &cv, &done] {
          u->run_phase(p, [&m, &cv, &done] {
            std::lock_guard g(m);
            ++done;
            cv.notify_one();
          });
        });
      }
      cv.wait_for(lock, std::chrono::milliseconds(limits::poll_ms));
      if (done != last_done) {
        last_done = done;
        last_progress = now_ns();
      } else if (seconds_since(last_progress) > o.timeout) {
        fatal("setup phase '" + names[p] + "': " + std::to_string(done) + " of " + std::to_string(units.size()) +
              " done, no progress for " + std::to_string(o.timeout) + " s (--timeout)");
      }
    }
    out["setup_s"][names[p]] = seconds_since(t0);
  }
}

void run_throughput(io_pool& pool, const std::vector<bench_link*>& links, const options& o, nlohmann::json& out) {
  sleep_s(limits::settle_s);
  throughput_run r(pool, links, o);
  r.run(out);
}

void run_latency(io_pool& pool, const std::vector<bench_link*>& links, const options& o, nlohmann::json& out) {
  sleep_s(limits::settle_s);
  latency_run r(pool, links, o);
  r.run(out);
}

void run_idle(io_pool& pool, const std::vector<client_unit*>& units, const options& o, nlohmann::json& out) {
  const auto before = process_rss_kib(o.server_pid);
  const auto t0 = now_ns();
  run_setup(pool, units, o, out);
  out["connect_s"] = seconds_since(t0);
  sleep_s(limits::idle_settle_s);
  const auto after = process_rss_kib(o.server_pid);
  sleep_s(o.hold);
  const auto end = process_rss_kib(o.server_pid);
  out["hold_s"] = o.hold;
  if (before && after && end) {
    const auto connections = static_cast<double>(o.conns);
    out["server_rss_before_kib"] = *before;
    out["server_rss_after_kib"] = *after;
    out["server_rss_end_kib"] = *end;
    out["bytes_per_conn"] = static_cast<double>(std::max(*after, *end) - *before) * 1024.0 / connections;
  }
  out["client_rss_kib"] = process_rss_kib(static_cast<int>(::getpid())).value_or(0);
}

}  // namespace relais::bench
