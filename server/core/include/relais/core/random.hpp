#pragma once

#include <cstddef>
#include <span>

namespace relais::core {

/// The randomness source core decisions use (challenges, tokens, ids); injected so that
/// tests are deterministic. The production implementation wraps libsodium's randombytes.
class random_source {
 public:
  virtual ~random_source() = default;
  virtual void fill(std::span<std::byte> out) = 0;
};

}  // namespace relais::core
