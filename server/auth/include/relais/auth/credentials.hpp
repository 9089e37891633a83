#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "relais/auth/limits.hpp"
#include "relais/auth/password_hash.hpp"
#include "relais/auth/totp.hpp"
#include "relais/core/credentials.hpp"
#include "relais/crypto/secure_buffer.hpp"

namespace relais::auth {

/// How the credentials are set up; relaisd fills it from its config, tests shrink it.
struct credentials_options {
  argon2_params argon2;                                ///< cost of new hashes and of the dummy hash
  std::size_t threads = limits::default_hash_threads;  ///< hashing threads, 1..limits::max_hash_threads
  std::size_t max_pending = limits::default_max_pending;  ///< verifications waiting beyond those running
  totp_params totp;                                    ///< digits, period, drift window
};

/// Counters of the hashing pool (for metrics and tests).
struct credentials_stats {
  std::uint64_t verified = 0;      ///< verifications completed (match or mismatch)
  std::uint64_t refused_busy = 0;  ///< verifications refused because the queue was full
  std::size_t pending = 0;         ///< verifications waiting now (not running)
};

/// core::credentials on libsodium and OpenSSL: Argon2id verification on a small bounded pool
/// of threads, TOTP with HMAC-SHA1.
///
/// The pool: `threads` threads take verifications from a queue of at most `max_pending`
/// waiting ones; a verification arriving when the queue is full is answered busy at once on
/// the caller's thread. Memory is bounded by threads x memlimit (64 MiB each by default).
/// An empty or malformed hash is verified against a dummy hash made once at construction
/// with the same parameters, so an unknown account costs the same as a wrong password.
/// Passwords are copied into sodium_malloc'd memory on arrival and the caller's string is
/// wiped; the copy is wiped when its verification ends.
///
/// Destruction: verifications already running finish and call their callback on their pool
/// thread; the waiting ones are not run, their callbacks are called with busy on the
/// destroying thread; then the threads are joined. Callbacks must not throw and must be short
/// (post to the session's strand and return), as they hold a hashing thread.
class credentials final : public core::credentials {
 public:
  /// Starts the pool and makes the dummy hash (one hash: ~0.1 s at the default cost).
  /// Throws std::invalid_argument for options outside their bounds and std::runtime_error if
  /// libsodium cannot start or the dummy hash cannot be made (a broken startup, not input).
  explicit credentials(credentials_options options = {});
  ~credentials() override;
  credentials(const credentials&) = delete;
  credentials& operator=(const credentials&) = delete;

  void verify_password(std::string encoded_hash, std::string password,
                       std::function<void(core::password_check)> done) override;

  [[nodiscard]] std::optional<std::int64_t> match_totp(const core::bytes& secret, std::string_view code,
                                                       std::int64_t unix_seconds) const override;

  [[nodiscard]] core::bytes new_totp_secret() override;

  /// The URI, or an empty string if it would exceed PROTOCOL.md's 512 bytes or if an input
  /// is empty (make_otpauth_uri says which; the caller answers an internal error).
  [[nodiscard]] std::string otpauth_uri(const core::bytes& secret, std::string_view account,
                                        std::string_view issuer) const override;

  /// A new encoded hash of `password` with this object's parameters, on the calling thread
  /// (not the pool). Wipes `password`. Errors as hash_password.
  [[nodiscard]] std::string hash_password(std::string password, std::error_code& ec) const;

  /// True if `encoded_hash` was made with other parameters than this object's (or is not a
  /// well-formed Argon2id hash): rehash it at the next successful login.
  [[nodiscard]] bool needs_rehash(std::string_view encoded_hash) const;

  [[nodiscard]] credentials_stats stats() const;

 private:
  struct job {
    std::string encoded_hash;
    crypto::secure_buffer password;
    std::function<void(core::password_check)> done;
  };

  void run();
  [[nodiscard]] core::password_check verify(const job& j) const;

  credentials_options options_;
  std::string dummy_hash_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;        // guarded by mutex_
  bool stopping_ = false;        // guarded by mutex_
  credentials_stats stats_;      // guarded by mutex_ (pending is queue_.size())
  std::vector<std::thread> threads_;
};

}  // namespace relais::auth
