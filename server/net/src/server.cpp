// The only translation unit of relaisd that includes Beast with TLS (about a minute to
// compile on 2 cores): listener, HTTP session and WebSocket session live here, behind the
// non-template interface of server.hpp.
#include "relais/net/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "relais/log/log.hpp"
#include "relais/net/http_policy.hpp"
#include "relais/net/static_files.hpp"
#include "gathering_stream.hpp"
#include "socket_stream.hpp"

namespace relais::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Endings that are part of normal life and not worth a warning: the peer went away, we
// cancelled, or the peer closed TLS without close_notify (stream_truncated, which browsers
// do routinely; see Beast's advanced_server_flex example).
bool expected_ending(const beast::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == websocket::error::closed || ec == asio::error::eof ||
         ec == ssl::error::stream_truncated || ec == beast::error::timeout || ec == http::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == asio::error::not_connected ||
         ec == asio::error::bad_descriptor;  // closed under a pending step by a close deadline
}

void fail(const beast::error_code& ec, std::string_view what, std::uint64_t conn) {
  if (expected_ending(ec)) {
    log::debug("connection_ended", {{"conn", conn}, {"op", what}, {"reason", ec.message()}});
  } else {
    log::warn("connection_error", {{"conn", conn}, {"op", what}, {"error", ec.message()}});
  }
}

void log_exception(std::exception_ptr e, std::string_view where) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("coroutine_exception", {{"where", where}, {"what", ex.what()}});
  } catch (...) {
    log::error("coroutine_exception", {{"where", where}});
  }
}

}  // namespace

/// Anything the server must be able to shut down: HTTP and WebSocket connections.
class connection : public std::enable_shared_from_this<connection> {
 public:
  virtual ~connection() = default;
  /// Posts a graceful shutdown to the connection's strand.
  virtual void shutdown() = 0;
};

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(server_options o, ws_handler_factory f) : options(std::move(o)), factory(std::move(f)) {}

  server_options options;
  ws_handler_factory factory;
  // Held by pointer so that ~server can destroy it once the threads are joined: destroying an
  // io_context destroys the handlers and coroutine frames still queued in it, which breaks
  // the cycles they form with this object (a frame holding a session holding srv_).
  std::unique_ptr<asio::io_context> ioc_owner = std::make_unique<asio::io_context>(1);
  asio::io_context& ioc = *ioc_owner;  // hint 1 only; several threads run it
  ssl::context tls{ssl::context::tls_server};
  std::optional<tcp::acceptor> acceptor;        // TLS
  std::optional<tcp::acceptor> plain_acceptor;  // loopback, for a reverse proxy that ends TLS
  std::vector<std::thread> threads;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_id{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  // The registry holds weak_ptrs only: the sessions' coroutines are their sole owners.
  mutable std::mutex registry_mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<connection>> registry;  // guarded by registry_mutex

  void add(std::uint64_t id, const std::shared_ptr<connection>& c) {
    std::lock_guard lock(registry_mutex);
    registry.emplace(id, c);
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(registry_mutex);
    registry.erase(id);
  }
  std::size_t count() const {
    std::lock_guard lock(registry_mutex);
    return registry.size();
  }

  asio::awaitable<void> listen(tcp::acceptor& from, bool with_tls);
  asio::awaitable<void> reap(std::chrono::steady_clock::time_point deadline);
};

// ---------------------------------------------------------------------------------------
// WebSocket session

class ws_session final : public connection, public ws_peer {
 public:
  ws_session(std::shared_ptr<server::impl> srv, std::uint64_t id, socket_stream&& stream)
      : srv_(std::move(srv)), id_(id), ws_(std::move(stream)), signal_(ws_.get_executor()),
        close_deadline_(ws_.get_executor()), handler_timer_(ws_.get_executor()) {}

  ~ws_session() override { srv_->remove(id_); }

  asio::awaitable<void> run(http::request<http::string_body> req, connection_info info);

