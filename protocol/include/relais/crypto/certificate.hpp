#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "relais/crypto/keys.hpp"

namespace relais::crypto {

/// A worker certificate: the organisation key's signature over a worker's identity key, a
/// display name and a validity period (CRYPTO.md §7).
struct worker_certificate {
  public_key org_key{};
  public_key worker_identity{};
  std::uint64_t not_before = 0;
  std::uint64_t not_after = 0;
  std::string display_name;
};

/// The org fingerprint the embed snippet pins: base64url(SHA-256(org public key)), 43 chars.
[[nodiscard]] std::string org_fingerprint(const public_key& org_key);

/// Signs a certificate with the org key; malformed_input if the name exceeds 64 bytes or
/// not_before > not_after.
[[nodiscard]] std::error_code sign_worker_certificate(const identity_key_pair& org, const worker_certificate& cert,
                                                      bytes& out);

/// Parses and verifies a certificate against the pinned org key at time `now` (unix seconds).
[[nodiscard]] std::error_code verify_worker_certificate(bytes_view cert_bytes, const public_key& pinned_org_key,
                                                        std::uint64_t now, worker_certificate& out);

/// A transfer of a conversation to another worker, signed by the current worker (CRYPTO.md §8).
struct transfer_message {
  std::string conversation_id;
  public_key from_worker{};
  public_key to_worker{};
  std::uint64_t issued_at = 0;
};

/// Signs a transfer with the current worker's identity key (its public key must be from_worker).
[[nodiscard]] std::error_code sign_transfer(const identity_key_pair& from, const transfer_message& transfer,
                                            bytes& out);

/// Parses and verifies a transfer: signature by `current_worker`, which must be from_worker.
[[nodiscard]] std::error_code verify_transfer(bytes_view message, const public_key& current_worker,
                                              transfer_message& out);

}  // namespace relais::crypto
