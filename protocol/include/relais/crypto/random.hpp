#pragma once

#include <cstdint>
#include <span>

#include "relais/crypto/secure_buffer.hpp"

namespace relais::crypto {

/// The randomness relais_crypto draws from, injected so that tests and golden transcripts are
/// deterministic. One call to fill() is one "draw" (CRYPTO.md §6).
class random_source {
 public:
  virtual ~random_source() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

/// Production randomness: libsodium's randombytes_buf (getrandom on Linux).
class system_random final : public random_source {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

/// The deterministic generator of CRYPTO.md §6, for tests and transcripts only: draw i of n
/// bytes = randombytes_buf_deterministic(n, HMAC-SHA256(seed, u64be(i))).
class deterministic_random final : public random_source {
 public:
  explicit deterministic_random(bytes_view seed32);
  void fill(std::span<std::uint8_t> out) override;
  [[nodiscard]] std::uint64_t draws() const noexcept { return counter_; }

 private:
  secret32 seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace relais::crypto
