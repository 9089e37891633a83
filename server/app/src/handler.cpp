#include "relais/app/handler.hpp"

#include "relais/core/connection.hpp"

namespace relais::app {
namespace {

/// The production time source: the monotonic clock, and the wall clock for schedules.
class system_clock final : public core::clock {
 public:
  core::time_point now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_seconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

/// Carries core's protocol decisions out on one WebSocket: the glue between net and core.
class protocol_handler final : public net::ws_handler {
 public:
  protocol_handler(std::weak_ptr<net::ws_peer> peer, const core::clock& clock, core::random_source& random,
                   core::connection_limits limits)
      : peer_(std::move(peer)), conn_(clock, random, limits) {
    apply(conn_.open());
  }
  void on_text(std::string_view frame) override { apply(conn_.on_frame(frame)); }
  void on_timer() override { apply(conn_.on_timer()); }
  void on_closed() override {}

 private:
  void apply(core::effects e) {
    auto peer = peer_.lock();
    if (!peer) return;
    for (auto& f : e.frames) peer->send(std::make_shared<const std::string>(std::move(f)));
    if (e.close) peer->close(e.close->code, std::move(e.close->reason));
    if (e.timer) peer->set_timer(std::chrono::duration_cast<std::chrono::milliseconds>(*e.timer));
  }

  std::weak_ptr<net::ws_peer> peer_;
  core::connection conn_;  // strand-only, like the handler itself
};

}  // namespace

net::ws_handler_factory make_handler_factory(core::connection_limits limits) {
  static system_clock clock;
  static crypto::system_random random;  // libsodium's CSPRNG; thread-safe
  return [limits](std::weak_ptr<net::ws_peer> peer, const net::connection_info&) {
    return std::make_unique<protocol_handler>(std::move(peer), clock, random, limits);
  };
}

}  // namespace relais::app