  void send(std::shared_ptr<const std::string> frame) override {
    asio::post(ws_.get_executor(), [self = self_ptr(), frame = std::move(frame)]() mutable {
      self->enqueue(std::move(frame));
    });
  }
  void close(std::uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = self_ptr(), code, reason = std::move(reason)]() mutable {
      self->request_close(code, std::move(reason));
    });
  }
  void set_timer(std::chrono::milliseconds after) override {
    asio::post(ws_.get_executor(), [self = self_ptr(), after] {
      if (self->closing_) return;
      self->handler_timer_.expires_after(after);
      self->handler_timer_.async_wait([self](beast::error_code ec) {
        if (!ec && !self->closing_ && self->handler_) self->handler_->on_timer();
      });
    });
  }
  void post(std::function<void()> fn) override {
    asio::post(ws_.get_executor(), [self = self_ptr(), fn = std::move(fn)] {
      if (!self->closing_ && self->handler_) fn();
    });
  }
  void when_drained(std::function<void()> fn) override {
    // Posted like send(): frames the handler sent just before are queued first (a strand
    // runs its handlers in order), so "drained" means drained of those too.
    asio::post(ws_.get_executor(), [self = self_ptr(), fn = std::move(fn)]() mutable {
      if (self->closing_) return;
      self->drained_ = std::move(fn);
      if (self->queue_.empty()) self->notify_drained();
    });
  }
  std::uint64_t id() const noexcept override { return id_; }
  asio::any_io_executor executor() { return ws_.get_executor(); }
  void shutdown() override { close(close_code::going_away, "server shutting down"); }

 private:
  std::shared_ptr<ws_session> self_ptr() { return std::static_pointer_cast<ws_session>(shared_from_this()); }

  void enqueue(std::shared_ptr<const std::string> frame);
  void notify_drained() {
    if (!drained_) return;
    asio::post(ws_.get_executor(), [self = self_ptr(), fn = std::move(drained_)] {
      if (!self->closing_ && self->handler_) fn();
    });
    drained_ = nullptr;
  }
  void request_close(std::uint16_t code, std::string reason, bool discard_queue = false);
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();

  std::shared_ptr<server::impl> srv_;
  const std::uint64_t id_;

  // strand-only: everything below is touched only on the connection's strand.
  websocket::stream<gathering_stream<socket_stream>> ws_;
  beast::flat_buffer read_buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  asio::steady_timer signal_;          // wakes the writer; cancelled when there is work
  asio::steady_timer close_deadline_;  // bounds a close that a non-reading peer would stall
  asio::steady_timer handler_timer_;   // the handler's one timer (auth timeout...)
  std::unique_ptr<ws_handler> handler_;
  std::function<void()> drained_;      // when_drained's waiter
  bool closing_ = false;
  bool reader_done_ = false;
  std::optional<websocket::close_reason> close_reason_;
};

void ws_session::enqueue(std::shared_ptr<const std::string> frame) {
  if (closing_ || !frame) return;
  // Slow-consumer policy: a peer that lets its queue exceed either bound is closed with 1013
  // and resumes from the store when it reconnects; it never slows anyone else down.
  if (queue_.size() + 1 > srv_->options.outbound_queue_messages ||
      queued_bytes_ + frame->size() > srv_->options.outbound_queue_bytes) {
    log::info("slow_consumer_closed", {{"conn", id_}, {"queued_bytes", queued_bytes_}, {"queued", queue_.size()}});
    request_close(close_code::try_again_later, "slow consumer", true);
    return;
  }
  queued_bytes_ += frame->size();
  queue_.push_back(std::move(frame));
  signal_.cancel();
}

void ws_session::request_close(std::uint16_t code, std::string reason, bool discard_queue) {
  if (closing_) return;
  closing_ = true;
  // Frames queued before a protocol close (the `error` that explains it) still go out first;
  // a slow consumer's backlog does not.
  if (discard_queue) {
    queue_.clear();
    queued_bytes_ = 0;
  }
  close_reason_.emplace(static_cast<websocket::close_code>(code), reason);
  signal_.cancel();
  // A peer that does not read can stall the close handshake behind a pending write: after the
  // deadline the socket is closed outright.
  close_deadline_.expires_after(std::chrono::seconds(2));
  close_deadline_.async_wait([self = self_ptr()](beast::error_code ec) {
    if (!ec) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).close(ignored);
    }
  });
}

