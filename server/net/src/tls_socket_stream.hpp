// A lean TLS stream: OpenSSL reads and writes the socket itself, and the stream only waits for
// the socket to be ready when OpenSSL asks for it. Asio's ssl::stream keeps a BIO pair and two
// buffers of 17 KiB per connection for as long as the connection lives, and copies every byte
// through them; here an idle connection holds no buffer at all (SSL_MODE_RELEASE_BUFFERS gives
// OpenSSL's own back when they are empty), which is what lets relaisd hold tens of thousands of
// quiet connections on a small server.
//
// Private to server.cpp: every operation runs on the connection's strand, one read and one
// write at most at a time (Beast's rule for a stream), never two SSL calls at once.
//
// Known limit: a TLS 1.3 KeyUpdate that asks for an answer, received while a write waits for
// the socket, makes OpenSSL fail that connection (it cannot queue the answer behind the
// pending record). Only the peer itself can cause it, to its own connection; browsers and
// relais clients do not send KeyUpdate.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace relais::net {

namespace tls_socket_detail {

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when the peer has gone;
// this one uses send(2) with MSG_NOSIGNAL, and never blocks (the stream waits with Asio).
inline int bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

inline int bio_write(BIO* b, const char* data, std::size_t len, std::size_t* written) {
  BIO_clear_retry_flags(b);
  const auto r = ::send(bio_fd(b), data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r >= 0) {
    *written = static_cast<std::size_t>(r);
    return 1;
  }
  if (errno == EAGAIN || errno == EINTR) BIO_set_retry_write(b);
  return 0;
}

inline int bio_read(BIO* b, char* data, std::size_t len, std::size_t* read) {
  BIO_clear_retry_flags(b);
  const auto r = ::recv(bio_fd(b), data, len, MSG_DONTWAIT);
  if (r > 0) {
    *read = static_cast<std::size_t>(r);
    return 1;
  }
  // 0 is the peer's end of stream: no retry flag, errno untouched (the stream reads that as a
  // close without close_notify).
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) BIO_set_retry_read(b);
  return 0;
}

inline long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

inline int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

inline BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "relais socket");
    if (m) {
      BIO_meth_set_write_ex(m, bio_write);
      BIO_meth_set_read_ex(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
    }
    return m;
  }();
  return method;
}

enum class need { nothing, readable, writable };

}  // namespace tls_socket_detail

