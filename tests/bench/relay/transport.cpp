// Asio/Beast side of relais-bench: io threads, timers, and the three client transports.
// Callback style, one io_context per thread, no strands: a connection is only ever touched by
// the thread of its io_context.
#include "transport.hpp"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>
#include <vector>

namespace relais::bench {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace limits {
/// Bytes: largest frame accepted from a server (the protocol's frame limit is 64 KiB; a
/// pair relay echoes what we send, at most that size).
inline constexpr std::size_t max_frame = 1024 * 1024;
/// Records: frames gathered into one write on the raw transport (bounds iovec count).
inline constexpr std::size_t raw_gather = 64;
}  // namespace limits

// ---------------------------------------------------------------- io_pool

struct io_pool::impl {
  struct worker {
    net::io_context ioc{1};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  };
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::thread> threads;
};

io_pool::io_pool(unsigned threads) : impl_(std::make_unique<impl>()) {
  for (unsigned i = 0; i < std::max(1U, threads); ++i) {
    auto w = std::make_unique<impl::worker>();
    w->guard.emplace(w->ioc.get_executor());
    impl_->workers.push_back(std::move(w));
  }
}

io_pool::~io_pool() { stop(); }

unsigned io_pool::size() const noexcept { return static_cast<unsigned>(impl_->workers.size()); }

void io_pool::post(unsigned index, std::function<void()> fn) {
  net::post(impl_->workers.at(index)->ioc, std::move(fn));
}

namespace {

/// A self-rescheduling timer; owned by its pending wait.
struct repeating_timer : std::enable_shared_from_this<repeating_timer> {
  repeating_timer(net::io_context& ioc, std::function<std::optional<steady_time>()> t)
      : timer(ioc), tick(std::move(t)) {}
  void fire() {
    auto next = tick();
    if (!next) return;
    timer.expires_at(*next);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->fire();
    });
  }
  net::steady_timer timer;
  std::function<std::optional<steady_time>()> tick;
};

}  // namespace

void io_pool::run_timer(unsigned index, std::function<std::optional<steady_time>()> tick) {
  auto& ioc = impl_->workers.at(index)->ioc;
  auto t = std::make_shared<repeating_timer>(ioc, std::move(tick));
  net::post(ioc, [t] { t->fire(); });
}

void io_pool::start() {
  for (auto& w : impl_->workers) {
    impl_->threads.emplace_back([ioc = &w->ioc] { ioc->run(); });
  }
}