asio::awaitable<void> ws_session::run(http::request<http::string_body> req, connection_info info) {
  auto self = self_ptr();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(srv_->options.tls_handshake_timeout);
  t.idle_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(srv_->options.ws_idle_timeout);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  // Compression leaks lengths of secrets mixed with attacker data (CRIME/BREACH): refused.
  websocket::permessage_deflate pmd;
  pmd.server_enable = false;
  pmd.client_enable = false;
  ws_.set_option(pmd);
  ws_.read_message_max(srv_->options.max_message_bytes);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, "relaisd");
  }));

  auto [ec] = co_await ws_.async_accept(req, use_tuple);
  if (ec) {
    fail(ec, "ws_accept", id_);
    co_return;
  }
  log::debug("ws_open", {{"conn", id_}});
  handler_ = srv_->factory(std::weak_ptr<ws_peer>(std::static_pointer_cast<ws_peer>(self)), info);
  if (srv_->stopping.load()) request_close(close_code::going_away, "server shutting down");
  asio::co_spawn(
      ws_.get_executor(), [self]() -> asio::awaitable<void> { co_await self->writer(); },
      [](std::exception_ptr e) { log_exception(e, "ws_writer"); });
  co_await reader();
}

asio::awaitable<void> ws_session::reader() {
  auto self = self_ptr();
  for (;;) {
    auto [ec, n] = co_await ws_.async_read(read_buffer_, use_tuple);
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        log::info("ws_frame_too_big", {{"conn", id_}});
      } else {
        fail(ec, "ws_read", id_);
      }
      break;
    }
    if (!ws_.got_text()) {
      read_buffer_.consume(read_buffer_.size());
      request_close(close_code::unsupported_data, "binary frames are not supported");
      continue;  // keep reading until the peer answers the close
    }
    if (!closing_ && handler_) {
      auto data = read_buffer_.cdata();
      handler_->on_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    read_buffer_.consume(read_buffer_.size());
  }
  reader_done_ = true;
  closing_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  signal_.cancel();
  close_deadline_.cancel();
  handler_timer_.cancel();
  drained_ = nullptr;
  if (handler_) {
    handler_->on_closed();
    handler_.reset();
  }
}

asio::awaitable<void> ws_session::writer() {
  auto self = self_ptr();
  std::vector<std::shared_ptr<const std::string>> burst;
  for (;;) {
    if (queue_.empty()) {
      if (closing_) break;
      signal_.expires_at(asio::steady_timer::time_point::max());
      co_await signal_.async_wait(use_tuple);  // cancelled when work arrives
      continue;
    }
    // Everything queued leaves as one burst (acks and relayed messages come in bursts, one
    // per group commit): the frames are gathered below the WebSocket stream and written with
    // one TLS write and one sendmsg. Measured: a TLS write and a sendmsg per frame were a
    // quarter of the network thread's time. Frames queued during the burst wait for the next.
    burst.assign(queue_.begin(), queue_.end());
    // A server frame's header is at most 10 bytes (unmasked).
    ws_.next_layer().hold(queued_bytes_ + 10 * burst.size());
    beast::error_code ec;
    for (const auto& frame : burst) {
      ws_.text(true);
      std::tie(ec, std::ignore) = co_await ws_.async_write(asio::buffer(*frame), use_tuple);
      if (ec) break;
    }
    const beast::error_code flushed = co_await ws_.next_layer().async_flush();
    if (!ec) ec = flushed;
    if (ec) {
      fail(ec, "ws_write", id_);
      co_return;
    }
    // The queue may have been cleared meanwhile (a slow consumer's close, the reader's end).
    for (const auto& frame : burst) {
      if (queue_.empty() || queue_.front() != frame) break;
      queued_bytes_ -= frame->size();
      queue_.pop_front();
    }
    burst.clear();
    if (queue_.empty()) notify_drained();
  }
  if (close_reason_ && !reader_done_ && ws_.is_open()) {
    auto [ec] = co_await ws_.async_close(*close_reason_, use_tuple);
    if (ec) fail(ec, "ws_close", id_);
  }
}

