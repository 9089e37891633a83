#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Plain value types exchanged with the store. Backend-neutral on purpose: ids and sequence
// numbers are 64-bit integers (SQLite INTEGER, PostgreSQL bigint), times are given by the
// caller (the store never reads the wall clock for a decision), opaque bytes are std::string.

namespace relais::core {

/// Opaque octets (ciphertext envelopes, public keys, hashes); never interpreted by the store.
using bytes = std::string;
/// Milliseconds since the Unix epoch, always supplied by the caller (injected clock).
using unix_ms = std::int64_t;
/// Store-assigned conversation id (> 0).
using conversation_id = std::int64_t;
/// Per-conversation server sequence number: 1, 2, 3, ... with no gap; 0 means "none yet".
using sequence_number = std::int64_t;
/// Store-assigned worker account id (> 0); 0 means "no worker".
using worker_id = std::int64_t;
/// Store-assigned id of a permanence queue entry (> 0).
using queue_entry_id = std::int64_t;
/// Store-assigned id of an inbox entry (> 0).
using inbox_entry_id = std::int64_t;

// ---------------------------------------------------------------- conversations, messages

/// Which side of a conversation a participant is on.
enum class participant_role : std::uint8_t { beneficiary = 0, worker = 1 };

/// One member of a conversation with its delivery cursors.
struct participant {
  bytes identity_key;                ///< Ed25519 identity key: the participant's identity
  participant_role role = participant_role::beneficiary;
  worker_id worker = 0;              ///< the account behind a worker participant, else 0
  unix_ms joined_at = 0;
  unix_ms left_at = 0;               ///< 0 while still a member (a transfer sets it)
  sequence_number delivered_seq = 0; ///< highest seq the participant's client confirmed received
  sequence_number read_seq = 0;      ///< highest seq the participant reported read
  /// The conversation's last_seq when this participant joined: 0 for the first participants,
  /// the seq reached at the transfer for a worker who joined by transfer_conversation. Stable
  /// (receipts move delivered_seq/read_seq, never this): messages with seq <= joined_seq were
  /// encrypted for someone else (CRYPTO.md §8), so a replay for this participant starts after
  /// it. Ignored by create_conversation and add_participant (stored as 0).
  sequence_number joined_seq = 0;
};

/// A conversation: one beneficiary with one worker at a time, possibly transferred.
struct conversation {
  conversation_id id = 0;
  bytes beneficiary_key;
  unix_ms created_at = 0;
  unix_ms ended_at = 0;              ///< 0 while active; retention counts from here
  sequence_number last_seq = 0;
  std::vector<participant> participants;
};

/// What create_conversation needs; the store assigns the id.
struct new_conversation {
  bytes beneficiary_key;
  std::vector<participant> participants; ///< cursors are ignored (start at 0)
  unix_ms created_at = 0;
};

/// A worker handing a conversation to a colleague (PROTOCOL.md conversation.transfer), done
/// in one transaction by transfer_conversation: the current worker leaves, `to` joins.
struct transfer_request {
  conversation_id conversation = 0;
  worker_id from_worker = 0;         ///< a current (not left) worker participant
  /// The colleague: identity_key, role worker and worker id are used; joined_at is set to
  /// `at`, left_at to 0, and delivered_seq = read_seq = joined_seq = the conversation's
  /// last_seq at the transfer (see transfer_conversation).
  participant to;
  unix_ms at = 0;
};

/// A ciphertext envelope to append; (conversation, client_message_id) makes it idempotent.
struct append_request {
  conversation_id conversation = 0;
  bytes client_message_id;           ///< chosen by the sending client, unique per conversation
  bytes sender_key;                  ///< identity key of the sender (a participant)
  bytes envelope;                    ///< opaque ciphertext, stored and relayed as is
  unix_ms received_at = 0;
};

/// The outcome of a durable append.
struct append_result {
  sequence_number seq = 0;           ///< the message's seq (the original one for a duplicate)
  bool duplicate = false;            ///< true if this client message id was already stored
};

/// A stored message as read back.
struct stored_message {
  conversation_id conversation = 0;
  sequence_number seq = 0;
  bytes client_message_id;
  bytes sender_key;
  bytes envelope;
  unix_ms received_at = 0;
};

/// A page of one conversation's messages with seq > after_seq, in seq order.
struct message_page_query {
  conversation_id conversation = 0;
  sequence_number after_seq = 0;
  std::size_t limit = 0;             ///< at most limits::max_page_messages
};

/// Messages not yet delivered to a participant, across all the conversations it is in,
/// ordered by (conversation, seq); resume a long backlog from the last row returned.
struct undelivered_query {
  bytes identity_key;
  conversation_id after_conversation = 0;
  sequence_number after_seq = 0;
  std::size_t limit = 0;             ///< at most limits::max_page_messages
};

/// A receipt: move a participant's cursors forward (never backward).
struct cursor_update {
  conversation_id conversation = 0;
  bytes identity_key;
  sequence_number delivered_seq = 0; ///< 0 leaves it unchanged
  sequence_number read_seq = 0;      ///< 0 leaves it unchanged
};

// ---------------------------------------------------------------- key directory, backups

/// A published prekey bundle: signed prekey, its signature and the worker certificate,
/// kept as the opaque bytes the server verified before storing.
struct prekey_bundle {
  bytes identity_key;
  bytes bundle;
  unix_ms updated_at = 0;
};

/// One one-time prekey, handed out at most once.
struct one_time_prekey {
  std::int64_t key_id = 0;
  bytes public_key;
};

/// The answer to a bundle fetch: the bundle, at most one one-time prekey, and what is left.
struct claimed_bundle {
  prekey_bundle bundle;
  std::optional<one_time_prekey> one_time; ///< empty when none is left ("none left")
  std::int64_t remaining = 0;              ///< one-time prekeys left after this claim
};

/// An opaque encrypted backup (resume-code backup, worker key backup) by its lookup id.
struct backup_blob {
  bytes lookup_id;
  bytes blob;
  std::int64_t version = 0;          ///< 1 creates; n replaces version n-1 (else conflict)
  unix_ms updated_at = 0;
};

// ---------------------------------------------------------------- worker accounts, sessions

/// A worker account as stored (secrets are hashes or encrypted, never plain passwords).
struct worker_account {
  worker_id id = 0;
  std::string username;
  std::string display_name;          ///< shown to beneficiaries (auth.ok, conversation.opened)
  std::string password_hash;         ///< Argon2id encoded string (crypto_pwhash_str)
  bytes totp_secret;                 ///< empty until enrolled
  std::int64_t totp_last_step = 0;   ///< last accepted TOTP time step: each code usable once
  bytes identity_key;                ///< empty until the console publishes one
  bool disabled = false;
  std::int32_t failed_logins = 0;    ///< consecutive failures since the last success
  unix_ms locked_until = 0;          ///< logins refused before this time
  unix_ms created_at = 0;
};

/// Fields of a worker account to change; empty optionals are left as they are.
struct worker_update {
  worker_id id = 0;
  std::optional<std::string> display_name;
  std::optional<std::string> password_hash;
  std::optional<bytes> totp_secret;
  std::optional<bytes> identity_key;
  std::optional<bool> disabled;
};

/// A login session: the hash of its token (the token itself is never stored).
struct worker_session {
  bytes token_hash;
  worker_id worker = 0;
  std::string device;                ///< one session per (worker, device)
  unix_ms created_at = 0;
  unix_ms expires_at = 0;
  bool revoked = false;
  unix_ms revoked_at = 0;            ///< when it was revoked; 0 while valid
};

/// A session ended by a revocation (logout, admin command, account removal, replacement by a
/// new login on the same device), as logged for the processes that must close its sockets.
struct revocation {
  bytes token_hash;
  worker_id worker = 0;
  unix_ms at = 0;                    ///< when it was revoked
};

// ---------------------------------------------------------------- permanence

/// How urgent a waiting beneficiary said it is; urgent entries are served first.
enum class urgency : std::uint8_t { normal = 0, urgent = 1 };

/// Where a queue entry stands; only `waiting` entries are in the queue.
enum class queue_state : std::uint8_t {
  waiting = 0,
  assigned = 1,
  left = 2,
  timed_out = 3,
  moved_to_inbox = 4,
};

/// A beneficiary in (or formerly in) the permanence queue.
struct queue_entry {
  queue_entry_id id = 0;
  bytes beneficiary_key;
  urgency level = urgency::normal;
  bytes prechat;                     ///< encrypted pre-chat answers, opaque to the server
  unix_ms joined_at = 0;
  queue_state state = queue_state::waiting;
  worker_id assigned_worker = 0;
  conversation_id conversation = 0;  ///< set when taken
  unix_ms updated_at = 0;
};

/// A worker taking a waiting beneficiary: atomically marks the entry assigned and creates
/// the conversation, so that of two workers racing exactly one wins.
struct take_request {
  queue_entry_id entry = 0;
  worker_id worker = 0;
  bytes worker_key;                  ///< the worker's identity key (participant)
  unix_ms at = 0;
};

/// A worker's on-call mode as last set (the schedule itself lives in config).
enum class shift_mode : std::uint8_t {
  scheduled = 0,   ///< follows the configured schedule
  manual_on = 1,   ///< started by hand
  manual_off = 2,  ///< stopped by hand
  holiday = 3,     ///< holiday mode: off whatever the schedule says
};

/// A worker's persisted shift and presence state.
struct shift_state {
  worker_id worker = 0;
  shift_mode mode = shift_mode::scheduled;
  bool on_call = false;
  std::int32_t capacity = 1;         ///< conversations at once for automatic assignment
  unix_ms since = 0;
  /// When the current mode ends by itself: the end of holiday mode, or of a manual stop;
  /// 0 = none (until changed). Stored as given: core decides what it means.
  unix_ms until = 0;
};

/// Where an inbox entry stands.
enum class inbox_state : std::uint8_t { unread = 0, claimed = 1, answered = 2 };

/// One worker an inbox message is addressed to, with the content key wrapped for that worker
/// (an X3DH initial message made from the worker's bundle; opaque to the server).
struct inbox_recipient {
  worker_id worker = 0;
  bytes wrapped_key;
};

/// A message left while the permanence was closed, encrypted to the workers' published keys.
struct inbox_entry {
  inbox_entry_id id = 0;
  bytes beneficiary_key;
  bytes envelope;                    ///< the ciphertext (content key wrapped per recipient)
  unix_ms created_at = 0;
  inbox_state state = inbox_state::unread;
  worker_id claimed_by = 0;          ///< who claimed or answered it
  conversation_id conversation = 0;  ///< set when answered
  unix_ms updated_at = 0;
  /// Chosen by the beneficiary's client: (beneficiary_key, client_msg_id) makes
  /// add_inbox_entry idempotent. Empty only for entries stored before schema 3.
  std::string client_msg_id;
  /// The workers it is addressed to (1 to limits::max_stored_inbox_recipients, distinct). Reads for a
  /// worker (list_inbox_for_worker, take_inbox_entry) return only that worker's own row;
  /// list_inbox returns none.
  std::vector<inbox_recipient> recipients;
};

/// A page of the unread inbox entries addressed to one worker, in id order.
struct inbox_query {
  worker_id worker = 0;
  inbox_entry_id after_id = 0;       ///< continue after this entry; 0: from the oldest
  std::size_t limit = 0;             ///< 1 to limits::max_page_messages
};

/// A worker answering an inbox entry: atomically marks it answered and opens the
/// conversation, so that of two workers racing exactly one wins.
struct inbox_take_request {
  inbox_entry_id entry = 0;
  worker_id worker = 0;
  bytes worker_key;                  ///< the worker's identity key (participant)
  unix_ms at = 0;
};

// ---------------------------------------------------------------- retention, erasure

/// Cut-offs for the periodic purge, computed by the caller from its clock and config.
struct purge_request {
  unix_ms conversations_ended_before = 0; ///< conversations ended before this are deleted
  unix_ms queue_entries_before = 0;       ///< finished queue entries updated before this
  unix_ms inbox_answered_before = 0;      ///< answered inbox entries updated before this
  /// Inbox entries never answered (unread or claimed) created before this, e.g. the
  /// retention cut-off too (0: keep them; nobody may be left to answer an old one).
  unix_ms inbox_unanswered_before = 0;
  unix_ms sessions_expired_before = 0;    ///< sessions that expired before this
  unix_ms revocations_before = 0;         ///< revocation log entries older than this (0: keep)
};

/// How many rows a purge or an erasure removed (for the log line, never the content).
struct purge_result {
  std::int64_t conversations = 0;
  std::int64_t messages = 0;
  std::int64_t queue_entries = 0;
  std::int64_t inbox_entries = 0;
  std::int64_t sessions = 0;
  std::int64_t prekeys = 0;
  std::int64_t backups = 0;
  std::int64_t revocations = 0;
};

/// A beneficiary's erasure request (GDPR): everything tied to the identity key, plus the
/// backups it names (backups are stored by lookup id, which the server cannot link).
struct erase_request {
  bytes identity_key;
  std::vector<bytes> backup_lookup_ids;
};

}  // namespace relais::core
