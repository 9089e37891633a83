#include "relais/protocol/version.hpp"

namespace relais::protocol {

std::string_view software_version() noexcept { return "0.1.0"; }

}  // namespace relais::protocol