// ---------------------------------------------------------------------------------------
// HTTP session: the TLS handshake (on the TLS listener), then requests until an upgrade, a
// close or a timeout.

class http_session final : public connection {
 public:
  http_session(std::shared_ptr<server::impl> srv, std::uint64_t id, tcp::socket&& socket, bool tls, std::string remote)
      : srv_(std::move(srv)), id_(id),
        stream_(tls ? socket_stream(std::move(socket), srv_->tls.native_handle()) : socket_stream(std::move(socket))),
        executor_(stream_.get_executor()), deadline_(executor_), remote_(std::move(remote)) {}
  ~http_session() override { srv_->remove(id_); }

  asio::awaitable<void> run();
  asio::any_io_executor executor() const { return executor_; }
  void shutdown() override {
    // The executor is a copy taken at construction: after an upgrade stream_ is moved-from.
    asio::post(executor_, [self = shared_from_this(), this] {
      done_ = true;
      if (upgraded_) return;  // the WebSocket session shuts itself down
      beast::error_code ignored;
      stream_.next_layer().cancel(ignored);
    });
  }

 private:
  template <typename Body>
  void add_headers(http::response<Body>& res, cache_policy cache, std::string_view path = {}) const {
    res.set(http::field::server, "relaisd");
    // `path` names a served file: the widget's pages may be framed by the allowed origins and
    // its loader fetched cross-origin with SRI (http_policy.hpp); everything else stays strict.
    for (const auto& [name, value] :
         security_headers(cache, srv_->options.hsts_max_age_seconds, path, srv_->options.allowed_origins)) {
      res.set(name, value);
    }
  }
  http::response<http::string_body> text_response(http::status status, std::string body, unsigned version,
                                                  bool keep_alive) const {
    http::response<http::string_body> res{status, version};
    add_headers(res, cache_policy::no_store);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }
  template <typename Response>
  asio::awaitable<bool> write(Response& res) {
    arm(srv_->options.http_idle_timeout);
    auto [ec, n] = co_await http::async_write(stream_, res, use_tuple);
    if (ec) {
      fail(ec, "http_write", id_);
      co_return false;
    }
    co_return true;
  }
  asio::awaitable<bool> handle(http::request<http::string_body>& req);
  asio::awaitable<void> close_connection();
  // Bounds the next steps (handshake, a request, a response, the close): when the deadline
  // passes, the operation in progress ends with a timeout.
  void arm(std::chrono::steady_clock::duration after) {
    stream_.clear_time_out();  // a deadline that passed just as the last step ended is over
    deadline_.expires_after(after);
    deadline_.async_wait([self = std::static_pointer_cast<http_session>(shared_from_this())](beast::error_code ec) {
      // A wait that expired just before a new arm() is stale: only a deadline really past counts.
      if (ec || self->upgraded_ || self->deadline_.expiry() > asio::steady_timer::clock_type::now()) return;
      self->stream_.time_out();
    });
  }

  std::shared_ptr<server::impl> srv_;
  const std::uint64_t id_;
  // strand-only
  socket_stream stream_;
  asio::any_io_executor executor_;
  asio::steady_timer deadline_;
  beast::flat_buffer buffer_;
  std::string remote_;
  bool done_ = false;
  bool upgraded_ = false;  // stream_ was moved into a ws_session
};

