#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "options.hpp"
#include "relais/crypto/keys.hpp"
#include "relais_protocol_client.hpp"
#include "transport.hpp"

// The queue-storm mode (relais only; issue 7's measurement): many beneficiaries wait in the
// queue while a few workers each take one per second; it measures what the take phase costs
// the server (CPU per take) and how many queue.position / queue.snapshot pushes it sends.

namespace relais::bench {

/// Runs the whole mode: workers log in and start their shifts, `o.beneficiaries` authenticate
/// and join (`o.urgent_fraction` of them urgent), the queue rests a moment, then each worker
/// sends queue.take once a second for `o.duration` seconds. Fills `out` with the figures.
void run_queue_storm(io_pool& pool, const options& o, const relais_run_settings& settings,
                     const crypto::identity_key_pair& org, const std::string& password, nlohmann::json& out);

/// Prints the mode's figures from its JSON line as a small table on stderr.
void print_queue_storm_table(const nlohmann::json& j);

}  // namespace relais::bench
