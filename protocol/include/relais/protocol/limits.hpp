#pragma once

#include <cstddef>
#include <cstdint>

// Every limit of wire protocol v1 in one place (protocol/PROTOCOL.md §10). The codec enforces
// them on decode; peers rely on them; changing one is a new protocol version.

namespace relais::protocol::limits {

// ---------------------------------------------------------------- frame and JSON structure

/// Largest frame payload (bytes). Bounds per-connection read memory; the largest field
/// (45 KiB of ciphertext = 61,440 base64 characters) plus its envelope fits.
inline constexpr std::size_t max_frame_bytes = 65536;

/// Deepest JSON nesting (levels; the frame object is level 1). The deepest v1 message (an
/// array of objects in the frame) needs 3; checked while parsing so that a hostile nest
/// costs nothing.
inline constexpr std::size_t max_depth = 4;

/// Most JSON values in one frame (values). Bounds the parser's memory independently of the
/// schema; the largest legitimate frame (a 256-cursor `sync`) has about 770.
inline constexpr std::size_t max_json_values = 4096;

/// Largest integer on the wire (2^53 - 1): every integer is exact in JavaScript.
inline constexpr std::int64_t max_safe_integer = 9007199254740991;

// ---------------------------------------------------------------- identifiers and text

/// Request id length (characters of [A-Za-z0-9_-]); long enough for a UUID.
inline constexpr std::size_t max_rid_chars = 64;

/// Client message id length (characters of [A-Za-z0-9_-]); 16 random bytes encode to 22, the
/// minimum keeps accidental collisions of the idempotency key negligible.
inline constexpr std::size_t min_client_msg_id_chars = 16;
inline constexpr std::size_t max_client_msg_id_chars = 64;

/// Short labels: username, device, display name, software names (bytes of UTF-8).
inline constexpr std::size_t max_label_bytes = 64;

/// Password (bytes of UTF-8): long passphrases welcome, Argon2 input bounded.
inline constexpr std::size_t max_password_bytes = 1024;

/// TOTP code (digits; RFC 6238 allows 6 to 8).
inline constexpr std::size_t min_totp_digits = 6;
inline constexpr std::size_t max_totp_digits = 8;

/// Human-readable error message (bytes); for logs and developers, never content.
inline constexpr std::size_t max_error_message_bytes = 256;

/// URIs and URLs (bytes): otpauth URI, contribution URL.
inline constexpr std::size_t max_uri_bytes = 512;

/// Emergency numbers in a permanence status (entries) and their text (bytes).
inline constexpr std::size_t max_emergency_numbers = 16;
inline constexpr std::size_t max_phone_number_bytes = 32;
inline constexpr std::size_t max_emergency_label_bytes = 128;

// ---------------------------------------------------------------- byte strings (decoded)

/// Ed25519 and X25519 public keys, challenges, session tokens, backup lookup ids (bytes).
inline constexpr std::size_t key_bytes = 32;
inline constexpr std::size_t challenge_bytes = 32;
inline constexpr std::size_t token_bytes = 32;
inline constexpr std::size_t lookup_bytes = 32;

/// Ed25519 signatures (bytes).
inline constexpr std::size_t signature_bytes = 64;

/// Conversation ciphertext (bytes): 61,440 base64 characters plus the envelope stay under
/// max_frame_bytes; with CRYPTO.md's 256-byte padding, plaintexts up to 45,823 bytes.
inline constexpr std::size_t max_ciphertext_bytes = 46080;

/// Inbox ciphertext (bytes): less than a conversation's, leaving room for 16 wrapped keys.
inline constexpr std::size_t max_inbox_ciphertext_bytes = 40960;

/// Small signed or wrapped structures (bytes): inbox wrapped keys, transfer control
/// messages, worker certificates (CRYPTO.md: at most 386, 410 and 229 bytes).
inline constexpr std::size_t max_small_blob_bytes = 512;

/// Encrypted pre-chat answers (bytes).
inline constexpr std::size_t max_prechat_bytes = 4096;

/// Encrypted backup blob (bytes): one frame.
inline constexpr std::size_t max_backup_bytes = 46080;

// ---------------------------------------------------------------- arrays (items)

/// Protocol versions offered in `hello` (items) and their range.
inline constexpr std::size_t max_versions = 8;
inline constexpr std::int64_t max_version_number = 65535;

/// One-time prekeys per `keys.publish` (items): one upload batch (CRYPTO.md §11).
inline constexpr std::size_t max_one_time_prekeys = 100;

/// Largest one-time prekey id; 0xFFFFFFFF means "none" (CRYPTO.md §2).
inline constexpr std::int64_t max_opk_id = 0xFFFFFFFE;
/// Largest signed prekey id (u32).
inline constexpr std::int64_t max_spk_id = 0xFFFFFFFF;

/// Queue entries in one `queue.snapshot` (items): the console shows the head of the queue.
inline constexpr std::size_t max_snapshot_entries = 50;

/// Windows in each list of one `shift.week` (items): a week of split shifts fits many times.
inline constexpr std::size_t max_week_windows = 64;
/// Days of the schedule one `shift.schedule` may ask for.
inline constexpr std::int64_t max_schedule_days = 31;
/// Bytes of an IANA time zone name in `shift.week`.
inline constexpr std::size_t max_time_zone_bytes = 64;

/// Messages in one `history.page` and the largest `history.get` limit (items).
inline constexpr std::size_t max_history_messages = 100;

/// Items in one `inbox.messages` page and the largest `inbox.list` limit (items).
inline constexpr std::size_t max_inbox_items = 50;

/// Cursors in `sync` and conversations in `sync.done` (items).
inline constexpr std::size_t max_sync_conversations = 256;

/// Recipient workers of one inbox message (items).
inline constexpr std::size_t max_inbox_recipients = 16;

/// Workers listed in `inbox.recipients` (items).
inline constexpr std::size_t max_recipient_workers = 32;

// ---------------------------------------------------------------- number ranges

/// Queue position (1 = next) and other counts (items): far above any configured queue.
inline constexpr std::int64_t max_count = 1000000;

/// Estimated waits (seconds): one week; anything longer is not an estimate.
inline constexpr std::int64_t max_wait_seconds = 604800;

/// Retry hints (milliseconds): one day.
inline constexpr std::int64_t max_retry_after_ms = 86400000;

/// Workers on call shown in a permanence status (workers).
inline constexpr std::int64_t max_workers_on_call = 10000;

/// Conversations at once for automatic assignment (conversations).
inline constexpr std::int64_t max_capacity = 32;

}  // namespace relais::protocol::limits
