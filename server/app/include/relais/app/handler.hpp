#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <thread>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "relais/core/permanence.hpp"
#include "relais/core/relay.hpp"
#include "relais/core/session.hpp"
#include "relais/net/server.hpp"

namespace relais::app {

/// Live sessions by identity (core::session_directory), in shards with their own lock so
/// that no single lock sits on the message path.
class sharded_directory final : public core::session_directory {
 public:
  void add(const std::string& key, const std::shared_ptr<core::session>& s) override;
  void remove(const std::string& key, const core::session* s) override;
  void for_each(const std::string& key,
                const std::function<void(const std::shared_ptr<core::session>&)>& fn) override;
  [[nodiscard]] std::size_t size() const override;

 private:
  static constexpr std::size_t shard_count = 32;
  struct shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, std::vector<std::weak_ptr<core::session>>> sessions;
  };
  shard& shard_of(const std::string& key);
  std::array<shard, shard_count> shards_;
  std::atomic<std::size_t> size_{0};
};

/// Events per minute one address may cause, per action (config [limits] *_per_address).
struct address_rates {
  double logins_per_minute = 20;
  double queue_joins_per_minute = 30;
  double backup_gets_per_minute = 20;
  double authentications_per_minute = 600;
};

/// Per-address token buckets in memory only (never written anywhere), bounded in size:
/// when a shard is full, idle addresses are forgotten first.
class memory_address_guard final : public core::address_guard {
 public:
  explicit memory_address_guard(address_rates rates, std::size_t max_addresses = 100'000);
  [[nodiscard]] std::optional<core::duration> try_take(std::string_view address, core::address_action action) override;

 private:
  static constexpr std::size_t shard_count = 16;
  struct buckets {
    std::array<core::rate_limiter, 4> limiters;
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, buckets> addresses;
  };
  [[nodiscard]] buckets fresh() const;
  address_rates rates_;
  std::size_t max_per_shard_;
  std::array<shard, shard_count> shards_;
};

/// The production time source: the monotonic clock, and the wall clock for stored times.
class system_clock final : public core::clock {
 public:
  [[nodiscard]] core::time_point now() const override;
  [[nodiscard]] std::int64_t unix_seconds() const override;
  [[nodiscard]] std::int64_t unix_ms() const override;
};

/// The relay inside relaisd: the shared services every session uses, and the factory that
/// gives each WebSocket its core::session.
class relay_runtime {
 public:
  relay_runtime(core::store& store, core::credentials& credentials, core::relay_settings settings,
                address_rates rates);
  ~relay_runtime();
  relay_runtime(const relay_runtime&) = delete;
  relay_runtime& operator=(const relay_runtime&) = delete;

  /// Loads the permanence from the store (waiting beneficiaries keep their places across a
  /// restart), then starts the background thread: the permanence's tick every 250 ms
  /// (schedules, grace periods, coalesced pushes), and every `revocation_interval` a poll of
  /// the store for sessions revoked by anyone (another process such as `relaisd user
  /// disable` included), whose connections close with 4003 within about that interval.
  [[nodiscard]] std::error_code start_background(
      std::chrono::milliseconds revocation_interval = std::chrono::milliseconds(500));
  /// Stops the background thread (before the store closes); idempotent.
  void stop_background();

  /// The handler factory for net::server; the runtime must outlive the server.
  [[nodiscard]] net::ws_handler_factory handler_factory();
  [[nodiscard]] core::session_directory& directory() noexcept { return directory_; }
  [[nodiscard]] core::relay_services& services() noexcept { return services_; }
  [[nodiscard]] core::permanence& permanence() noexcept { return permanence_; }

 private:
  system_clock clock_;
  crypto::system_random random_;
  sharded_directory directory_;
  memory_address_guard addresses_;
  core::permanence permanence_;
  core::relay_services services_;
  std::mutex watch_mutex_;
  std::condition_variable watch_wake_;
  bool watch_stop_ = false;
  std::thread watch_;
};

}  // namespace relais::app
