#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace relais::protocol {

/// The newest wire protocol version this build speaks (see protocol/PROTOCOL.md).
inline constexpr int current_version = 1;

/// Every wire protocol version this build speaks, newest first (negotiated in `welcome`).
inline constexpr std::array<std::int64_t, 1> supported_versions{1};

/// The software version string reported by relaisd and relais-cli.
std::string_view software_version() noexcept;

}  // namespace relais::protocol
