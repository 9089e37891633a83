#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "relais/client/ws_client.hpp"
#include "relais/crypto/secure_buffer.hpp"
#include "relais/protocol/messages.hpp"

/// What every relais-cli subcommand shares: the exit statuses, the connection options and a
/// connection that speaks the handshake.
namespace relais::cli {

/// Exit statuses of relais-cli, documented in --help and README.md.
enum exit_status : int { ok = 0, usage = 1, connect_failed = 2, refused = 3, protocol_failure = 4 };

/// The global options of relais-cli (server address, TLS trust, timeouts).
struct common_options {
  std::string server = "127.0.0.1:8443";
  bool insecure = false;
  std::string ca_file;
  std::string origin;
  int timeout_ms = 5000;
};

/// Prints "relais-cli: message" on stderr and returns `status`.
int fail(int status, const std::string& message);

/// Splits "HOST:PORT" (or "[v6]:PORT"); false when it is not one.
[[nodiscard]] bool split_server(const std::string& s, std::string& host, std::uint16_t& port);

/// A WebSocket connection to relaisd that speaks the handshake; optionally prints every frame
/// it receives on stdout (the probe subcommands do, the chat mode prints events instead).
class connection {
 public:
  connection(const common_options& o, bool print_frames) : o_(o), print_frames_(print_frames) {}

  /// Connects TLS and upgrades; an exit_status.
  int connect();
  /// Sends `hello`; ok with the welcome's challenge kept, refused on an `error`.
  int hello(const std::vector<std::int64_t>& versions, protocol::peer_role role);
  /// Signs the welcome's challenge with the identity seed and sends auth.beneficiary (no wait).
  int send_beneficiary_auth(const crypto::secret32& seed);
  int send(const std::string& frame);
  /// Reads one frame and decodes it; an `error` frame gives `refused` (with the message in
  /// `m`), a timeout gives protocol_failure with timed_out() true.
  int receive(protocol::message& m, int timeout_ms = -1);
  /// Prints frames until nothing arrives for `quiet_ms` or the server closes.
  void drain(int quiet_ms);
  void close();

  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] bool timed_out() const noexcept { return timed_out_; }
  [[nodiscard]] std::uint16_t close_code() const { return ws_.close_code(); }
  [[nodiscard]] const protocol::welcome& welcome() const noexcept { return welcome_; }

 private:
  [[nodiscard]] std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(o_.timeout_ms); }

  common_options o_;
  bool print_frames_;
  client::ws_client ws_;
  protocol::welcome welcome_;
  bool closed_ = false;
  bool timed_out_ = false;
};

}  // namespace relais::cli
