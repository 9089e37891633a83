// The server's connection stream, TLS or plain. With TLS, OpenSSL reads and writes the socket
// itself and the stream only waits for the socket to be ready when OpenSSL asks for it. Asio's
// ssl::stream keeps a BIO pair and two buffers of 17 KiB per connection for as long as the
// connection lives, and copies every byte through them; here an idle connection holds no
// buffer at all (SSL_MODE_RELEASE_BUFFERS gives OpenSSL's own back when they are empty), which
// is what lets relaisd hold tens of thousands of quiet connections on a small server. Plain
// (the loopback listener behind a reverse proxy that ends TLS) reads and writes the socket
// directly, with the same readiness waits, timeouts and error rules, so that the HTTP and
// WebSocket sessions above are one code for both.
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
#include <sys/uio.h>

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace relais::net {

namespace socket_stream_detail {

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

}  // namespace socket_stream_detail

/// A server-side stream over a TCP socket, TLS or plain, for Beast's HTTP and WebSocket
/// streams (AsyncReadStream, AsyncWriteStream, WebSocket teardown). Timeouts are the owner's:
/// it calls `time_out()` from its own timer, and the operation in progress (and every later
/// one) ends with beast::error::timeout.
class socket_stream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using next_layer_type = socket_type;

  /// Plain: bytes go to the socket as they are.
  explicit socket_stream(socket_type&& socket) : socket_(std::move(socket)) {}
  /// TLS, server side, with the context's settings.
  socket_stream(socket_type&& socket, SSL_CTX* context) : socket_(std::move(socket)), tls_(true) {
    ssl_ = SSL_new(context);
    BIO* bio = ssl_ ? BIO_new(socket_stream_detail::socket_method()) : nullptr;
    if (!bio) {
      SSL_free(ssl_);
      ssl_ = nullptr;  // every operation fails with no_memory
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
  socket_stream(socket_stream&& other) noexcept
      : socket_(std::move(other.socket_)), tls_(other.tls_), ssl_(std::exchange(other.ssl_, nullptr)),
        failed_(other.failed_) {}  // a timeout is the owner's: the new owner starts without one
  socket_stream& operator=(socket_stream&&) = delete;
  socket_stream(const socket_stream&) = delete;
  socket_stream& operator=(const socket_stream&) = delete;
  ~socket_stream() { SSL_free(ssl_); }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  socket_type& next_layer() noexcept { return socket_; }
  const socket_type& next_layer() const noexcept { return socket_; }
  [[nodiscard]] bool is_tls() const noexcept { return tls_; }

  /// Ends the operation in progress and every later one with beast::error::timeout, until
  /// `clear_time_out` (the owner arming its next deadline).
  void time_out() {
    timed_out_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  void clear_time_out() noexcept { timed_out_ = false; }
  bool timed_out() const noexcept { return timed_out_; }

  /// TLS: the server side of the handshake. Plain: nothing to do.
  template <class Token>
  auto async_handshake(Token&& token) {
    return start<void(boost::system::error_code)>(
        [this](std::size_t& n, boost::system::error_code& ec) {
          if (!tls_) return socket_stream_detail::need::nothing;
          return tls_call([](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); }, n, ec);
        },
        std::forward<Token>(token));
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
        [this, first](std::size_t& n, boost::system::error_code& ec) {
          if (first.size() == 0) return socket_stream_detail::need::nothing;
          if (!tls_) return plain_recv(first, n, ec);
          return tls_call([first](SSL* ssl, std::size_t& got) { return SSL_read_ex(ssl, first.data(), first.size(), &got); },
                          n, ec);
        },
        std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    // TLS: one buffer is written as it is; several (Beast's control frames, an HTTP header
    // and its body) are joined, up to one TLS record, so that they leave in one record and one
    // send. Plain: up to kMaxGather buffers leave in one sendmsg, uncopied.
    std::string joined;
    std::array<iovec, kMaxGather> gather{};
    std::size_t parts = 0;
    const auto begin = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    boost::asio::const_buffer out;  // an empty sequence writes nothing
    if (!tls_) {
      for (auto it = begin; it != end && parts < kMaxGather; ++it) {
        const boost::asio::const_buffer b = *it;
        if (b.size() == 0) continue;
        gather[parts++] = iovec{const_cast<void*>(b.data()), b.size()};  // NOLINT: sendmsg's iovec is not const
      }
    } else {
      if (begin != end) out = *begin;
      if (begin != end && std::next(begin) != end) {
        const auto prefix = boost::beast::buffers_prefix(kMaxRecord, buffers);
        joined.resize(boost::asio::buffer_size(prefix));
        boost::asio::buffer_copy(boost::asio::buffer(joined), prefix);
        out = boost::asio::buffer(joined);
      }
    }
    return start<void(boost::system::error_code, std::size_t)>(
        [this, out, joined = std::move(joined), gather, parts](std::size_t& n, boost::system::error_code& ec) mutable {
          if (!tls_) return parts == 0 ? socket_stream_detail::need::nothing : plain_send(gather.data(), parts, n, ec);
          if (out.size() == 0) return socket_stream_detail::need::nothing;
          // `joined` may have moved with the operation: take its address now.
          const void* data = joined.empty() ? out.data() : joined.data();
          return tls_call([data, size = out.size()](SSL* ssl, std::size_t& sent) { return SSL_write_ex(ssl, data, size, &sent); },
                          n, ec);
        },
        std::forward<Token>(token));
  }

  /// TLS: sends close_notify. Then, both ways, reads and discards what the peer still sends
  /// (the rest of a refused frame, its own close frame) until its close_notify (TLS) or its end
  /// of stream, up to kMaxDiscard bytes; plain first stops sending, which is how a plain peer
  /// learns the end. Closing with unread data would make the kernel send a reset, which can
  /// destroy our last words (a close frame, an error response) in the peer's receive buffer.
  /// The owner bounds the wait with its deadline.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<void(boost::system::error_code)>(
        [this, sent = false, discarded = std::size_t{0}, scratch = std::string()](
            std::size_t& n, boost::system::error_code& ec) mutable {
          using socket_stream_detail::need;
          if (failed_) return need::nothing;  // after a fatal error there is nothing to close
          if (!tls_) {
            if (!sent) {
              boost::system::error_code ignored;
              socket_.shutdown(socket_type::shutdown_send, ignored);
              sent = true;
            }
            scratch.resize(4096);
            for (;;) {
              const auto next = plain_recv(boost::asio::buffer(scratch), n, ec);
              if (next != need::nothing) return next;
              if (ec) {
                if (ec == boost::asio::error::eof) ec = {};  // the peer's end: done
                return need::nothing;
              }
              discarded += n;
              if (discarded >= kMaxDiscard) return need::nothing;
            }
          }
          return tls_call(
              [&](SSL* ssl, std::size_t&) {
                if (!SSL_is_init_finished(ssl)) return 1;  // before the handshake ended: nothing to close
                if (!sent) {
                  const int r = SSL_shutdown(ssl);
                  if (r < 0) return r;   // not flushed yet: wait until writable and send again
                  if (r == 1) return 1;  // the peer's close_notify had already come
                  sent = true;
                }
                scratch.resize(4096);
                for (;;) {
                  std::size_t got = 0;
                  const int r = SSL_read_ex(ssl, scratch.data(), scratch.size(), &got);
                  if (r <= 0) return SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ? 1 : r;
                  discarded += got;
                  if (discarded >= kMaxDiscard) return 1;
                }
              },
              n, ec);
        },
        std::forward<Token>(token));
  }

  /// Beast's WebSocket close handshake ends here: the shutdown above, then the socket.
  template <class Handler>
  friend void async_teardown(boost::beast::role_type, socket_stream& s, Handler&& handler) {
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
  static constexpr std::size_t kMaxGather = 16;  // buffers per plain sendmsg (Beast loops for more)

  // Runs one attempt of the operation's step (an SSL call, a recv or a sendmsg); when the socket
  // is not ready, waits for it and tries again.
  // Completes through the executor even when the first attempt succeeds (never inside the
  // initiating call), as every Asio operation does.
  template <class Attempt>
  struct op {
    socket_stream& s;
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
        if (next != socket_stream_detail::need::nothing) {
          waited = true;
          waiting_to_write = next == socket_stream_detail::need::writable;
          s.socket_.async_wait(next == socket_stream_detail::need::readable ? socket_type::wait_read
                                                                          : socket_type::wait_write,
                               std::move(self));
          return;
        }
      }
      // A write given up while OpenSSL holds part of its record (a timeout, a cancel) leaves
      // the stream unusable: nothing else may be written after half a record, not even the
      // close_notify (plain is treated the same: the frame above is cut as well). Later calls fail at once instead of OpenSSL's "bad write retry".
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

  // One attempt: the checks every operation shares, then the operation's own step.
  template <class Attempt>
  socket_stream_detail::need attempt_once(Attempt& attempt, std::size_t& n, boost::system::error_code& ec) {
    using socket_stream_detail::need;
    if (tls_ && !ssl_) {
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
    n = 0;
    return attempt(n, ec);
  }

  socket_stream_detail::need plain_recv(boost::asio::mutable_buffer into, std::size_t& n, boost::system::error_code& ec) {
    const auto r = ::recv(socket_.native_handle(), into.data(), into.size(), MSG_DONTWAIT);
    if (r > 0) {
      n = static_cast<std::size_t>(r);
      return socket_stream_detail::need::nothing;
    }
    if (r == 0) {
      ec = boost::asio::error::eof;  // the peer's end of stream (not fatal: writes may go on)
      return socket_stream_detail::need::nothing;
    }
    return plain_failure(socket_stream_detail::need::readable, ec);
  }

  socket_stream_detail::need plain_send(iovec* parts, std::size_t count, std::size_t& n, boost::system::error_code& ec) {
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = count;
    const auto r = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) {
      n = static_cast<std::size_t>(r);
      return socket_stream_detail::need::nothing;
    }
    return plain_failure(socket_stream_detail::need::writable, ec);
  }

  socket_stream_detail::need plain_failure(socket_stream_detail::need retry, boost::system::error_code& ec) {
    if (errno == EAGAIN || errno == EINTR) return retry;  // EWOULDBLOCK is EAGAIN on Linux
    ec = boost::system::error_code(errno, boost::system::system_category());
    failed_ = ec;
    return socket_stream_detail::need::nothing;
  }

  // One SSL call; "want read/write" asks for a wait, other failures are mapped as Asio's
  // ssl::stream maps them.
  template <class Call>
  socket_stream_detail::need tls_call(Call&& call, std::size_t& n, boost::system::error_code& ec) {
    using socket_stream_detail::need;
    BIO_set_data(SSL_get_rbio(ssl_), reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
    ERR_clear_error();
    errno = 0;
    const int r = call(ssl_, n);
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
  bool tls_ = false;
  SSL* ssl_ = nullptr;
  boost::system::error_code failed_;  // a fatal TLS or socket error: every later call gets it
  bool timed_out_ = false;
};

}  // namespace relais::net
