#include "relais/app/handler.hpp"

namespace relais::app {
namespace {

// Until the protocol state machine is wired in, a connection is held open and its frames are
// dropped. (Replaced by core's connection in the protocol work of issue 3.)
class idle_handler final : public net::ws_handler {
 public:
  void on_text(std::string_view) override {}
  void on_closed() override {}
};

}  // namespace

net::ws_handler_factory make_handler_factory() {
  return [](std::weak_ptr<net::ws_peer>, const net::connection_info&) { return std::make_unique<idle_handler>(); };
}

}  // namespace relais::app
