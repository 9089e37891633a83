#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/core/clock.hpp"
#include "relais/core/random.hpp"
#include "relais/core/rate_limiter.hpp"
#include "relais/protocol/messages.hpp"

namespace relais::core {

/// Per-connection protocol limits (PROTOCOL.md §4, config [limits]).
struct connection_limits {
  duration auth_timeout = std::chrono::seconds(10);  // upgrade to authenticated, else close 4000
  int max_failed_auth = 3;                           // per connection, then close 4002
  double max_errors_per_minute = 20;                 // bad frames tolerated, then close 1008
};

/// A close the transport must carry out after sending the frames before it.
struct close_request {
  std::uint16_t code = 1000;
  std::string reason;  // short, no content, no secret
};

/// What the transport must do after an event: send these frames in order, then maybe close,
/// and maybe (re)arm the connection's single timer.
struct effects {
  std::vector<std::string> frames;
  std::optional<close_request> close;
  std::optional<duration> timer;
};

/// The protocol state of one WebSocket connection (PROTOCOL.md §4-§5): version negotiation,
/// authentication, access rules and the bad-input policy. Sans-I/O: frames in, effects out;
/// time and randomness are injected. Not thread-safe: owned by its session's strand.
class connection {
 public:
  connection(const clock& clock, random_source& random, connection_limits limits = {});

  /// The connection was accepted: arms the authentication timer.
  [[nodiscard]] effects open();
  /// One text frame from the client.
  [[nodiscard]] effects on_frame(std::string_view frame);
  /// The timer armed by an earlier effect fired.
  [[nodiscard]] effects on_timer();

  [[nodiscard]] bool welcomed() const noexcept { return version_ != 0; }
  [[nodiscard]] bool authenticated() const noexcept { return authenticated_; }
  [[nodiscard]] protocol::peer_role role() const noexcept { return role_; }
  /// The beneficiary's Ed25519 identity key once authenticated.
  [[nodiscard]] const std::array<std::uint8_t, 32>& identity_key() const noexcept { return identity_; }

 private:
  void handle(const protocol::message& m, effects& out);
  void on_hello(const protocol::hello& h, effects& out);
  void on_auth_beneficiary(const protocol::auth_beneficiary& a, effects& out);
  void fail_auth(protocol::error code, const std::optional<std::string>& rid, effects& out);
  void reply_error(protocol::error code, const std::optional<std::string>& rid, effects& out,
                   std::optional<std::string> text = {});
  void count_error(effects& out);

  const clock& clock_;
  random_source& random_;
  connection_limits limits_;
  rate_limiter errors_;
  time_point opened_at_{};
  std::int64_t version_ = 0;
  protocol::peer_role role_ = protocol::peer_role::beneficiary;
  bool authenticated_ = false;
  bool closing_ = false;
  int failed_auth_ = 0;
  std::array<std::uint8_t, 32> challenge_{};
  std::array<std::uint8_t, 32> identity_{};
};

}  // namespace relais::core