/// A server-side TLS stream over a TCP socket, for Beast's HTTP and WebSocket streams
/// (AsyncReadStream, AsyncWriteStream, WebSocket teardown). Timeouts are the owner's: it calls
/// `time_out()` from its own timer, and the operation in progress (and every later one) ends
/// with beast::error::timeout.
class tls_socket_stream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using next_layer_type = socket_type;

  tls_socket_stream(socket_type&& socket, SSL_CTX* context) : socket_(std::move(socket)) {
    ssl_ = context ? SSL_new(context) : nullptr;
    BIO* bio = ssl_ ? BIO_new(tls_socket_detail::socket_method()) : nullptr;
    if (!bio) {
      SSL_free(ssl_);
      ssl_ = nullptr;
      return;
    }
    SSL_set_bio(ssl_, bio, bio);  // the SSL object owns the BIO
    // Partial writes: a write completes with what went out (Beast loops), and may be retried
    // from a moved buffer. Read-ahead: one recv takes every record that has arrived instead
    // of a recv for each header and each body.
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                           SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_accept_state(ssl_);
  }
  tls_socket_stream(tls_socket_stream&& other) noexcept
      : socket_(std::move(other.socket_)), ssl_(std::exchange(other.ssl_, nullptr)),
        failed_(other.failed_) {}  // a timeout is the owner's: the new owner starts without one
  tls_socket_stream& operator=(tls_socket_stream&&) = delete;
  tls_socket_stream(const tls_socket_stream&) = delete;
  tls_socket_stream& operator=(const tls_socket_stream&) = delete;
  ~tls_socket_stream() { SSL_free(ssl_); }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  socket_type& next_layer() noexcept { return socket_; }
  const socket_type& next_layer() const noexcept { return socket_; }
  SSL* native_handle() noexcept { return ssl_; }

  /// Ends the operation in progress and every later one with beast::error::timeout, until
  /// `clear_time_out` (the owner arming its next deadline).
  void time_out() {
    timed_out_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  void clear_time_out() noexcept { timed_out_ = false; }
  bool timed_out() const noexcept { return timed_out_; }

  template <class Token>
  auto async_handshake(Token&& token) {
    return start<void(boost::system::error_code)>(
        [](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); }, std::forward<Token>(token));
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    // Into the first buffer that has room (Beast's circular buffers may start with an empty
    // one); an empty sequence reads nothing.
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      first = *it;
      if (first.size() != 0) break;
    }
    return start<void(boost::system::error_code, std::size_t)>(
        [first](SSL* ssl, std::size_t& n) {
          return first.size() == 0 ? 1 : SSL_read_ex(ssl, first.data(), first.size(), &n);
        },
        std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    // One buffer is written as it is. Several (Beast's control frames, an HTTP header and its
    // body) are joined, up to one TLS record, so that they leave in one record and one send.
    std::string joined;
    const auto begin = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    boost::asio::const_buffer out;  // an empty sequence writes nothing
    if (begin != end) out = *begin;
    if (begin != end && std::next(begin) != end) {
      const auto prefix = boost::beast::buffers_prefix(kMaxRecord, buffers);
      joined.resize(boost::asio::buffer_size(prefix));
      boost::asio::buffer_copy(boost::asio::buffer(joined), prefix);
      out = boost::asio::buffer(joined);
    }
    return start<void(boost::system::error_code, std::size_t)>(
        [out, joined = std::move(joined)](SSL* ssl, std::size_t& n) {
          // `joined` may have moved with the operation: take its address now.
          const void* data = joined.empty() ? out.data() : joined.data();
          return out.size() == 0 ? 1 : SSL_write_ex(ssl, data, out.size(), &n);
        },
        std::forward<Token>(token));
  }

  /// Sends close_notify, then reads and discards what the peer still sends (the rest of a
  /// refused frame, its own close frame) until its close_notify or its end of stream, up to
  /// kMaxDiscard bytes. Closing with unread data would make the kernel send a reset, which can
  /// destroy our last words (a close frame, an error response) in the peer's receive buffer.
  /// The owner bounds the wait with its deadline.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<void(boost::system::error_code)>(
        [this, sent = false, discarded = std::size_t{0}, scratch = std::string()](SSL* ssl, std::size_t&) mutable {
          // After a fatal error, or before the handshake ended, there is nothing to close.
          if (failed_ || !SSL_is_init_finished(ssl)) return 1;
          if (!sent) {
            const int r = SSL_shutdown(ssl);
            if (r < 0) return r;  // not flushed yet: wait until writable and send again
            if (r == 1) return 1;  // the peer's close_notify had already come
            sent = true;
          }
          scratch.resize(4096);
          for (;;) {
            std::size_t n = 0;
            const int r = SSL_read_ex(ssl, scratch.data(), scratch.size(), &n);
            if (r <= 0) return SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ? 1 : r;
            discarded += n;
            if (discarded >= kMaxDiscard) return 1;
          }
        },
        std::forward<Token>(token));
  }

  /// Beast's WebSocket close handshake ends here: close_notify, then the socket.
  template <class Handler>
  friend void async_teardown(boost::beast::role_type, tls_socket_stream& s, Handler&& handler) {
    s.async_shutdown([&s, h = std::forward<Handler>(handler)](boost::system::error_code ec) mutable {
      boost::system::error_code ignored;
      s.socket_.shutdown(socket_type::shutdown_both, ignored);
      s.socket_.close(ignored);
      // The peer closing without its close_notify ends the connection as well.
      if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated) ec = {};
      std::move(h)(ec);
    });
  }

 private:
  static constexpr std::size_t kMaxRecord = 16 * 1024;
  static constexpr std::size_t kMaxDiscard = 256 * 1024;

  // Runs one attempt of an SSL call; on "want read/write" waits for the socket and tries again.
  // Completes through the executor even when the first attempt succeeds (never inside the
  // initiating call), as every Asio operation does.
  template <class Attempt>
  struct op {
    tls_socket_stream& s;
    Attempt attempt;
    bool waited = false;
    bool waiting_to_write = false;
    bool finished = false;
    boost::system::error_code result;
    std::size_t bytes = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code wait_ec = {}) {
      if (finished) return complete(self);
      if (s.timed_out_) {
        result = boost::beast::error::timeout;
      } else if (wait_ec) {
        result = wait_ec;
      } else {
        const auto next = s.attempt_once(attempt, bytes, result);
        if (next != tls_socket_detail::need::nothing) {
          waited = true;
          waiting_to_write = next == tls_socket_detail::need::writable;
          s.socket_.async_wait(next == tls_socket_detail::need::readable ? socket_type::wait_read
                                                                          : socket_type::wait_write,
                               std::move(self));
          return;
        }
      }
      // A write given up while OpenSSL holds part of its record (a timeout, a cancel) leaves
      // the stream unusable: nothing else may be written after half a record, not even the
      // close_notify. Later calls fail at once instead of OpenSSL's "bad write retry".
      if (result && waiting_to_write && !s.failed_) s.failed_ = result;
      finished = true;
      if (!waited) {
        boost::asio::post(s.get_executor(), std::move(self));
        return;
      }
      complete(self);
    }

    template <class Self>
    void complete(Self& self) {
      if constexpr (requires { self.complete(result, bytes); }) {
        self.complete(result, bytes);
      } else {
        self.complete(result);
      }
    }
  };

  template <class Signature, class Attempt, class Token>
  auto start(Attempt&& attempt, Token&& token) {
    return boost::asio::async_compose<Token, Signature>(
        op<std::decay_t<Attempt>>{*this, std::forward<Attempt>(attempt), false, false, false, {}, 0}, token, socket_);
  }

  template <class Attempt>
  tls_socket_detail::need attempt_once(Attempt& attempt, std::size_t& n, boost::system::error_code& ec) {
    using tls_socket_detail::need;
    if (!ssl_) {
      ec = boost::asio::error::no_memory;
      return need::nothing;
    }
    if (failed_) {
      ec = failed_;
      return need::nothing;
    }
    // The descriptor is read at each attempt, on the strand: a socket closed meanwhile (a
    // close deadline) makes the call fail instead of touching a reused descriptor.
    if (!socket_.is_open()) {
      ec = boost::asio::error::bad_descriptor;
      return need::nothing;
    }
    BIO_set_data(SSL_get_rbio(ssl_), reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
    ERR_clear_error();
    errno = 0;
    n = 0;
    const int r = attempt(ssl_, n);
    if (r > 0) return need::nothing;
    const int saved_errno = errno;
    switch (SSL_get_error(ssl_, r)) {
      case SSL_ERROR_WANT_READ:
        return need::readable;
      case SSL_ERROR_WANT_WRITE:
        return need::writable;
      case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
        ec = boost::asio::error::eof;
        break;
      case SSL_ERROR_SYSCALL:  // no errno: the peer closed without close_notify
        ec = saved_errno ? boost::system::error_code(saved_errno, boost::system::system_category())
                         : boost::system::error_code(boost::asio::ssl::error::stream_truncated);
        failed_ = ec;
        break;
      default: {
        // SSL_ERROR_SSL, or a "want" this server never asks for (X509 lookup, async, client
        // hello callback): with nothing in the error queue it is still a failure, never 0.
        const unsigned long code = ERR_peek_last_error();
        ec = code == 0 ? boost::system::error_code(boost::asio::error::operation_not_supported)
             : ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
                 ? boost::system::error_code(boost::asio::ssl::error::stream_truncated)
                 : boost::system::error_code(static_cast<int>(code), boost::asio::error::get_ssl_category());
        failed_ = ec;
        break;
      }
    }
    ERR_clear_error();
    return need::nothing;
  }

  socket_type socket_;
  SSL* ssl_ = nullptr;
  boost::system::error_code failed_;  // a fatal TLS or socket error: every later call gets it
  bool timed_out_ = false;
};

}  // namespace relais::net
