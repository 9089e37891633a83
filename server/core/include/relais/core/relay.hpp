#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "relais/core/clock.hpp"
#include "relais/core/credentials.hpp"
#include "relais/core/permanence_settings.hpp"
#include "relais/core/random.hpp"
#include "relais/core/store.hpp"

// The relay's shared services (issue 6). Core declares what it needs from the outside world;
// server/app implements it over net and the store. Everything here is thread-safe: sessions
// on different strands and the store's threads call it concurrently.

namespace relais::core {

class session;
class permanence;

/// What a session can do to its own connection (app implements it over net's WebSocket).
class session_port {
 public:
  virtual ~session_port() = default;
  /// Queues a frame (possibly shared by many recipients). Thread-safe.
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
  /// Closes with a close code and a short reason (no content, no secret). Thread-safe.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Runs `fn` on the connection's strand, unless the connection has ended by then.
  /// Thread-safe: this is how store completions and other sessions reach a session.
  virtual void post(std::function<void()> fn) = 0;
  /// Strand-only: (re)arms the connection's one timer; the session's on_timer() runs then.
  virtual void set_timer(duration after) = 0;
  /// Strand-only: runs `fn` on the strand once the outgoing queue is empty (a replay waits
  /// for it before reading the next page, so a long backlog never overflows the queue).
  virtual void when_drained(std::function<void()> fn) = 0;
};

/// Live sessions by who they are: "b:" + beneficiary identity key, "w:" + worker id in
/// decimal. Thread-safe and sharded (no global lock on the message path).
class session_directory {
 public:
  virtual ~session_directory() = default;
  virtual void add(const std::string& key, const std::shared_ptr<session>& s) = 0;
  virtual void remove(const std::string& key, const session* s) = 0;
  /// Calls `fn` for each session under `key`; `fn` must be short (it posts).
  virtual void for_each(const std::string& key, const std::function<void(const std::shared_ptr<session>&)>& fn) = 0;
  /// Sessions registered now (for metrics and tests).
  [[nodiscard]] virtual std::size_t size() const = 0;
};

/// What a per-address limit counts.
enum class address_action : std::uint8_t {
  login = 0,        ///< worker login attempts (password guessing)
  queue_join = 1,   ///< queue joins (flooding the queue with identities)
  backup_get = 2,   ///< backup fetches (resume codes are guessed online only)
  connection = 3,   ///< authentications (identity churn)
};

/// Per-address rate limits kept in memory only (an IP address is never written to storage).
/// Thread-safe; bounded in memory by its implementation.
class address_guard {
 public:
  virtual ~address_guard() = default;
  /// Takes one event for `address`; nullopt if allowed, else how long to wait.
  [[nodiscard]] virtual std::optional<duration> try_take(std::string_view address, address_action action) = 0;
};

/// The relay's tunables, from config ([limits], [auth], [org]); defaults as documented in
/// config/README.md.
struct relay_settings {
  // Connection (PROTOCOL.md §4).
  duration auth_timeout = std::chrono::seconds(10);  ///< else close 4000
  int max_failed_auth = 3;                           ///< per connection, then close 4002
  double max_errors_per_minute = 20;                 ///< bad frames, then close 1008
  // Workers (PROTOCOL.md §5).
  bool totp_required = true;                              ///< a worker must enrol TOTP before anything else
  duration session_lifetime = std::chrono::hours(24 * 30);  ///< session tokens expire after this
  int max_failed_logins = 5;                              ///< consecutive failures before the lock
  duration lockout = std::chrono::minutes(15);            ///< how long the account stays locked
  duration failure_delay = std::chrono::milliseconds(500); ///< first failure's added delay, doubled each time
  duration max_failure_delay = std::chrono::seconds(8);
  std::string totp_issuer = "Relais";
  // Organisation key: worker certificates must verify against it (CRYPTO.md §7).
  std::optional<std::array<std::uint8_t, 32>> org_public_key;
  // Rates per connection.
  double messages_per_second = 20;   ///< conversation.send and receipts, sustained
  double messages_burst = 100;       ///< and in a burst
  double typing_per_second = 2;      ///< typing indicators (dropped beyond, never an error)
  // Key directory.
  std::int64_t low_prekeys_threshold = 20;  ///< keys.low below this (CRYPTO.md §11)
  // Sessions.
  std::size_t max_tracked_conversations = 1024;  ///< conversations one connection follows live
  // The permanence: schedule, queue limits, emergency numbers ([permanence]).
  permanence_settings permanence;
};

/// Everything a session needs besides its own connection.
struct relay_services {
  core::store& store;
  core::credentials& credentials;
  session_directory& directory;
  address_guard& addresses;
  const core::clock& clock;
  random_source& random;
  relay_settings settings;
  core::permanence& permanence;  ///< the queue, shifts and inbox (one per relaisd)
};

}  // namespace relais::core