void io_pool::stop() {
  for (auto& w : impl_->workers) w->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

// ---------------------------------------------------------------- tls_client

struct tls_client::impl {
  ssl::context ctx{ssl::context::tls_client};
  bool verify = false;
};

tls_client::tls_client(bool verify, const std::string& ca_file) : impl_(std::make_unique<impl>()) {
  impl_->verify = verify;
  SSL_CTX* h = impl_->ctx.native_handle();
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  // A bench measures steady state per connection: no resumption, every handshake is full.
  SSL_CTX_set_session_cache_mode(h, SSL_SESS_CACHE_OFF);
  if (verify) {
    impl_->ctx.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (ca_file.empty()) {
      impl_->ctx.set_default_verify_paths(ec);
    } else {
      impl_->ctx.load_verify_file(ca_file, ec);
    }
    if (ec) throw std::runtime_error("cannot load CA file '" + ca_file + "': " + ec.message());
  } else {
    impl_->ctx.set_verify_mode(ssl::verify_none);
  }
}

tls_client::~tls_client() = default;

// ---------------------------------------------------------------- transports

namespace {

std::string describe(const char* step, const beast::error_code& ec) { return std::string(step) + ": " + ec.message(); }

/// Opens a TCP socket with no delay, bound to 127.0.0.(1 + index % n) when spreading.
tcp::socket open_socket(net::io_context& ioc, const endpoint& ep, std::size_t index, tcp::endpoint& remote,
                        beast::error_code& ec) {
  tcp::socket s(ioc);
  auto addr = net::ip::make_address(ep.host, ec);
  if (ec) return s;
  remote = tcp::endpoint(addr, ep.port);
  s.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (ec) return s;
  s.set_option(tcp::no_delay(true), ec);
  if (ec) return s;
  if (ep.source_addresses > 1 && addr.is_v4()) {
    // The kernel picks the port at connect time, per source address: 28k ports each.
    int one = 1;
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    net::ip::address_v4::bytes_type b{127, 0, 0, static_cast<unsigned char>(1 + index % ep.source_addresses)};
    s.bind(tcp::endpoint(net::ip::address_v4(b), 0), ec);
  }
  return s;
}

/// WebSocket client over a plain or TLS stream.
template <class Stream>
class ws_transport final : public transport, public std::enable_shared_from_this<ws_transport<Stream>> {
 public:
  static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

  ws_transport(net::io_context& ioc, const endpoint& ep, transport_handler& h) : ioc_(ioc), ep_(ep), handler_(h) {}

  void start(std::size_t index) override {
    beast::error_code ec;
    tcp::endpoint remote;
    auto s = open_socket(ioc_, ep_, index, remote, ec);
    if (ec) return fail("socket", ec);
    if constexpr (is_tls) {
      ws_.emplace(std::move(s), ep_.tls->internals().ctx);
      auto* ssl = ws_->next_layer().native_handle();
      if (ep_.tls->internals().verify) {
        ws_->next_layer().set_verify_callback(ssl::host_name_verification(ep_.host));
      }
      beast::error_code ignored;
      (void)net::ip::make_address(ep_.host, ignored);
      if (ignored) {  // SNI for host names only (SSL_set_tlsext_host_name is a macro with a C cast)
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep_.host.c_str()));
      }
    } else {
      ws_.emplace(std::move(s));
    }
    auto self = this->shared_from_this();
    lowest().async_connect(remote, [self](beast::error_code e) {
      if (e) return self->fail("connect", e);
      if constexpr (is_tls) {
        self->ws_->next_layer().async_handshake(ssl::stream_base::client, [self](beast::error_code e2) {
          if (e2) return self->fail("TLS handshake", e2);
          self->upgrade();
        });
      } else {
        self->upgrade();
      }
    });
  }

  void send(std::string frame) override {
    queue_.push_back(std::move(frame));
    if (!writing_ && open_) write_next();
  }

  [[nodiscard]] std::size_t queued() const noexcept override { return queue_.size(); }

  void close() override {
    closed_ = true;
    beast::error_code ec;
    lowest().close(ec);
  }

 private:
  tcp::socket& lowest() { return beast::get_lowest_layer(*ws_); }

  void upgrade() {
    ws_->auto_fragment(false);
    ws_->text(true);
    ws_->read_message_max(limits::max_frame);
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    ws_->set_option(timeouts);
    ws_->set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "relais-bench/0.1"); }));
    auto self = this->shared_from_this();
    ws_->async_handshake(ep_.host + ":" + std::to_string(ep_.port), ep_.target, [self](beast::error_code e) {
      if (e) return self->fail("WebSocket upgrade", e);
      self->open_ = true;
      self->read_next();
      self->handler_.on_open();
      if (!self->writing_ && !self->queue_.empty()) self->write_next();
    });
  }

  void read_next() {
    auto self = this->shared_from_this();
    ws_->async_read(buffer_, [self](beast::error_code e, std::size_t n) {
      // Dropped by close() while this read's completion was already queued: the handler may
      // be reading from a new connection by now.
      if (self->closed_) return;
      if (e) {
        if (e == websocket::error::closed) {
          const auto& r = self->ws_->reason();
          return self->fail_text("closed by the server with code " + std::to_string(r.code) +
                                 (r.reason.empty() ? std::string() : " (" + std::string(r.reason.c_str()) + ")"));
        }
        return self->fail("read", e);
      }
      auto data = self->buffer_.cdata();
      self->handler_.on_frame(std::string_view(static_cast<const char*>(data.data()), n));
      self->buffer_.consume(n);
      if (!self->closed_) self->read_next();
    });
  }

  void write_next() {
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = this->shared_from_this();
    ws_->async_write(net::buffer(queue_.front()), [self](beast::error_code e, std::size_t) {
      if (e) return self->fail("write", e);
      self->queue_.pop_front();
      self->write_next();
    });
  }

  void fail(const char* step, const beast::error_code& ec) { fail_text(describe(step, ec)); }
  void fail_text(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    handler_.on_closed(why);
  }

  net::io_context& ioc_;
  endpoint ep_;
  transport_handler& handler_;
  std::optional<websocket::stream<Stream>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

