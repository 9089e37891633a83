#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relais/net/tls_setup.hpp"

namespace relais::net {

/// WebSocket close codes relaisd uses at the transport level (RFC 6455 §7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;       // server shutting down
inline constexpr std::uint16_t unsupported_data = 1003;  // a binary frame
inline constexpr std::uint16_t policy_violation = 1008;  // abuse
inline constexpr std::uint16_t too_big = 1009;           // frame over max_message_bytes
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;  // slow consumer: resume from the store
}  // namespace close_code

/// Everything the network layer needs to know; filled by the app from the config.
struct server_options {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8443;
  /// A second listener, plain HTTP and WebSocket, for a reverse proxy on this machine that ends
  /// TLS itself (no TLS work or memory in relaisd). Loopback addresses only: start() refuses
  /// any other. Empty: off.
  std::string plain_listen_address;
  std::uint16_t plain_port = 0;
  std::filesystem::path web_root;
  certificate_files tls;
  std::vector<std::string> allowed_origins;  // empty: only the server's own https origin
  unsigned threads = 0;                       // 0: one per core
  std::size_t max_connections = 16384;        // beyond: new TCP connections are closed at once
  std::size_t max_message_bytes = 64 * 1024;  // WebSocket message limit (close 1009 beyond)
  std::size_t max_header_bytes = 8 * 1024;    // HTTP request header limit (431 beyond)
  std::size_t max_body_bytes = 16 * 1024;     // HTTP request body limit (413 beyond)
  std::size_t outbound_queue_bytes = 1024 * 1024;  // per connection; beyond: close 1013
  std::size_t outbound_queue_messages = 4096;      // per connection; beyond: close 1013
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  std::chrono::milliseconds http_idle_timeout{30'000};
  std::chrono::milliseconds ws_idle_timeout{60'000};  // with pings at half of it
  std::chrono::milliseconds shutdown_timeout{5'000};
  long hsts_max_age_seconds = 63'072'000;  // two years
};

/// Facts about one accepted WebSocket connection, for logging and per-address limits.
struct connection_info {
  std::uint64_t id = 0;
  std::string remote_address;  // kept in memory only, never written to storage
  std::string origin;
};

/// What a connection handler can do to its own WebSocket. Thread-safe: both calls post to
/// the connection's strand, so they may be used from store completions or other sessions.
class ws_peer {
 public:
  virtual ~ws_peer() = default;
  /// Queues one text frame. The frame may be shared by many recipients. If the queue is over
  /// its byte or message bound the connection is closed with 1013 (slow consumer).
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
  /// Closes with a close code and a short reason (no content, no secret).
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Arms (or re-arms) the connection's one timer; the handler's on_timer() runs when it fires.
  virtual void set_timer(std::chrono::milliseconds after) = 0;
  /// Runs `fn` on the connection's strand, unless the connection is closing or gone by then
  /// (store completions and other sessions reach the handler this way).
  virtual void post(std::function<void()> fn) = 0;
  /// Runs `fn` on the strand once the outgoing queue is empty, counting the frames sent
  /// before this call. One waiter at a time: a second call replaces the first. Never runs if
  /// the connection closes first.
  virtual void when_drained(std::function<void()> fn) = 0;
  [[nodiscard]] virtual std::uint64_t id() const noexcept = 0;
};

/// The per-connection logic above the transport (core's protocol state machine). Called only
/// on the connection's strand, one frame at a time.
class ws_handler {
 public:
  virtual ~ws_handler() = default;
  virtual void on_text(std::string_view frame) = 0;
  /// The timer armed with ws_peer::set_timer fired.
  virtual void on_timer() {}
  /// The connection is gone (closed by either side or failed); no further calls follow.
  virtual void on_closed() = 0;
};

using ws_handler_factory =
    std::function<std::unique_ptr<ws_handler>(std::weak_ptr<ws_peer> peer, const connection_info& info)>;

/// relaisd's network front: one TLS port (and optionally one plain loopback port for a reverse
/// proxy) serving static files, /healthz, /readyz and the WebSocket endpoint /ws, on a pool of
/// threads running one io_context.
class server {
 public:
  server(server_options options, ws_handler_factory factory);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Loads TLS and binds the port(s). On failure returns false with one line naming the file or
  /// address in `error`, and nothing is left running.
  [[nodiscard]] bool start(std::string& error);
  /// The bound port (useful with port 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// The plain listener's bound port; 0 when it is off.
  [[nodiscard]] std::uint16_t plain_port() const noexcept;
  /// Starts the worker threads; returns at once.
  void run();
  /// Graceful stop, from any thread, idempotent: stop accepting, close every WebSocket with
  /// 1001, end HTTP connections, and stop the threads once all connections are gone or
  /// shutdown_timeout has passed.
  void stop();
  /// Blocks until the worker threads have ended.
  void wait();
  /// /readyz answers 200 only while ready (the store is open).
  void set_ready(bool ready) noexcept;
  /// Connections currently open (HTTP and WebSocket).
  [[nodiscard]] std::size_t connection_count() const;

  /// The implementation (server.cpp); public only so that the sessions there can name it.
  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace relais::net
