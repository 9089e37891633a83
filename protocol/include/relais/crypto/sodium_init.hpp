#pragma once

namespace relais::crypto {

/// Initialises libsodium once; safe to call from any thread. Returns false if libsodium
/// could not be initialised (no usable randomness source), in which case nothing may run.
[[nodiscard]] bool sodium_init_once() noexcept;

}  // namespace relais::crypto
