#pragma once

#include <cstdint>

#include "relais/core/clock.hpp"

namespace relais::core {

/// A token bucket: `burst` events at once, refilled at `per_second` events a second.
/// Not thread-safe: each owner (a session on its strand, a shard) keeps its own.
class rate_limiter {
 public:
  rate_limiter(double per_second, double burst) noexcept;

  /// Takes one token if available at `now`; false means the event must be refused.
  [[nodiscard]] bool try_take(time_point now) noexcept;

  /// Tokens available at `now` (for tests and metrics).
  [[nodiscard]] double available(time_point now) noexcept;

  /// The bucket's size: available() == burst() means idle (nothing taken recently).
  [[nodiscard]] double burst() const noexcept { return burst_; }

 private:
  void refill(time_point now) noexcept;

  double per_second_;
  double burst_;
  double tokens_;
  time_point last_{};
  bool started_ = false;
};

}  // namespace relais::core