asio::awaitable<void> http_session::close_connection() {
  arm(std::chrono::seconds(2));
  auto [ec] = co_await stream_.async_shutdown(use_tuple);
  if (ec) fail(ec, "tls_shutdown", id_);
  // Lingering close: a client still sending a refused request (413, 431) would otherwise get
  // a TCP reset that can destroy our answer in its receive buffer before it reads it. Stop
  // sending, then read and discard for a bounded time and size.
  auto& sock = stream_.next_layer();
  beast::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> sink{};
  std::size_t discarded = 0;
  arm(std::chrono::seconds(1));  // time_out() cancels the read below
  while (discarded < 256 * 1024) {
    auto [rec, n] = co_await sock.async_read_some(asio::buffer(sink), use_tuple);
    // The deadline may pass between two reads, when there is nothing to cancel: the flag
    // stops the next one.
    if (rec || stream_.timed_out()) break;
    discarded += n;
  }
  sock.close(ignored);
}

asio::awaitable<void> http_session::run() {
  auto self = shared_from_this();
  // The deadline's wait holds the session: end it with the session, on every way out.
  struct disarm {
    asio::steady_timer& timer;
    ~disarm() { timer.cancel(); }
  } disarm_on_exit{deadline_};
  arm(srv_->options.tls_handshake_timeout);
  {
    auto [ec] = co_await stream_.async_handshake(use_tuple);
    if (ec) {
      fail(ec, "tls_handshake", id_);
      co_return;
    }
  }
  while (!done_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(srv_->options.max_header_bytes));
    parser.body_limit(srv_->options.max_body_bytes);
    arm(srv_->options.http_idle_timeout);
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, use_tuple);
    if (ec) {
      if (ec == http::error::header_limit) {
        auto res = text_response(http::status::request_header_fields_too_large, "request headers too large\n", 11, false);
        co_await write(res);
      } else if (ec == http::error::body_limit) {
        auto res = text_response(http::status::payload_too_large, "request body too large\n", 11, false);
        co_await write(res);
      } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        auto res = text_response(http::status::bad_request, "malformed request\n", 11, false);
        co_await write(res);
      } else {
        fail(ec, "http_read", id_);
        co_return;
      }
      break;
    }
    auto req = parser.release();
    if (websocket::is_upgrade(req) && req.target() == "/ws") {
      auto origin = std::string(req[http::field::origin]);
      auto host = std::string(req[http::field::host]);
      if (!origin_allowed(origin, host, srv_->options.allowed_origins)) {
        log::info("ws_origin_refused", {{"conn", id_}, {"origin", origin}});
        auto res = text_response(http::status::forbidden, "origin not allowed\n", req.version(), false);
        co_await write(res);
        break;
      }
      if (srv_->stopping.load()) {
        auto res = text_response(http::status::service_unavailable, "shutting down\n", req.version(), false);
        co_await write(res);
        break;
      }
      auto id = srv_->next_id.fetch_add(1);
      auto ws = std::make_shared<ws_session>(srv_, id, std::move(stream_));
      upgraded_ = true;
      srv_->add(id, ws);
      connection_info info{id, remote_, origin};
      // The WebSocket session takes the stream and lives on; this HTTP session ends here.
      asio::co_spawn(
          ws->executor(),
          [ws, req = std::move(req), info = std::move(info)]() mutable -> asio::awaitable<void> {
            co_await ws->run(std::move(req), std::move(info));
          },
          [](std::exception_ptr e) { log_exception(e, "ws_session"); });
      co_return;
    }
    bool keep_alive = req.keep_alive();
    if (!co_await handle(req) || !keep_alive) break;
  }
  co_await close_connection();
}

