#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "options.hpp"
#include "relais/crypto/keys.hpp"
#include "relais_protocol_client.hpp"
#include "transport.hpp"

// The evening mode (relais only): a helpline evening in miniature. Beneficiaries arrive over
// time, wait in the queue, are taken by workers on shift (queue.take as a slot frees up, or the
// server's automatic assignment), chat end to end encrypted at human pace, some drop their
// connection and resume with `sync`, and the worker ends each conversation after a while. It
// measures the wait, the delivery latency, what reconnections cost, the server's CPU and RSS,
// and checks that no acknowledged message was lost or duplicated.

namespace relais::bench {

/// Runs the whole mode on io thread 0 of `pool` (started already). Fills `out` with the
/// figures; returns false when a message was lost or duplicated, a seq was missing or a
/// conversation could not be settled (the run failed: `out["failed"]` is true).
[[nodiscard]] bool run_evening(io_pool& pool, const options& o, const relais_run_settings& settings,
                               const crypto::identity_key_pair& org, const std::string& password, nlohmann::json& out);

/// Prints the mode's figures from its JSON line as a small table on stderr.
void print_evening_table(const nlohmann::json& j);

}  // namespace relais::bench
