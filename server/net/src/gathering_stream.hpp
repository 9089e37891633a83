// A stream layer between Beast's WebSocket stream and the TLS stream that lets a writer gather
// a burst of frames into one TLS write: one SSL_write and one sendmsg for the burst instead of
// one of each per frame (acks and relayed messages leave in bursts, one per group commit, and a
// syscall is the costliest thing relaisd does per frame on a virtual machine).
//
// Private to server.cpp: everything here runs on the connection's strand.
#pragma once

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <exception>
#include <string>
#include <utility>

namespace relais::net {

/// Writes pass straight through unless the owner holds them (`hold`): held writes are copied
/// into one buffer and complete at once; `async_flush` writes the buffer out and completes when
/// it is on the socket. Writes that arrive while a physical write is in progress (Beast's pings,
/// pongs and close frames can come at any time) are appended too and leave with the next
/// physical write, in order: two writes never run at once on the TLS stream below.
///
/// Bounded: only the owner holds, and it gathers only what its own bounded queue holds (plus
/// control frames of a few bytes). The buffer is released after each flush, so an idle
/// connection keeps no write buffer.
template <class NextLayer>
class gathering_stream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  explicit gathering_stream(NextLayer&& next)
      : next_(std::move(next)), idle_(next_.get_executor(), boost::asio::steady_timer::time_point::max()) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) { start_write(std::move(handler), b); }, token,
        buffers);
  }

  /// From now until async_flush, writes are gathered instead of written. `expected_bytes`
  /// sizes the buffer once (growing it frame by frame was a tenth of the network thread's
  /// allocations and copies).
  void hold(std::size_t expected_bytes = 0) {
    holding_ = true;
    pending_.reserve(pending_.size() + expected_bytes);
  }

  /// Ends a hold and writes everything gathered; completes when it is all on the socket (or
  /// with the error that stopped it, which every later write then gets too).
  boost::asio::awaitable<boost::system::error_code> async_flush() {
    holding_ = false;
    co_return co_await drain();
  }

  /// Bytes gathered and not yet written (tests and accounting).
  std::size_t pending_bytes() const noexcept { return pending_.size(); }

  /// Beast's close handshake ends with a teardown of the layer below: what is gathered (the
  /// close frame itself, perhaps) goes out first, then the TLS stream tears down.
  template <class Handler>
  friend void async_teardown(boost::beast::role_type role, gathering_stream& s, Handler&& handler) {
    boost::asio::co_spawn(
        s.get_executor(),
        [&s, role]() -> boost::asio::awaitable<boost::system::error_code> {
          s.holding_ = false;
          co_await s.drain();
          // The write error, if any, is the peer's going away: the teardown reports its own.
          auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
          auto [ec] = co_await boost::asio::async_initiate<decltype(token), void(boost::system::error_code)>(
              [role, &next = s.next_](auto h) {
                using boost::beast::websocket::async_teardown;
                async_teardown(role, next, std::move(h));
              },
              token);
          co_return ec;
        },
        [h = std::forward<Handler>(handler)](std::exception_ptr e, boost::system::error_code ec) mutable {
          if (e) ec = boost::asio::error::operation_aborted;
          std::move(h)(ec);
        });
  }

 private:
  static constexpr auto as_tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

  template <class Handler, class ConstBuffers>
  void start_write(Handler handler, const ConstBuffers& buffers) {
    const auto ex = get_executor();
    if (failed_) {
      boost::asio::post(ex, boost::asio::append(std::move(handler), failed_, std::size_t{0}));
      return;
    }
    if (holding_ || busy_) {
      const std::size_t n = boost::asio::buffer_size(buffers);
      const std::size_t at = pending_.size();
      pending_.resize(at + n);
      boost::asio::buffer_copy(boost::asio::buffer(pending_.data() + at, n), buffers);
      boost::asio::post(ex, boost::asio::append(std::move(handler), boost::system::error_code{}, n));
      return;
    }
    // Nothing held and nothing in flight: straight through (Beast's control frames between
    // bursts).
    busy_ = true;
    next_.async_write_some(buffers, [this, h = std::move(handler)](boost::system::error_code ec,
                                                                   std::size_t n) mutable {
      finished_physical_write(ec);
      std::move(h)(ec, n);
    });
  }

  void finished_physical_write(const boost::system::error_code& ec) {
    busy_ = false;
    if (ec && !failed_) failed_ = ec;
    idle_.cancel();  // wakes whoever waits for the stream below (a flush, a teardown)
  }

  /// Writes the gathered bytes, and whatever is appended meanwhile, once the physical write in
  /// progress (if any) is done.
  boost::asio::awaitable<boost::system::error_code> drain() {
    for (;;) {
      if (failed_) co_return failed_;
      if (busy_) {
        // The timer never expires: cancel() is the signal, and it wakes every waiter.
        co_await idle_.async_wait(as_tuple_awaitable);
        continue;
      }
      if (pending_.empty()) co_return boost::system::error_code{};
      std::string out;
      out.swap(pending_);  // the buffer is released after the write: idle connections keep none
      busy_ = true;
      auto [ec, n] = co_await boost::asio::async_write(next_, boost::asio::buffer(out), as_tuple_awaitable);
      finished_physical_write(ec);
    }
  }

  NextLayer next_;
  boost::asio::steady_timer idle_;  // cancelled each time a physical write ends
  std::string pending_;             // gathered, not yet written
  boost::system::error_code failed_;
  bool holding_ = false;
  bool busy_ = false;  // a physical write is in progress on next_
};

}  // namespace relais::net
