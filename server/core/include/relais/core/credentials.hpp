#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "relais/core/store_types.hpp"

// Worker credentials as core needs them (issue 6). Core declares them, server/auth implements
// them: Argon2id (libsodium crypto_pwhash) on a small bounded pool of threads, because one
// verification takes tens of milliseconds and must never run on a session's strand; TOTP
// (RFC 6238) with HMAC-SHA1 from OpenSSL, the algorithm every authenticator app uses.

namespace relais::core {

/// The outcome of a password verification.
enum class password_check : std::uint8_t {
  match = 0,     ///< the password matches the stored Argon2id hash
  mismatch = 1,  ///< wrong password, or no account (verified against a dummy hash: same time)
  busy = 2,      ///< the hashing pool's queue is full: answer server_busy, nothing was checked
};

/// Password hashing and TOTP. Thread-safe.
class credentials {
 public:
  virtual ~credentials() = default;

  /// Verifies `password` against an Argon2id encoded hash (crypto_pwhash_str format) off the
  /// caller's thread and calls `done` once, on a pool thread (or on the caller's thread with
  /// busy when the pool's queue is full). An empty or malformed hash is verified against a
  /// fixed dummy hash, so an unknown account costs the same time as a wrong password.
  virtual void verify_password(std::string encoded_hash, std::string password,
                               std::function<void(password_check)> done) = 0;

  /// The TOTP time step that `code` matches at `unix_seconds`, allowing one step of clock
  /// drift either way; nullopt if none does. `secret` is the raw shared secret (20 bytes).
  [[nodiscard]] virtual std::optional<std::int64_t> match_totp(const bytes& secret, std::string_view code,
                                                               std::int64_t unix_seconds) const = 0;

  /// A fresh random TOTP secret (20 bytes, RFC 4226's recommended length).
  [[nodiscard]] virtual bytes new_totp_secret() = 0;

  /// The otpauth://totp/ URI an authenticator app reads from a QR code (base32 secret,
  /// SHA1, 6 digits, 30 s).
  [[nodiscard]] virtual std::string otpauth_uri(const bytes& secret, std::string_view account,
                                                std::string_view issuer) const = 0;
};

}  // namespace relais::core
