#pragma once

#include <cstddef>
#include <cstdint>

// Every limit of relais_auth in one place, each with its unit and its reason.

namespace relais::auth::limits {

/// Argon2id passes (crypto_pwhash_OPSLIMIT_INTERACTIVE). A small server where logins are rare
/// (a worker logs in once per device and then resumes with a token): the interactive cost,
/// about 0.11 s per verification on the 2-core target machine (median of 20), keeps a login
/// quick while every guess of an offline attacker holding the database costs the same 64 MiB
/// and time. Stronger settings (MODERATE: 256 MiB, ~0.5 s) would make a login flood or two
/// concurrent logins weigh on a small server for little gain with TOTP required.
inline constexpr std::uint64_t default_argon2_opslimit = 2;

/// Argon2id memory in bytes (crypto_pwhash_MEMLIMIT_INTERACTIVE, 64 MiB). Each concurrent
/// verification holds this much, which is why the hashing pool is small and bounded.
inline constexpr std::size_t default_argon2_memlimit = 64U * 1024U * 1024U;

/// Hashing threads by default (threads). One hash at a time keeps the memory at 64 MiB and
/// leaves the second core to the relay; logins are rare.
inline constexpr std::size_t default_hash_threads = 1;

/// Most hashing threads (threads): 2 x 64 MiB at most, and the target machine has 2 cores.
inline constexpr std::size_t max_hash_threads = 2;

/// Verifications waiting for a hashing thread by default (requests). 64 x ~0.11 s is about
/// 7 s of work with one thread: past it a login is refused at once with server_busy rather
/// than waiting longer than a person would, and a login flood costs bounded memory (the
/// waiting requests hold only their strings, not the 64 MiB).
inline constexpr std::size_t default_max_pending = 64;

/// The largest accepted pending-queue setting (requests); beyond, a misconfiguration.
inline constexpr std::size_t max_max_pending = 4096;

/// Password length bounds of the admin command (bytes). 12 is the floor of current guidance
/// for passwords guarded by a second factor; 1024 is PROTOCOL.md's limit on auth.login.
inline constexpr std::size_t min_password_bytes = 12;
inline constexpr std::size_t max_password_bytes = 1024;

/// Username bounds (bytes of [a-z0-9._-]): PROTOCOL.md's limit on auth.login.
inline constexpr std::size_t min_username_bytes = 1;
inline constexpr std::size_t max_username_bytes = 64;

/// Display name bounds (bytes of UTF-8): PROTOCOL.md's limit on auth.ok's display_name.
inline constexpr std::size_t min_display_name_bytes = 1;
inline constexpr std::size_t max_display_name_bytes = 64;

/// TOTP shared secret (bytes): RFC 4226 recommends 160 bits, the HMAC-SHA1 block it keys.
inline constexpr std::size_t totp_secret_bytes = 20;

/// TOTP time step (seconds) and code length (digits): what every authenticator app assumes
/// when the URI says nothing, and what the URI says explicitly.
inline constexpr std::int64_t totp_period_seconds = 30;
inline constexpr int totp_digits = 6;

/// Steps of clock drift accepted either way (steps): one step (30 s) covers a phone whose
/// clock is slightly off and a code typed just as it changes, as RFC 6238 §5.2 recommends.
inline constexpr std::int64_t totp_window_steps = 1;

/// The widest window match_totp accepts (steps): ten steps (5 minutes) either way is already
/// far beyond any sane drift; a larger setting is a bug, refused rather than obeyed.
inline constexpr std::int64_t max_totp_window_steps = 10;

/// Most digits HOTP can yield (digits): 10^9 still fits the 31-bit truncated value.
inline constexpr int max_hotp_digits = 9;

/// Longest otpauth URI (bytes): PROTOCOL.md's limit on auth.totp_secret's otpauth_uri, and
/// what a QR code at a readable size comfortably holds.
inline constexpr std::size_t max_otpauth_uri_bytes = 512;

}  // namespace relais::auth::limits
