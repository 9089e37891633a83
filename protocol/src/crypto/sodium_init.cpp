#include "relais/crypto/sodium_init.hpp"

#include <sodium.h>

namespace relais::crypto {

bool sodium_init_once() noexcept {
  // sodium_init() is itself thread-safe and idempotent: 0 = done now, 1 = already done.
  return sodium_init() >= 0;
}

}  // namespace relais::crypto
