#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connection.hpp"

/// The probe subcommands: one connection, print every frame received (hello, beneficiary, worker).
namespace relais::cli {

/// `relais-cli hello`: negotiate the version and print the welcome.
int run_hello(const common_options& o, const std::vector<std::int64_t>& versions, const std::string& role);

/// `relais-cli beneficiary`: authenticate with a (fresh or given) key, send raw frames, print replies.
int run_beneficiary(const common_options& o, const std::string& seed_hex, const std::vector<std::string>& frames,
                    int wait_ms);

/// `relais-cli worker`: log in with a password (and TOTP) and print the reply.
int run_worker(const common_options& o, const std::string& username, const std::string& password_file,
               const std::string& totp, const std::string& device);

}  // namespace relais::cli
