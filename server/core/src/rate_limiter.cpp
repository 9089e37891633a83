#include "relais/core/rate_limiter.hpp"

#include <algorithm>

namespace relais::core {

rate_limiter::rate_limiter(double per_second, double burst) noexcept
    : per_second_(per_second), burst_(burst), tokens_(burst) {}

void rate_limiter::refill(time_point now) noexcept {
  if (!started_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (now <= last_) return;  // a monotonic clock never goes back; tolerate equal stamps
  std::chrono::duration<double> dt = now - last_;
  tokens_ = std::min(burst_, tokens_ + dt.count() * per_second_);
  last_ = now;
}

bool rate_limiter::try_take(time_point now) noexcept {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

double rate_limiter::available(time_point now) noexcept {
  refill(now);
  return tokens_;
}

}  // namespace relais::core
