#include "stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace relais::bench {

// Bucket layout: values below 2^sub_bucket_bits go one per bucket (magnitude 0); above, the
// magnitude m >= 1 is the position of the highest bit minus sub_bucket_bits + 1 and the
// sub-bucket the next sub_bucket_bits bits: [m * 64 + sub].
std::size_t latency_histogram::index_of(std::uint64_t ns) noexcept {
  if (ns < sub_buckets) return static_cast<std::size_t>(ns);
  const auto top = static_cast<unsigned>(std::bit_width(ns)) - 1U;  // >= sub_bucket_bits
  unsigned magnitude = top - sub_bucket_bits + 1U;
  if (magnitude > magnitudes) return counts_size - 1;
  const auto sub = static_cast<std::size_t>((ns >> (top - sub_bucket_bits)) & (sub_buckets - 1U));
  return std::size_t{magnitude} * sub_buckets + sub;
}

std::uint64_t latency_histogram::upper_bound_of(std::size_t index) noexcept {
  const auto magnitude = static_cast<unsigned>(index / sub_buckets);
  const std::uint64_t sub = index % sub_buckets;
  if (magnitude == 0) return sub;
  const unsigned shift = magnitude - 1U;
  // Values with this magnitude and sub-bucket: ((64 + sub) << shift) .. that + 2^shift - 1.
  return ((std::uint64_t{sub_buckets} + sub) << shift) + ((std::uint64_t{1} << shift) - 1U);
}

void latency_histogram::record(std::uint64_t ns) noexcept {
  ++counts_[index_of(ns)];
  ++count_;
  max_ = std::max(max_, ns);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    // The last bucket also holds the clamped values: its bound is the maximum seen.
    if (seen >= rank) return i + 1 == counts_.size() ? max_ : std::min(upper_bound_of(i), max_);
  }
  return max_;
}

std::optional<double> process_cpu_seconds(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  auto close = s.rfind(')');
  if (close == std::string::npos || close + 2 > s.size()) return std::nullopt;
  std::istringstream in(s.substr(close + 2));
  std::string token;
  unsigned long long user = 0;
  unsigned long long system = 0;
  for (int field = 3; in >> token; ++field) {
    if (field == 14) user = std::stoull(token);
    if (field == 15) {
      system = std::stoull(token);
      return static_cast<double>(user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return std::nullopt;
}

std::optional<long> process_rss_kib(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return std::nullopt;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

double machine_busy_seconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  std::array<unsigned long long, 8> v{};
  f >> cpu;
  for (auto& x : v) f >> x;
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

cpu_sample cpu_sample::now(int server_pid) {
  cpu_sample s;
  s.server = process_cpu_seconds(server_pid);
  s.self = self_cpu_seconds();
  s.machine = machine_busy_seconds();
  return s;
}

}  // namespace relais::bench
