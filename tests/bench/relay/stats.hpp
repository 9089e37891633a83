#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

// Figures of a run: a bounded latency histogram, and the CPU and memory of a server process
// read from /proc (the figure that still compares when the generator is the bottleneck).

namespace relais::bench {

/// Log-linear histogram of durations in nanoseconds, HDR style: 64 sub-buckets per power of
/// two, so every recorded value is kept within 1/64 (1.6 %) of its true value, with fixed
/// memory (about 26 KiB) whatever the number of samples. One per io thread, merged at the end.
class latency_histogram {
 public:
  /// Records one duration (values above ~2^50 ns, 13 days, are clamped into the last bucket).
  void record(std::uint64_t ns) noexcept;
  /// Adds another histogram's counts.
  void merge(const latency_histogram& other) noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  /// The value at percentile `p` (0 < p <= 100): the upper bound of the bucket holding it, or
  /// the exact maximum for the last sample; 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double p) const noexcept;

  static constexpr unsigned sub_bucket_bits = 6;
  static constexpr unsigned sub_buckets = 1U << sub_bucket_bits;
  static constexpr unsigned magnitudes = 45;
  static constexpr std::size_t counts_size = std::size_t{sub_buckets} * (magnitudes + 1);

 private:
  [[nodiscard]] static std::size_t index_of(std::uint64_t ns) noexcept;
  [[nodiscard]] static std::uint64_t upper_bound_of(std::size_t index) noexcept;

  std::array<std::uint64_t, counts_size> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

/// user + system CPU seconds of process `pid` (/proc/PID/stat), nullopt if unreadable.
[[nodiscard]] std::optional<double> process_cpu_seconds(int pid);
/// Resident memory of process `pid` in KiB (/proc/PID/status VmRSS), nullopt if unreadable.
[[nodiscard]] std::optional<long> process_rss_kib(int pid);
/// user + system CPU seconds of this process.
[[nodiscard]] double self_cpu_seconds();
/// Busy CPU seconds of the whole machine, all cores (/proc/stat), to spot foreign load.
[[nodiscard]] double machine_busy_seconds();

/// CPU of the server, of this process and of the machine between two instants.
struct cpu_sample {
  std::optional<double> server;
  double self = 0;
  double machine = 0;
  /// Reads all three now (`server_pid` 0: no server figure).
  [[nodiscard]] static cpu_sample now(int server_pid);
};

}  // namespace relais::bench