asio::awaitable<bool> http_session::handle(http::request<http::string_body>& req) {
  auto version = req.version();
  bool keep_alive = req.keep_alive() && !done_;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(http::status::method_not_allowed, "method not allowed\n", version, keep_alive);
    res.set(http::field::allow, "GET, HEAD");
    co_return co_await write(res);
  }
  auto target = std::string_view(req.target().data(), req.target().size());
  auto path = target.substr(0, target.find('?'));
  if (path == "/healthz") {
    auto res = text_response(http::status::ok, "ok\n", version, keep_alive);
    co_return co_await write(res);
  }
  if (path == "/readyz") {
    bool ready = srv_->ready.load() && !srv_->stopping.load();
    auto res = text_response(ready ? http::status::ok : http::status::service_unavailable,
                             ready ? "ready\n" : "not ready\n", version, keep_alive);
    co_return co_await write(res);
  }
  if (path == "/ws") {
    auto res = text_response(http::status::upgrade_required, "WebSocket upgrade required\n", version, keep_alive);
    res.set(http::field::upgrade, "websocket");
    co_return co_await write(res);
  }
  auto file = resolve_static(srv_->options.web_root, target);
  if (file.error != target_error::none) {
    auto status = file.error == target_error::not_found ? http::status::not_found
                  : file.error == target_error::forbidden ? http::status::forbidden
                                                           : http::status::bad_request;
    auto res = text_response(status, file.error == target_error::not_found ? "not found\n" : "refused\n", version,
                             keep_alive);
    co_return co_await write(res);
  }
  http::file_body::value_type body;
  beast::error_code ec;
  body.open(file.path.c_str(), beast::file_mode::scan, ec);
  if (ec) {
    auto res = text_response(http::status::not_found, "not found\n", version, keep_alive);
    co_return co_await write(res);
  }
  auto size = body.size();
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{http::status::ok, version};
    add_headers(res, file.immutable ? cache_policy::immutable : cache_policy::no_store, path);
    res.set(http::field::content_type, file.mime_type);
    res.content_length(size);
    res.keep_alive(keep_alive);
    co_return co_await write(res);
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(http::status::ok, version)};
  add_headers(res, file.immutable ? cache_policy::immutable : cache_policy::no_store, path);
  res.set(http::field::content_type, file.mime_type);
  res.content_length(size);
  res.keep_alive(keep_alive);
  co_return co_await write(res);
}

// ---------------------------------------------------------------------------------------
// Listener and lifecycle

asio::awaitable<void> server::impl::listen(tcp::acceptor& from, bool with_tls) {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await from.async_accept(asio::make_strand(ioc), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) co_return;
      log::warn("accept_failed", {{"error", ec.message()}});
      // Out of descriptors: wait a little rather than spin on the failing accept.
      if (ec == asio::error::no_descriptors) {
        asio::steady_timer t(ioc, std::chrono::milliseconds(100));
        co_await t.async_wait(use_tuple);
      }
      continue;
    }
    if (count() >= options.max_connections) {
      log::warn("connection_limit_reached", {{"limit", options.max_connections}});
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    beast::error_code addr_ec;
    auto remote = socket.remote_endpoint(addr_ec);
    // Every frame is a whole message the peer waits for: without TCP_NODELAY, Nagle holds a
    // small write back until the previous one is acknowledged, and the peer's delayed ACK
    // (40 ms on Linux) then sets the latency (measured: p50 40 ms at 5,000 msg/s).
    beast::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    auto id = next_id.fetch_add(1);
    auto session = std::make_shared<http_session>(self, id, std::move(socket), with_tls,
                                                  addr_ec ? std::string{} : remote.address().to_string());
    add(id, session);
    // The coroutine must run on the socket's own strand: shutdown() posts there, and a cancel
    // racing the coroutine's close of the same socket from another strand crashed the server.
    asio::co_spawn(session->executor(), [session]() -> asio::awaitable<void> { co_await session->run(); },
                   [](std::exception_ptr e) { log_exception(e, "http_session"); });
  }
}

asio::awaitable<void> server::impl::reap(std::chrono::steady_clock::time_point deadline) {
  auto self = shared_from_this();
  asio::steady_timer t(ioc);
  // Poll rather than count down: sessions end on their own strands at their own pace.
  while (count() > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(use_tuple);
  }
  auto left = count();
  if (left > 0) log::warn("shutdown_timeout", {{"connections_left", left}});
  work.reset();
  ioc.stop();
}

server::server(server_options options, ws_handler_factory factory)
    : impl_(std::make_shared<impl>(std::move(options), std::move(factory))) {}

