#pragma once

#include <cstdint>
#include <string>

#include "relais/crypto/keys.hpp"

/// The organisation's offline tools of the trust model (CRYPTO.md §7): the org key pair and the
/// worker certificates it signs.
namespace relais::cli {

/// Validity of a certificate when --days is not given: CRYPTO.md §7 suggests one year.
inline constexpr std::uint64_t default_certificate_days = 365;

/// `relais-cli org keygen --out FILE`: writes a new org key pair (mode 0600, never overwrites)
/// and prints its public key and fingerprint as one JSON line.
int run_org_keygen(const std::string& out_path);

/// `relais-cli org certify`: prints the base64url worker certificate of `identity_key_b64`.
int run_org_certify(const std::string& org_key_path, const std::string& identity_key_b64, const std::string& name,
                    std::uint64_t days);

/// Reads an org key file written by run_org_keygen; false with `error` set otherwise.
[[nodiscard]] bool load_org_key(const std::string& path, crypto::identity_key_pair& out, std::string& error);

/// Signs a certificate for `worker_identity`, valid from now for `days`; false with `error` set.
[[nodiscard]] bool certify(const crypto::identity_key_pair& org, const crypto::public_key& worker_identity,
                           const std::string& name, std::uint64_t days, crypto::bytes& out, std::string& error);

/// Decodes a base64url Ed25519 public key that converts to X25519; false otherwise.
[[nodiscard]] bool parse_public_key(const std::string& b64, crypto::public_key& out);

/// Seconds since the Unix epoch (the certificates' clock).
[[nodiscard]] std::uint64_t unix_now();

}  // namespace relais::cli
