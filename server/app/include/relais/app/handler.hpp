#pragma once

#include "relais/net/server.hpp"

namespace relais::app {

/// The per-connection protocol handler factory relaisd gives the network front.
[[nodiscard]] net::ws_handler_factory make_handler_factory();

}  // namespace relais::app
