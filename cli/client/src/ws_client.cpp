// The one client-side translation unit that includes Beast with TLS; relais-cli, the tests
// and the bench use it through ws_client.hpp.
#include "relais/client/ws_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <array>
#include <cctype>
#include <optional>

namespace relais::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

std::unique_ptr<ssl::context> make_context(const tls_options& o) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  auto* native = ctx->native_handle();
  if (o.security_level >= 0) SSL_CTX_set_security_level(native, o.security_level);
  if (o.min_version) SSL_CTX_set_min_proto_version(native, o.min_version);
  if (o.max_version) SSL_CTX_set_max_proto_version(native, o.max_version);
  if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(native, o.ciphers.c_str());
  if (o.verify_peer) {
    ctx->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (o.ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(o.ca_file, ec);
    }
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

// Runs the io_context until `done` or the deadline; false on timeout.
bool run_until(asio::io_context& ioc, const bool& done, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done) {
    if (ioc.stopped()) ioc.restart();
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    ioc.run_one_for(deadline - now);
  }
  return true;
}

// Starts one asynchronous operation with a completion that records its error, and runs the
// io_context until it completes; std::errc::timed_out if it has not within `timeout`.
template <typename Start>
std::error_code run_op(asio::io_context& ioc, milliseconds timeout, Start&& start) {
  beast::error_code ec;
  bool done = false;
  start([&ec, &done](beast::error_code e, auto&&...) {
    ec = e;
    done = true;
  });
  if (!run_until(ioc, done, timeout)) return std::make_error_code(std::errc::timed_out);
  return ec;
}

// Connects TCP and completes the TLS handshake on `stream` (SNI set for names).
std::error_code connect_tls(asio::io_context& ioc, tls_stream& stream, const std::string& host, std::uint16_t port,
                            milliseconds timeout) {
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return ec;
  beast::error_code addr_ec;
  asio::ip::make_address(host, addr_ec);
  if (addr_ec) {  // SNI for names only (RFC 6066 forbids IP literals)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"  // OpenSSL's macro
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
#pragma GCC diagnostic pop
  }
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto grace = timeout + milliseconds(500);  // the stream's own timeout fires first
  if (auto e = run_op(ioc, grace, [&](auto h) { beast::get_lowest_layer(stream).async_connect(results, h); })) return e;
  auto e = run_op(ioc, grace, [&](auto h) { stream.async_handshake(ssl::stream_base::client, h); });
  beast::get_lowest_layer(stream).expires_never();
  return e;
}

}  // namespace

std::error_code https_request(const std::string& host, std::uint16_t port, std::string_view method,
                              std::string_view target, http_response& out, const tls_options& tls,
                              milliseconds timeout) {
  asio::io_context ioc;
  auto ctx = make_context(tls);
  tls_stream stream(ioc, *ctx);
  if (auto ec = connect_tls(ioc, stream, host, port, timeout)) return ec;
  http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host + ":" + std::to_string(port));
  req.set(http::field::connection, "close");
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto grace = timeout + milliseconds(500);
  if (auto ec = run_op(ioc, grace, [&](auto h) { http::async_write(stream, req, h); })) return ec;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  if (auto ec = run_op(ioc, grace, [&](auto h) { http::async_read(stream, buffer, parser, h); })) return ec;
  auto res = parser.release();
  out.status = res.result_int();
  out.headers.clear();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(res.body());
  return {};
}

std::error_code https_raw(const std::string& host, std::uint16_t port, std::string_view request, std::string& out,
                          const tls_options& tls, milliseconds timeout) {
  asio::io_context ioc;
  auto ctx = make_context(tls);
  tls_stream stream(ioc, *ctx);
  if (auto ec = connect_tls(ioc, stream, host, port, timeout)) return ec;
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto write_ec = run_op(ioc, timeout + milliseconds(500), [&](auto h) { asio::async_write(stream, asio::buffer(request), h); });
  if (write_ec == std::errc::timed_out) return write_ec;
  // The server may answer and close before reading everything we wrote: a write error is
  // not a failure here, the answer is what matters.
  out.clear();
  std::array<char, 4096> chunk{};
  beast::error_code ec;
  for (;;) {
    bool done = false;
    std::size_t got = 0;
    stream.async_read_some(asio::buffer(chunk), [&](beast::error_code e, std::size_t n) {
      ec = e;
      got = n;
      done = true;
    });
    if (!run_until(ioc, done, timeout + milliseconds(500))) return std::make_error_code(std::errc::timed_out);
    out.append(chunk.data(), got);
    if (ec) break;
  }
  return {};
}

