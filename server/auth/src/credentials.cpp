#include "relais/auth/credentials.hpp"

#include <sodium.h>

#include <stdexcept>
#include <utility>

#include "relais/auth/otpauth.hpp"
#include "relais/crypto/sodium_init.hpp"

namespace relais::auth {

namespace {

/// Moves a password into sodium_malloc'd memory and wipes the string it came in.
crypto::secure_buffer take_password(std::string& password) {
  crypto::secure_buffer copy(
      crypto::bytes_view(reinterpret_cast<const std::uint8_t*>(password.data()), password.size()));
  sodium_memzero(password.data(), password.size());
  password.clear();
  return copy;
}

std::string_view view_of(const crypto::secure_buffer& b) noexcept {
  return b.empty() ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

credentials::credentials(credentials_options options) : options_(options) {
  if (options_.threads < 1 || options_.threads > limits::max_hash_threads) {
    throw std::invalid_argument("credentials: threads must be 1.." + std::to_string(limits::max_hash_threads));
  }
  if (options_.max_pending > limits::max_max_pending) {
    throw std::invalid_argument("credentials: max_pending must be at most " + std::to_string(limits::max_max_pending));
  }
  if (!valid_params(options_.argon2)) {
    throw std::invalid_argument("credentials: Argon2id parameters outside libsodium's bounds");
  }
  if (options_.totp.digits < 6 || options_.totp.digits > limits::max_hotp_digits || options_.totp.period <= 0 ||
      options_.totp.window < 0 || options_.totp.window > limits::max_totp_window_steps) {
    throw std::invalid_argument("credentials: TOTP parameters out of range");
  }
  if (!crypto::sodium_init_once()) throw std::runtime_error("credentials: libsodium could not start");

  // The dummy hash: a random password nobody knows, hashed with the live parameters, so that
  // verifying against it costs what verifying a real account costs.
  std::string unknown(32, '\0');
  randombytes_buf(unknown.data(), unknown.size());
  std::error_code ec;
  dummy_hash_ = auth::hash_password(unknown, options_.argon2, ec);
  sodium_memzero(unknown.data(), unknown.size());
  if (ec) throw std::runtime_error("credentials: cannot make the dummy hash: " + ec.message());

  threads_.reserve(options_.threads);
  for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

credentials::~credentials() {
  std::deque<job> abandoned;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    abandoned.swap(queue_);
  }
  wake_.notify_all();
  for (auto& j : abandoned) j.done(core::password_check::busy);
  abandoned.clear();  // wipes the passwords now, not after the joins
  for (auto& t : threads_) t.join();
}

void credentials::verify_password(std::string encoded_hash, std::string password,
                                  std::function<void(core::password_check)> done) {
  job j{std::move(encoded_hash), take_password(password), std::move(done)};
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < options_.max_pending) {
      queue_.push_back(std::move(j));
      wake_.notify_one();
      return;
    }
    ++stats_.refused_busy;
  }
  // Refused: answered at once on the caller's thread, outside the lock.
  j.done(core::password_check::busy);
}

void credentials::run() {
  for (;;) {
    job j;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    auto result = verify(j);
    j.password = crypto::secure_buffer();  // wiped before the callback runs
    {
      std::lock_guard lock(mutex_);
      ++stats_.verified;
    }
    j.done(result);
  }
}

core::password_check credentials::verify(const job& j) const {
  // A malformed or empty hash (unknown account) is verified against the dummy hash, whose
  // answer is ignored: the same cost, always a mismatch.
  bool real = is_well_formed_hash(j.encoded_hash);
  bool ok = verify_password_now(real ? std::string_view(j.encoded_hash) : std::string_view(dummy_hash_),
                                view_of(j.password));
  return real && ok ? core::password_check::match : core::password_check::mismatch;
}

std::optional<std::int64_t> credentials::match_totp(const core::bytes& secret, std::string_view code,
                                                    std::int64_t unix_seconds) const {
  return auth::match_totp(secret, code, unix_seconds, options_.totp);
}

core::bytes credentials::new_totp_secret() {
  core::bytes secret(limits::totp_secret_bytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string credentials::otpauth_uri(const core::bytes& secret, std::string_view account,
                                     std::string_view issuer) const {
  std::error_code ec;
  return make_otpauth_uri(secret, account, issuer, ec, options_.totp);
}

std::string credentials::hash_password(std::string password, std::error_code& ec) const {
  auto hash = auth::hash_password(password, options_.argon2, ec);
  sodium_memzero(password.data(), password.size());
  return hash;
}

bool credentials::needs_rehash(std::string_view encoded_hash) const {
  return auth::needs_rehash(encoded_hash, options_.argon2);
}

credentials_stats credentials::stats() const {
  std::lock_guard lock(mutex_);
  auto s = stats_;
  s.pending = queue_.size();
  return s;
}

}  // namespace relais::auth
