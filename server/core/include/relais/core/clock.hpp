#pragma once

#include <chrono>
#include <cstdint>

namespace relais::core {

/// Monotonic time as core sees it: a duration since an arbitrary origin, never the wall clock.
using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;

/// The time source core decisions use; injected so that tests drive time by hand.
class clock {
 public:
  virtual ~clock() = default;
  /// Monotonic now, for timeouts, rate limits and waits.
  [[nodiscard]] virtual time_point now() const = 0;
  /// Wall-clock now in seconds since the Unix epoch, for schedules and certificate validity.
  [[nodiscard]] virtual std::int64_t unix_seconds() const = 0;
  /// Wall-clock now in milliseconds since the Unix epoch, for stored times (sent_at...).
  [[nodiscard]] virtual std::int64_t unix_ms() const { return unix_seconds() * 1000; }
};

/// A clock that moves only when told to; for tests.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t unix_start = 1'700'000'000) : unix_start_(unix_start) {}
  [[nodiscard]] time_point now() const override { return time_point{} + elapsed_; }
  [[nodiscard]] std::int64_t unix_seconds() const override {
    return unix_start_ + std::chrono::duration_cast<std::chrono::seconds>(elapsed_).count();
  }
  [[nodiscard]] std::int64_t unix_ms() const override {
    return unix_start_ * 1000 + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed_).count();
  }
  void advance(duration d) { elapsed_ += d; }

 private:
  std::int64_t unix_start_;
  duration elapsed_{};
};

}  // namespace relais::core
