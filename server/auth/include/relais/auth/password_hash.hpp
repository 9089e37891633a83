#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "relais/auth/limits.hpp"

// Argon2id password hashes in libsodium's encoded form (crypto_pwhash_str:
// "$argon2id$v=19$m=65536,t=2,p=1$salt$hash"), which carries its own salt and parameters.
// These functions run on the calling thread and take tens of milliseconds each at the
// default cost: relaisd calls them through credentials' pool, the admin command directly.

namespace relais::auth {

/// Argon2id cost parameters (libsodium's opslimit and memlimit).
struct argon2_params {
  std::uint64_t opslimit = limits::default_argon2_opslimit;  ///< passes
  std::size_t memlimit = limits::default_argon2_memlimit;    ///< bytes

  /// The cheapest parameters libsodium accepts (1 pass, 8 KiB): for tests only, where the
  /// cost is not the point.
  [[nodiscard]] static argon2_params cheapest() noexcept;
};

/// True if libsodium accepts these parameters for Argon2id.
[[nodiscard]] bool valid_params(const argon2_params& params) noexcept;

/// Hashes `password` with a fresh random salt; hash_failed if Argon2id could not get its
/// memory, invalid_input for parameters libsodium refuses. The result holds no secret.
[[nodiscard]] std::string hash_password(std::string_view password, const argon2_params& params, std::error_code& ec);

/// True if `encoded` is an Argon2id encoded hash that libsodium can verify against.
[[nodiscard]] bool is_well_formed_hash(std::string_view encoded);

/// True if `encoded` should be recomputed: its parameters differ from `params`, or it is not
/// a well-formed Argon2id hash at all. The admin command reports it; the core login flow may
/// rehash after a successful login.
[[nodiscard]] bool needs_rehash(std::string_view encoded, const argon2_params& params);

/// Verifies `password` against `encoded` on the calling thread; false for a mismatch and for
/// a malformed hash (which returns at once: credentials' pool hides that with a dummy hash).
[[nodiscard]] bool verify_password_now(std::string_view encoded, std::string_view password);

}  // namespace relais::auth
