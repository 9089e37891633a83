#include "relais/crypto/random.hpp"

#include <sodium.h>

#include "relais/crypto/primitives.hpp"

namespace relais::crypto {

void system_random::fill(std::span<std::uint8_t> out) { randombytes_buf(out.data(), out.size()); }

deterministic_random::deterministic_random(bytes_view seed32) : seed_(seed32) {}

void deterministic_random::fill(std::span<std::uint8_t> out) {
  bytes index;
  append_u64be(index, counter_++);
  const secret32 draw_seed = hmac_sha256(seed_.view(), index);
  randombytes_buf_deterministic(out.data(), out.size(), draw_seed.data());
}

}  // namespace relais::crypto
