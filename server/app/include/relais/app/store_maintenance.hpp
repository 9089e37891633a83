#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>

#include "relais/core/store.hpp"

namespace relais::app {

namespace limits {

/// How long a revocation stays in the store's log (hours). relaisd polls the log every second
/// and a restart closes every socket anyway, so a day is ample; the log stays small.
inline constexpr std::int64_t revocation_log_hours = 24;

}  // namespace limits

/// What the periodic purge needs from [store] (config/README.md).
struct store_maintenance_options {
  /// Conversations ended longer ago than this are deleted with their messages; so are
  /// finished queue entries and answered inbox entries last changed before it.
  std::chrono::hours retention{24 * 365};
  /// Time between two purges (the first one runs at start).
  std::chrono::milliseconds interval{std::chrono::minutes(60)};
  /// Wall clock in unix milliseconds, for the cut-offs; empty: the system clock.
  std::function<core::unix_ms()> now;
  /// Called after each purge with its outcome, on the store's writer thread (tests, metrics).
  std::function<void(std::error_code, const core::purge_result&)> on_purged;
};

/// The background task that applies the retention policy: one thread that, at start and then
/// every interval, computes the cut-offs from the wall clock and calls purge_expired, and
/// logs the counts (never content). Destroying it stops the thread at once; a purge already
/// handed to the store completes there on its own. The store must outlive this object.
class store_maintenance {
 public:
  store_maintenance(core::retention_store& store, store_maintenance_options options);
  ~store_maintenance();
  store_maintenance(const store_maintenance&) = delete;
  store_maintenance& operator=(const store_maintenance&) = delete;

  /// Runs the next purge now instead of at the end of the interval (for an admin request or
  /// a test); during a purge, one more runs right after it.
  void trigger();

  /// The cut-offs of a purge at `now` (unix ms) for this retention.
  [[nodiscard]] static core::purge_request cutoffs(core::unix_ms now, std::chrono::hours retention);

 private:
  struct shared;  // outlives this object while a purge is in flight

  void run();

  core::retention_store& store_;
  store_maintenance_options options_;
  std::shared_ptr<shared> state_;
  std::thread thread_;
};

}  // namespace relais::app
