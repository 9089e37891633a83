#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace relais::client {

/// How the client side of TLS behaves. Tests use the defaults (no verification: relaisd's
/// certificate is self-signed); relais-cli verifies unless told --insecure.
struct tls_options {
  bool verify_peer = false;
  std::string ca_file;    // PEM file of trusted certificates; empty = system store
  int min_version = 0;    // OpenSSL constant (TLS1_2_VERSION...); 0 = library default
  int max_version = 0;
  std::string ciphers;    // TLS 1.2 cipher list; empty = library default
  int security_level = -1;  // OpenSSL security level; -1 = library default (0 lets tests offer TLS 1.0/1.1)
};

/// One HTTP response, header names lower-cased.
struct http_response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

using milliseconds = std::chrono::milliseconds;

/// GET (or another method) over HTTPS on a fresh connection.
[[nodiscard]] std::error_code https_request(const std::string& host, std::uint16_t port, std::string_view method,
                                            std::string_view target, http_response& out,
                                            const tls_options& tls = {}, milliseconds timeout = milliseconds(5000));

/// Writes raw bytes over TLS (for malformed-request tests) and reads until the server closes
/// or the timeout passes; `out` receives whatever arrived.
[[nodiscard]] std::error_code https_raw(const std::string& host, std::uint16_t port, std::string_view request,
                                        std::string& out, const tls_options& tls = {},
                                        milliseconds timeout = milliseconds(5000));

/// Performs only a TLS handshake; on success `protocol` is e.g. "TLSv1.3".
[[nodiscard]] std::error_code tls_probe(const std::string& host, std::uint16_t port, const tls_options& tls,
                                        std::string& protocol, milliseconds timeout = milliseconds(5000));

/// True when a read failed because the server closed the WebSocket (see close_code()).
[[nodiscard]] bool is_closed(const std::error_code& ec) noexcept;

/// A blocking WebSocket-over-TLS client with timeouts on every call; used by relais-cli and
/// the tests. Not thread-safe: one thread drives it.
class ws_client {
 public:
  ws_client();
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// Connects, completes TLS and the upgrade on `target`. `origin` empty sends no Origin.
  /// When the server refuses the upgrade, upgrade_status() gives its HTTP status.
  [[nodiscard]] std::error_code connect(const std::string& host, std::uint16_t port, std::string_view target = "/ws",
                                        std::string_view origin = {}, const tls_options& tls = {},
                                        milliseconds timeout = milliseconds(5000));
  [[nodiscard]] std::error_code send_text(std::string_view text, milliseconds timeout = milliseconds(5000));
  [[nodiscard]] std::error_code send_binary(std::string_view data, milliseconds timeout = milliseconds(5000));
  /// Waits for the next text message. On timeout returns std::errc::timed_out and the read
  /// stays pending for the next call (nothing is lost). When the server closed the socket the
  /// error is Beast's websocket::error::closed and close_code() tells the code it sent.
  [[nodiscard]] std::error_code read(std::string& out, milliseconds timeout = milliseconds(5000));
  /// Sends a close frame and waits for the server's.
  std::error_code close(std::uint16_t code = 1000, milliseconds timeout = milliseconds(5000));
  /// The close code received from the server, 0 if none.
  [[nodiscard]] std::uint16_t close_code() const noexcept;
  [[nodiscard]] unsigned upgrade_status() const noexcept;
  [[nodiscard]] bool is_open() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace relais::client
