#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace relais::crypto::test {

/// Generates the golden ratchet transcript (format in /tmp spec, CRYPTO.md §12): 1000 messages
/// in both directions with DH ratchet steps, reordering, losses and duplicates. The network
/// schedule comes from `schedule_seed`; all keys come from fixed seeds in the file.
[[nodiscard]] nlohmann::json generate_transcript(std::uint32_t schedule_seed);

/// Replays a transcript (from either implementation) with relais_crypto; returns a description
/// of the first mismatch, or nullopt if every event matched.
[[nodiscard]] std::optional<std::string> verify_transcript(const nlohmann::json& transcript);

}  // namespace relais::crypto::test
