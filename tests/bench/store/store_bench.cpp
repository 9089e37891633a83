// Durable append throughput and time to ack (issue 5): 1, 16 and 256 concurrent appenders,
// 300-byte messages, synchronous=FULL (durable) against synchronous=OFF (the unsafe ceiling).
// Each appender is a closed loop: it sends its next append when the previous one is acked,
// like a client waiting for its ack. Figures go in issue notes, never thresholds.
//
// Run: build/tests/bench/store/relais_store_bench [--benchmark_filter=...]
// The database lives in $TMPDIR (default /tmp): run it on the disk you want to measure.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "relais/store/sqlite_store.hpp"

namespace {

using relais::store::sqlite_store;
using relais::store::sync_mode;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t message_bytes = 300;

struct run_result {
  double seconds = 0;
  std::vector<double> ack_us;
  relais::store::store_stats stats;
  std::uintmax_t wal_bytes_at_end = 0;
};

/// Appends `total` messages with `appenders` closed-loop appenders, one conversation each.
run_result run(sync_mode mode, int appenders, int total) {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/relais-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) std::abort();
  run_result result;
  {
    relais::store::sqlite_options o;
    o.path = dir + "/bench.db";
    o.synchronous = mode;
    o.allow_unsafe_durability = mode != sync_mode::full;
    // Tuning knobs for experiments; the defaults are what relaisd uses.
    if (const char* env = std::getenv("RELAIS_BENCH_PAGE_SIZE"))
      o.page_size = static_cast<std::size_t>(std::atol(env));
    if (const char* env = std::getenv("RELAIS_BENCH_CHECKPOINT_BYTES"))
      o.checkpoint_wal_bytes = std::atoll(env);
    if (const char* env = std::getenv("RELAIS_BENCH_CACHE_BYTES"))
      o.writer_cache_bytes = std::atoll(env);
    if (const char* env = std::getenv("RELAIS_BENCH_COALESCE"))
      o.coalesce_wal_writes = std::atoi(env) != 0;
    relais::store::open_error error;
    auto store = sqlite_store::open(o, error);
    if (!store) {
      std::fprintf(stderr, "open failed: %s\n", error.message.c_str());
      std::abort();
    }
    std::vector<relais::core::conversation_id> conversations;
    for (int a = 0; a < appenders; ++a) {
      std::promise<relais::core::conversation_id> p;
      relais::core::new_conversation c{"beneficiary-" + std::to_string(a), {}, 0};
      store->create_conversation(std::move(c), [&p](std::error_code, relais::core::conversation_id id) {
        p.set_value(id);
      });
      conversations.push_back(p.get_future().get());
    }
    const auto setup = store->stats();  // the conversations' commits are not measured
    const std::string payload(message_bytes, 'x');
    result.ack_us.assign(static_cast<std::size_t>(total), 0.0);
    std::atomic<int> issued{0};
    std::atomic<int> completed{0};
    std::atomic<int> failed{0};
    std::promise<void> finished;
    std::function<void(int)> issue = [&](int a) {
      const int n = issued.fetch_add(1);
      if (n >= total) return;
      const auto t0 = clock_type::now();
      store->append_message(
          {conversations[static_cast<std::size_t>(a)], "m" + std::to_string(n), "sender", payload, n},
          [&, a, n, t0](std::error_code ec, relais::core::append_result) {
            if (ec) failed.fetch_add(1);
            result.ack_us[static_cast<std::size_t>(n)] =
                std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
            if (completed.fetch_add(1) + 1 == total) {
              finished.set_value();
            } else {
              issue(a);
            }
          });
    };
    const auto start = clock_type::now();
    for (int a = 0; a < appenders; ++a) issue(a);
    finished.get_future().wait();
    result.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    result.stats = store->stats();
    result.stats.commits -= setup.commits;
    result.stats.writes_committed -= setup.writes_committed;
    result.stats.wal_frames_written -= setup.wal_frames_written;
    std::error_code size_ec;
    result.wal_bytes_at_end = std::filesystem::file_size(o.path + "-wal", size_ec);
    if (failed.load() != 0) std::fprintf(stderr, "%d appends failed\n", failed.load());
  }
  std::filesystem::remove_all(dir);
  return result;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

std::map<std::pair<int, int>, double> rates;  // (appenders, mode) -> appends/s

void append_bench(benchmark::State& state) {
  const int appenders = static_cast<int>(state.range(0));
  const auto mode = state.range(1) == 0 ? sync_mode::full : sync_mode::off;
  // Enough acks for stable percentiles; fewer for the single appender waiting an fsync each.
  // RELAIS_BENCH_APPENDS overrides the count for longer, steadier runs.
  int total = appenders == 1 ? 2000 : 20000;
  if (const char* env = std::getenv("RELAIS_BENCH_APPENDS")) total = std::max(1, std::atoi(env));
  run_result r;
  for (auto _ : state) {
    r = run(mode, appenders, total);
    state.SetIterationTime(r.seconds);
  }
  const double rate = total / r.seconds;
  rates[{appenders, static_cast<int>(state.range(1))}] = rate;
  state.counters["appends_per_s"] = rate;
  state.counters["ack_p50_us"] = percentile(r.ack_us, 0.50);
  state.counters["ack_p99_us"] = percentile(r.ack_us, 0.99);
  state.counters["commits"] = static_cast<double>(r.stats.commits);
  state.counters["avg_batch"] =
      static_cast<double>(r.stats.writes_committed) / static_cast<double>(std::max<std::uint64_t>(r.stats.commits, 1));
  state.counters["wal_bytes_per_append"] =
      static_cast<double>(r.stats.wal_frames_written * (r.stats.page_size + 24)) / total;
  state.counters["checkpoints"] = static_cast<double>(r.stats.checkpoints);
  state.counters["wal_restarts"] = static_cast<double>(r.stats.wal_restarts);
  state.counters["wal_mib_at_end"] = static_cast<double>(r.wal_bytes_at_end) / (1024.0 * 1024.0);
  state.SetLabel(mode == sync_mode::full ? "synchronous=FULL (durable)" : "synchronous=OFF (ceiling)");
}

BENCHMARK(append_bench)
    ->ArgNames({"appenders", "unsafe_off"})
    ->ArgsProduct({{1, 16, 256}, {0, 1}})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (int appenders : {1, 16, 256}) {
    auto durable = rates.find({appenders, 0});
    auto ceiling = rates.find({appenders, 1});
    if (durable != rates.end() && ceiling != rates.end())
      std::printf("appenders=%d durable/ceiling = %.2f\n", appenders,
                  durable->second / ceiling->second);
  }
  return 0;
}
