#pragma once

#include <string_view>

namespace relais::protocol {

/// The wire protocol versions this build speaks, newest first (see protocol/PROTOCOL.md).
inline constexpr int current_version = 1;

/// The software version string reported by relaisd and relais-cli.
std::string_view software_version() noexcept;

}  // namespace relais::protocol