std::error_code tls_probe(const std::string& host, std::uint16_t port, const tls_options& tls, std::string& protocol,
                          milliseconds timeout) {
  asio::io_context ioc;
  auto ctx = make_context(tls);
  tls_stream stream(ioc, *ctx);
  if (auto ec = connect_tls(ioc, stream, host, port, timeout)) return ec;
  protocol = SSL_get_version(stream.native_handle());
  return {};
}

bool is_closed(const std::error_code& ec) noexcept {
  return ec && ec == std::error_code(beast::error_code(websocket::error::closed));
}

struct ws_client::impl {
  asio::io_context ioc;
  std::unique_ptr<ssl::context> ctx;
  std::optional<websocket::stream<tls_stream>> ws;
  beast::flat_buffer buffer;
  bool read_pending = false;
  bool read_done = false;
  beast::error_code read_ec;
  websocket::response_type upgrade_response;
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() = default;

std::error_code ws_client::connect(const std::string& host, std::uint16_t port, std::string_view target,
                                   std::string_view origin, const tls_options& tls, milliseconds timeout) {
  auto& i = *impl_;
  i.ctx = make_context(tls);
  i.ws.emplace(i.ioc, *i.ctx);
  if (auto ec = connect_tls(i.ioc, i.ws->next_layer(), host, port, timeout)) return ec;
  std::string origin_value(origin);
  i.ws->set_option(websocket::stream_base::decorator([origin_value](websocket::request_type& req) {
    req.set(http::field::user_agent, "relais-cli");
    if (!origin_value.empty()) req.set(http::field::origin, origin_value);
  }));
  websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::client);
  i.ws->set_option(t);
  i.ws->read_message_max(1024 * 1024);
  return run_op(i.ioc, timeout, [&](auto h) {
    i.ws->async_handshake(i.upgrade_response, host + ":" + std::to_string(port), target, h);
  });
}

std::error_code ws_client::send_text(std::string_view text, milliseconds timeout) {
  auto& i = *impl_;
  if (!i.ws) return std::make_error_code(std::errc::not_connected);
  i.ws->text(true);
  return run_op(i.ioc, timeout, [&](auto h) { i.ws->async_write(asio::buffer(text), h); });
}

std::error_code ws_client::send_binary(std::string_view data, milliseconds timeout) {
  auto& i = *impl_;
  if (!i.ws) return std::make_error_code(std::errc::not_connected);
  i.ws->binary(true);
  auto ec = run_op(i.ioc, timeout, [&](auto h) { i.ws->async_write(asio::buffer(data), h); });
  i.ws->text(true);
  return ec;
}

std::error_code ws_client::read(std::string& out, milliseconds timeout) {
  auto& i = *impl_;
  if (!i.ws) return std::make_error_code(std::errc::not_connected);
  if (!i.read_pending) {
    i.read_pending = true;
    i.read_done = false;
    i.ws->async_read(i.buffer, [&i](beast::error_code e, std::size_t) {
      i.read_ec = e;
      i.read_done = true;
    });
  }
  if (!run_until(i.ioc, i.read_done, timeout)) return std::make_error_code(std::errc::timed_out);
  i.read_pending = false;
  if (i.read_ec) return i.read_ec;
  out = beast::buffers_to_string(i.buffer.data());
  i.buffer.consume(i.buffer.size());
  return {};
}

std::error_code ws_client::close(std::uint16_t code, milliseconds timeout) {
  auto& i = *impl_;
  if (!i.ws || !i.ws->is_open()) return {};
  return run_op(i.ioc, timeout, [&](auto h) { i.ws->async_close(websocket::close_reason(code), h); });
}

std::uint16_t ws_client::close_code() const noexcept {
  return impl_->ws ? static_cast<std::uint16_t>(impl_->ws->reason().code) : 0;
}

unsigned ws_client::upgrade_status() const noexcept { return impl_->upgrade_response.result_int(); }

bool ws_client::is_open() const noexcept { return impl_->ws && impl_->ws->is_open(); }

}  // namespace relais::client
