#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// The only part of relais-bench that sees Asio and Beast (transport.cpp): io threads, timers
// and client connections (WebSocket, WebSocket over TLS, length-prefixed TCP). Everything
// else talks to these narrow non-template interfaces, so that only one translation unit pays
// for Beast's compile time (TOOLCHAIN.md).

namespace relais::bench {

using steady_time = std::chrono::steady_clock::time_point;

/// A fixed set of io threads, each running its own single-threaded io_context: a connection
/// and its handler live on one of them, so their state needs no lock (wsload's layout).
class io_pool {
 public:
  explicit io_pool(unsigned threads);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  [[nodiscard]] unsigned size() const noexcept;
  /// Runs `fn` on io thread `index` (from any thread).
  void post(unsigned index, std::function<void()> fn);
  /// Runs `tick` on io thread `index` now and then at each time it returns, until it
  /// returns nullopt (one reusable timer per call; the latency scheduler).
  void run_timer(unsigned index, std::function<std::optional<steady_time>()> tick);
  /// Starts the threads.
  void start();
  /// Stops the io_contexts and joins the threads (pending handlers are dropped).
  void stop();

  struct impl;
  [[nodiscard]] impl& internals() noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

/// Client TLS settings shared by every connection of a run (TLS 1.2 minimum).
class tls_client {
 public:
  /// `verify`: check the certificate chain against `ca_file` (or the system store when empty)
  /// and the host name. Throws std::runtime_error when the CA file cannot be loaded.
  tls_client(bool verify, const std::string& ca_file);
  ~tls_client();
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  struct impl;
  [[nodiscard]] impl& internals() noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

/// How frames travel: WebSocket text frames, the same over TLS, or 4-byte big-endian length
/// prefixes over plain TCP (raw_relay of ../shared/peers).
enum class transport_kind : std::uint8_t { ws, wss, raw };

/// Where and how to connect.
struct endpoint {
  transport_kind kind = transport_kind::ws;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string target = "/";         ///< WebSocket request target
  tls_client* tls = nullptr;        ///< required for wss
  unsigned source_addresses = 1;    ///< spread over 127.0.0.1..N (ephemeral ports per address)
};

/// Receives one connection's events, on its io thread.
class transport_handler {
 public:
  /// TCP, TLS and the upgrade are done: frames may be sent.
  virtual void on_open() = 0;
  /// One complete frame (a WebSocket message or a length-prefixed record).
  virtual void on_frame(std::string_view frame) = 0;
  /// The connection failed or was closed by the server; `why` names the step and the close
  /// code or error. Not called after close().
  virtual void on_closed(const std::string& why) = 0;

 protected:
  ~transport_handler() = default;
};

/// One client connection. Every member is called on the io thread it was created for.
class transport {
 public:
  virtual ~transport() = default;
  /// Connects (from source address number `index` modulo endpoint.source_addresses).
  virtual void start(std::size_t index) = 0;
  /// Queues one frame; frames go out in order, one write at a time.
  virtual void send(std::string frame) = 0;
  /// Frames queued and not yet written (the caller bounds it).
  [[nodiscard]] virtual std::size_t queued() const noexcept = 0;
  /// Closes without notifying the handler.
  virtual void close() = 0;
};

/// A connection on io thread `index` of `pool`; `handler` must outlive it.
[[nodiscard]] std::shared_ptr<transport> make_transport(io_pool& pool, unsigned index, const endpoint& ep,
                                                        transport_handler& handler);

}  // namespace relais::bench