server::~server() {
  stop();
  wait();
  impl_->work.reset();
  impl_->acceptor.reset();
  impl_->plain_acceptor.reset();
  impl_->ioc_owner.reset();  // nothing runs it any more; see ioc_owner
}

namespace {

// Binds and listens; on failure one line naming the address in `error`.
bool open_acceptor(std::optional<tcp::acceptor>& acc, asio::io_context& ioc, const asio::ip::address& address,
                   const std::string& text, std::uint16_t port, std::string& error) {
  tcp::endpoint ep{address, port};
  beast::error_code ec;
  acc.emplace(ioc);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + text + ":" + std::to_string(port) + ": " + ec.message();
    acc.reset();
    return false;
  }
  return true;
}

}  // namespace

bool server::start(std::string& error) {
  auto& o = impl_->options;
  if (!configure_server_context(impl_->tls.native_handle(), o.tls, error)) return false;
  beast::error_code ec;
  auto address = asio::ip::make_address(o.listen_address, ec);
  if (ec) {
    error = "listen address '" + o.listen_address + "' is not an IP address";
    return false;
  }
  std::optional<asio::ip::address> plain_address;
  if (!o.plain_listen_address.empty()) {
    plain_address = asio::ip::make_address(o.plain_listen_address, ec);
    // Plain HTTP carries passwords and session tokens in clear: only a proxy on this machine
    // may reach it.
    if (ec || !plain_address->is_loopback()) {
      error = "plain listen address '" + o.plain_listen_address + "' is not a loopback address";
      return false;
    }
  }
  if (!open_acceptor(impl_->acceptor, impl_->ioc, address, o.listen_address, o.port, error)) return false;
  if (plain_address &&
      !open_acceptor(impl_->plain_acceptor, impl_->ioc, *plain_address, o.plain_listen_address, o.plain_port, error)) {
    impl_->acceptor.reset();
    return false;
  }
  return true;
}

std::uint16_t server::port() const noexcept {
  beast::error_code ec;
  return impl_->acceptor ? impl_->acceptor->local_endpoint(ec).port() : 0;
}

std::uint16_t server::plain_port() const noexcept {
  beast::error_code ec;
  return impl_->plain_acceptor ? impl_->plain_acceptor->local_endpoint(ec).port() : 0;
}

void server::run() {
  auto n = impl_->options.threads ? impl_->options.threads : std::max(1u, std::thread::hardware_concurrency());
  impl_->work.emplace(impl_->ioc.get_executor());
  asio::co_spawn(impl_->ioc, impl_->listen(*impl_->acceptor, true),
                 [](std::exception_ptr e) { log_exception(e, "listener"); });
  if (impl_->plain_acceptor) {
    asio::co_spawn(impl_->ioc, impl_->listen(*impl_->plain_acceptor, false),
                   [](std::exception_ptr e) { log_exception(e, "plain_listener"); });
  }
  for (unsigned i = 0; i < n; ++i) {
    impl_->threads.emplace_back([s = impl_] { s->ioc.run(); });
  }
}

void server::stop() {
  if (impl_->stopping.exchange(true)) return;
  if (impl_->threads.empty()) return;
  auto s = impl_;
  asio::post(s->ioc, [s] {
    beast::error_code ignored;
    if (s->acceptor) s->acceptor->close(ignored);
    if (s->plain_acceptor) s->plain_acceptor->close(ignored);
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard lock(s->registry_mutex);
      for (auto& [id, weak] : s->registry) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
    }
    log::info("shutdown_started", {{"connections", live.size()}});
    for (auto& c : live) c->shutdown();
    asio::co_spawn(s->ioc, s->reap(std::chrono::steady_clock::now() + s->options.shutdown_timeout),
                   [](std::exception_ptr e) { log_exception(e, "reaper"); });
  });
}

void server::wait() {
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

void server::set_ready(bool ready) noexcept { impl_->ready.store(ready); }

std::size_t server::connection_count() const { return impl_->count(); }

}  // namespace relais::net
