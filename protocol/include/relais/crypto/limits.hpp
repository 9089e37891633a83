#pragma once

#include <cstddef>
#include <cstdint>

/// Every limit of relais_crypto in one place, each with its unit and reason (CRYPTO.md §4).
namespace relais::crypto::limits {

/// Messages: the most message keys one header may make us derive in one chain (Signal's
/// MAX_SKIP); bounds the work a forged header can cause.
inline constexpr std::uint32_t max_skip = 1000;
/// Keys: the most skipped message keys a session stores; oldest evicted beyond it (bounds memory
/// to about 80 KiB per session).
inline constexpr std::size_t max_skipped_keys = 2000;
/// Chains: receiving chains remembered (current + previous) for skipped keys and duplicate
/// detection.
inline constexpr std::size_t max_receiving_chains = 5;
/// Seconds: a skipped key older than this is dropped (30 days: a late message after that is lost
/// rather than keeping old keys around forever, which would weaken forward secrecy).
inline constexpr std::uint64_t skipped_key_max_age_s = 30ULL * 24 * 3600;
/// Bytes: padding bucket of every message (hides exact lengths from the server).
inline constexpr std::size_t pad_block = 256;
/// Bytes: largest plaintext of one message (padded: 65536); larger content goes as attachments.
inline constexpr std::size_t max_plaintext = 65535;
/// Bytes: largest display name in a worker certificate (one u8 length, kept short for the UI).
inline constexpr std::size_t max_display_name = 64;
/// Bytes: largest conversation id in a transfer message (one u8 length).
inline constexpr std::size_t max_conversation_id = 255;
/// Argon2id passes for resume codes and keystores (libsodium's MODERATE-like cost in a browser).
inline constexpr unsigned long long argon2_opslimit = 3;
/// Bytes: Argon2id memory for resume codes and keystores (64 MiB).
inline constexpr std::size_t argon2_memlimit = 64ULL * 1024 * 1024;
/// Bytes: largest backup/keystore plaintext accepted (16 MiB: history of a long follow-up).
inline constexpr std::size_t max_blob_plaintext = 16ULL * 1024 * 1024;

}  // namespace relais::crypto::limits
