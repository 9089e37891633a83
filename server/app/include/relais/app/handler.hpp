#pragma once

#include "relais/core/connection.hpp"
#include "relais/net/server.hpp"

namespace relais::app {

/// The per-connection protocol handler factory relaisd gives the network front: each
/// WebSocket gets a core::connection driven by the system clock and libsodium's randomness.
[[nodiscard]] net::ws_handler_factory make_handler_factory(core::connection_limits limits = {});

}  // namespace relais::app
