#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "relais/protocol/codec.hpp"
#include "relais/protocol/messages.hpp"
#include "relais/protocol/version.hpp"

// Helpers for the connection handshake and authentication of PROTOCOL.md §4-§5, shared by
// relaisd, relais-cli and the bench tool so that none of them re-derives the rules.

namespace relais::protocol {

/// The label that starts a beneficiary's signing input (PROTOCOL.md §5).
inline constexpr std::string_view beneficiary_auth_label = "Relais_BeneficiaryAuth_v1";

/// Size of the signing input: label (25) + challenge (32).
inline constexpr std::size_t beneficiary_auth_input_bytes = 57;

/// The highest version present in both `offered` (a `hello`) and `supported`, or nullopt.
[[nodiscard]] std::optional<std::int64_t> negotiate_version(
    std::span<const std::int64_t> offered,
    std::span<const std::int64_t> supported = supported_versions) noexcept;

/// The bytes a beneficiary signs with its Ed25519 identity key to answer `challenge`.
[[nodiscard]] std::array<std::uint8_t, beneficiary_auth_input_bytes>
beneficiary_auth_signing_input(std::span<const std::uint8_t, 32> challenge) noexcept;

/// Same from a `welcome.challenge`; error::invalid_value if it is not 32 bytes.
[[nodiscard]] std::array<std::uint8_t, beneficiary_auth_input_bytes>
beneficiary_auth_signing_input(const encoded_bytes& challenge, std::error_code& ec) noexcept;

/// The `welcome` answering `hello`, or nullopt if no version is common (then send
/// make_unsupported_version() and close with close_code::unsupported_version).
/// `challenge` must be 32 fresh random bytes from the injected randomness.
[[nodiscard]] std::optional<welcome> make_welcome(const hello& h,
                                                  std::span<const std::uint8_t, 32> challenge,
                                                  std::optional<std::string> server_name = {});

/// An `error` message for `code` (name filled from the table), echoing `rid`.
[[nodiscard]] error_message make_error(error code, std::optional<std::string> rid = {},
                                       std::optional<std::string> text = {});

/// The `error` refusing a `hello` without a common version, listing `supported`.
[[nodiscard]] error_message make_unsupported_version(
    std::optional<std::string> rid = {},
    std::span<const std::int64_t> supported = supported_versions);

/// The `error` for a failed decode: the code if it is a protocol error (else
/// internal_error), the rid and the offending field from the diagnostics.
[[nodiscard]] error_message make_decode_error(std::error_code ec,
                                              const decode_diagnostics* diagnostics);

/// Whether a client of `role`, authenticated or not, may send a message of access `a`
/// (PROTOCOL.md §4). Returns the error to answer with, or an empty code.
/// `welcomed` is false until `welcome` was sent.
[[nodiscard]] std::error_code check_access(access a, bool welcomed, bool authenticated,
                                           peer_role role) noexcept;

}  // namespace relais::protocol