/// Length-prefixed records over plain TCP.
class raw_transport final : public transport, public std::enable_shared_from_this<raw_transport> {
 public:
  raw_transport(net::io_context& ioc, const endpoint& ep, transport_handler& h) : ioc_(ioc), ep_(ep), handler_(h) {}

  void start(std::size_t index) override {
    beast::error_code ec;
    tcp::endpoint remote;
    socket_.emplace(open_socket(ioc_, ep_, index, remote, ec));
    if (ec) return fail("socket", ec);
    auto self = shared_from_this();
    socket_->async_connect(remote, [self](beast::error_code e) {
      if (e) return self->fail("connect", e);
      self->open_ = true;
      self->read_next();
      self->handler_.on_open();
      if (!self->writing_ && !self->queue_.empty()) self->write_next();
    });
  }

  void send(std::string frame) override {
    std::array<char, 4> prefix{};
    const auto n = static_cast<std::uint32_t>(frame.size());
    for (std::size_t i = 0; i < 4; ++i) prefix[i] = static_cast<char>((n >> (24 - 8 * i)) & 0xFFU);
    frame.insert(0, prefix.data(), prefix.size());
    queue_.push_back(std::move(frame));
    if (!writing_ && open_) write_next();
  }

  [[nodiscard]] std::size_t queued() const noexcept override { return queue_.size() + inflight_.size(); }

  void close() override {
    closed_ = true;
    beast::error_code ec;
    if (socket_) socket_->close(ec);
  }

 private:
  void read_next() {
    if (buffer_.size() - used_ < 4096) buffer_.resize(std::max<std::size_t>(buffer_.size() * 2, 65536));
    auto self = shared_from_this();
    socket_->async_read_some(net::buffer(buffer_.data() + used_, buffer_.size() - used_),
                             [self](beast::error_code e, std::size_t n) {
                               if (e) return self->fail("read", e);
                               self->used_ += n;
                               if (!self->parse()) return;
                               if (!self->closed_) self->read_next();
                             });
  }

  bool parse() {
    std::size_t off = 0;
    while (used_ - off >= 4) {
      const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + off);
      const std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
      if (len > limits::max_frame) {
        fail_text("record of " + std::to_string(len) + " bytes exceeds the frame limit");
        return false;
      }
      if (used_ - off - 4 < len) {
        if (len + 4 > buffer_.size()) buffer_.resize(len + 4 + 65536);
        break;
      }
      handler_.on_frame(std::string_view(buffer_.data() + off + 4, len));
      if (closed_) return false;
      off += 4 + len;
    }
    if (off > 0) {
      std::memmove(buffer_.data(), buffer_.data() + off, used_ - off);
      used_ -= off;
    }
    return true;
  }

  void write_next() {
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    inflight_.clear();
    buffers_.clear();
    while (!queue_.empty() && inflight_.size() < limits::raw_gather) {
      inflight_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    for (const auto& s : inflight_) buffers_.emplace_back(net::buffer(s));
    auto self = shared_from_this();
    net::async_write(*socket_, buffers_, [self](beast::error_code e, std::size_t) {
      if (e) return self->fail("write", e);
      self->inflight_.clear();
      self->write_next();
    });
  }

  void fail(const char* step, const beast::error_code& ec) { fail_text(describe(step, ec)); }
  void fail_text(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    handler_.on_closed(why);
  }

  net::io_context& ioc_;
  endpoint ep_;
  transport_handler& handler_;
  std::optional<tcp::socket> socket_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::deque<std::string> queue_;
  std::vector<std::string> inflight_;
  std::vector<net::const_buffer> buffers_;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<transport> make_transport(io_pool& pool, unsigned index, const endpoint& ep,
                                          transport_handler& handler) {
  auto& ioc = pool.internals().workers.at(index)->ioc;
  switch (ep.kind) {
    case transport_kind::ws:
      return std::make_shared<ws_transport<tcp::socket>>(ioc, ep, handler);
    case transport_kind::wss:
      if (ep.tls == nullptr) throw std::logic_error("wss endpoint without TLS settings");
      return std::make_shared<ws_transport<beast::ssl_stream<tcp::socket>>>(ioc, ep, handler);
    case transport_kind::raw:
      return std::make_shared<raw_transport>(ioc, ep, handler);
  }
  throw std::logic_error("unknown transport kind");
}

}  // namespace relais::bench
