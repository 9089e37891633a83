#pragma once

#include <functional>
#include <system_error>
#include <vector>

#include "relais/core/store_error.hpp"
#include "relais/core/store_limits.hpp"
#include "relais/core/store_types.hpp"

// The durable store as core needs it (issue 5). Core declares it, server/store implements
// it (SQLite now, PostgreSQL later), so core never sees a database.
//
// Every operation is asynchronous: it returns at once and later calls its completion handler
// exactly once, with an error or with the value. Completion handlers run on a store thread
// (the writer for writes, a reader for reads), or on the caller's thread before the call
// returns when the store refuses at once (store_errc::busy when its queue is full, closed). A
// handler must be short: post the result to the session's strand and return, because the
// writer runs the next group commit only after the handlers of the previous one.
//
// A write reported as successful is durable (committed and flushed to stable storage).
// A write reported as failed with a transient error (is_transient_store_failure) may or may
// not be on disk (a failed fsync cannot tell): the sender gets a negative ack and retries with
// the same client message id, which the idempotent append then deduplicates.

namespace relais::core {

/// Completion of an operation that returns a value.
template <typename T>
using store_handler = std::function<void(std::error_code, T)>;
/// Completion of an operation that returns nothing.
using store_done_handler = std::function<void(std::error_code)>;

/// Conversations, their participants, the messages in them and the delivery cursors.
class message_store {
 public:
  virtual ~message_store() = default;

  /// Creates a conversation with its first participants; yields its id.
  virtual void create_conversation(new_conversation c, store_handler<conversation_id> done) = 0;
  /// The conversation with its participants and cursors; not_found if absent. A primary-key
  /// read plus the participants of that one conversation.
  virtual void get_conversation(conversation_id id, store_handler<conversation> done) = 0;
  /// Conversations the identity key participates in (has not left), ended ones if asked,
  /// each with all its participants and their cursors, by id.
  virtual void list_conversations(bytes identity_key, bool include_ended,
                                  store_handler<std::vector<conversation>> done) = 0;
  /// Adds a participant (a transfer's new worker); already_exists if present.
  virtual void add_participant(conversation_id id, participant p, store_done_handler done) = 0;
  /// Marks a participant as having left at `at` (a transfer's old worker).
  virtual void leave_conversation(conversation_id id, bytes identity_key, unix_ms at,
                                  store_done_handler done) = 0;
  /// Hands a conversation from one worker to another, in one transaction: the participant
  /// whose worker is `from_worker` and who has not left gets left_at = at, and `to` joins
  /// with joined_at = at and delivered_seq = read_seq = joined_seq = the conversation's
  /// last_seq at that moment, so only messages appended after the transfer are undelivered
  /// to the new worker (read_undelivered) and his receipts for earlier seqs change nothing;
  /// history before it is his only by re-encryption from the first worker (CRYPTO.md §8).
  /// A worker transferred back to a conversation he left rejoins his earlier row (left_at
  /// back to 0, joined_at and joined_seq renewed, cursors never moved backward).
  /// not_found: no such conversation. conflict: it has ended, from_worker is not a current
  /// participant, or `to` (its identity key or worker id) already is one.
  /// invalid_argument: `to` is not a worker participant with an identity key and a worker id.
  virtual void transfer_conversation(transfer_request request, store_done_handler done) = 0;
  /// Ends a conversation at `at`; the retention period counts from there.
  virtual void end_conversation(conversation_id id, unix_ms at, store_done_handler done) = 0;

  /// Appends a message durably and assigns its seq; idempotent by (conversation, client
  /// message id): a repeat yields the original seq with duplicate = true, even after the
  /// conversation ended. not_found if the conversation does not exist, conflict (nothing
  /// stored) if it has ended. The handler runs after the group commit's fsync.
  virtual void append_message(append_request request, store_handler<append_result> done) = 0;
  /// A page of messages after a seq, in order.
  virtual void read_messages(message_page_query query,
                             store_handler<std::vector<stored_message>> done) = 0;
  /// Messages past the participant's delivered cursor, in every conversation it has not left,
  /// excluding its own, in (conversation, seq) order.
  virtual void read_undelivered(undelivered_query query,
                                store_handler<std::vector<stored_message>> done) = 0;
  /// Moves delivered/read cursors forward; never backward; invalid_argument past last_seq.
  virtual void update_cursor(cursor_update update, store_done_handler done) = 0;
};

/// Prekey bundles, one-time prekeys and the opaque encrypted backups.
class key_store {
 public:
  virtual ~key_store() = default;

  /// Stores or replaces an identity's bundle (one-time prekeys are kept).
  virtual void publish_bundle(prekey_bundle bundle, store_done_handler done) = 0;
  /// Adds one-time prekeys to a published bundle; yields the count now available.
  /// already_exists if a key id repeats; not_found without a bundle.
  virtual void add_one_time_prekeys(bytes identity_key, std::vector<one_time_prekey> keys,
                                    store_handler<std::int64_t> done) = 0;
  /// Fetches the bundle and removes one one-time prekey atomically: each key is handed out at
  /// most once, whatever the concurrency. not_found without a bundle.
  virtual void claim_bundle(bytes identity_key, store_handler<claimed_bundle> done) = 0;
  /// How many one-time prekeys an identity has left.
  virtual void count_one_time_prekeys(bytes identity_key, store_handler<std::int64_t> done) = 0;

  /// Stores a backup blob by its lookup id if its version follows the stored one: version 1
  /// creates (none may exist), version n replaces version n - 1; anything else is conflict.
  /// Putting the stored version again with the same blob succeeds (a retried request).
  virtual void put_backup(backup_blob blob, store_done_handler done) = 0;
  /// The backup stored under a lookup id, with its version; not_found if none.
  virtual void get_backup(bytes lookup_id, store_handler<backup_blob> done) = 0;
  /// Deletes a backup; not_found if none.
  virtual void delete_backup(bytes lookup_id, store_done_handler done) = 0;
};

/// Worker accounts and their login sessions.
class account_store {
 public:
  virtual ~account_store() = default;

  /// Creates an account (id ignored); already_exists if the username is taken.
  virtual void create_worker(worker_account account, store_handler<worker_id> done) = 0;
  virtual void get_worker(worker_id id, store_handler<worker_account> done) = 0;
  virtual void find_worker(std::string username, store_handler<worker_account> done) = 0;
  /// The account whose published identity key is `identity_key`; not_found if none.
  virtual void find_worker_by_identity(bytes identity_key, store_handler<worker_account> done) = 0;
  virtual void list_workers(store_handler<std::vector<worker_account>> done) = 0;
  virtual void update_worker(worker_update update, store_done_handler done) = 0;
  /// Counts a failed login; sets locked_until; yields the new consecutive failure count.
  virtual void record_login_failure(worker_id id, unix_ms locked_until,
                                    store_handler<std::int32_t> done) = 0;
  /// Clears the failure count and lock after a successful login.
  virtual void reset_login_failures(worker_id id, store_done_handler done) = 0;
  /// Accepts a TOTP time step once: conflict if this step or a later one was already used.
  virtual void consume_totp_step(worker_id id, std::int64_t step, store_done_handler done) = 0;
  /// Deletes the account with its sessions, shift state, bundle and one-time prekeys;
  /// conversations keep their history (owned by the beneficiary) without the account link.
  /// Its live sessions are logged as revoked at `at` (list_revoked_since).
  virtual void remove_worker(worker_id id, unix_ms at, store_done_handler done) = 0;
  /// As above, stamped with the store's system clock (prefer passing `at`).
  virtual void remove_worker(worker_id id, store_done_handler done) = 0;

  /// Stores a session; replaces the worker's session on the same device and yields the
  /// replaced token hash (empty if none) so that net closes its sockets.
  virtual void create_session(worker_session session, store_handler<bytes> done) = 0;
  /// The session by token hash; not_found if absent (revoked and expired ones are returned,
  /// flagged, for core to refuse).
  virtual void find_session(bytes token_hash, store_handler<worker_session> done) = 0;
  /// Revokes a session at `at` and logs it; not_found if absent. Revoking again keeps the
  /// first time.
  virtual void revoke_session(bytes token_hash, unix_ms at, store_done_handler done) = 0;
  /// As above, stamped with the store's system clock (prefer passing `at`).
  virtual void revoke_session(bytes token_hash, store_done_handler done) = 0;
  /// Revokes every live session of a worker at `at`; yields their token hashes.
  virtual void revoke_worker_sessions(worker_id id, unix_ms at,
                                      store_handler<std::vector<bytes>> done) = 0;
  /// As above, stamped with the store's system clock (prefer passing `at`).
  virtual void revoke_worker_sessions(worker_id id, store_handler<std::vector<bytes>> done) = 0;
  /// Revocations logged with at > since, by at, whoever made them (another process such as
  /// `relaisd user disable` included): relaisd polls it to close the revoked sessions'
  /// sockets. At most limits::max_revocations_per_read rows, plus any further rows sharing
  /// the last row's `at`, so that polling again from the last `at` misses nothing. An index
  /// range read. Entries stay until purge_expired's revocations_before passes them.
  virtual void list_revoked_since(unix_ms since, store_handler<std::vector<revocation>> done) = 0;
};

/// The permanence: queue, shift states and the closed-hours inbox.
class permanence_store {
 public:
  virtual ~permanence_store() = default;

  /// Adds a waiting entry (id, state ignored); already_exists if the beneficiary waits already.
  virtual void enqueue(queue_entry entry, store_handler<queue_entry_id> done) = 0;
  /// Waiting entries in service order: urgent first, then by joined_at, then by id (restart
  /// restore: entries stay waiting across restarts).
  virtual void list_waiting(store_handler<std::vector<queue_entry>> done) = 0;
  /// Takes a waiting entry and creates its conversation in one transaction; yields the entry
  /// as taken (with the pre-chat blob and the new conversation id). conflict if not waiting.
  virtual void take_queue_entry(take_request request, store_handler<queue_entry> done) = 0;
  /// Moves a waiting entry to left, timed_out or moved_to_inbox; conflict if not waiting.
  virtual void finish_queue_entry(queue_entry_id id, queue_state state, unix_ms at,
                                  store_done_handler done) = 0;
  /// How many entries are waiting: a count over the partial index of waiting entries (reads
  /// the index only, O(waiting), about a millisecond for 10,000).
  virtual void count_waiting(store_handler<std::int64_t> done) = 0;

  /// Stores a worker's shift state (upsert), `until` included.
  virtual void set_shift_state(shift_state state, store_done_handler done) = 0;
  /// Every stored shift state (mode, on_call, capacity, since, until), by worker id.
  virtual void list_shift_states(store_handler<std::vector<shift_state>> done) = 0;

  /// Continuity: the distinct workers who took part in any conversation of this beneficiary
  /// (ended or not, left or not; removed accounts excepted), most recent first (by the
  /// latest joined_at of each), at most limits::max_followers. Index range reads only.
  virtual void list_followers(bytes beneficiary_key, store_handler<std::vector<worker_id>> done) = 0;

  /// Stores a message left while closed, with its recipients (id, state, claimed_by,
  /// conversation ignored); yields its id. Idempotent by (beneficiary_key, client_msg_id): a
  /// repeat yields the original id and stores nothing, like append_message, and like it the
  /// handler runs after the group commit's fsync. invalid_argument: empty key, envelope or
  /// client_msg_id, no recipients, more than limits::max_stored_inbox_recipients, a recipient twice
  /// or with an empty key; too_large past the size limits; not_found: a recipient is not an
  /// account.
  virtual void add_inbox_entry(inbox_entry entry, store_handler<inbox_entry_id> done) = 0;
  /// Unread entries that name `worker` among their recipients, in id order, after
  /// `after_id`, at most `limit`; each with only that worker's recipient row (the others'
  /// wrapped keys are not his). An index range read. invalid_argument for a bad limit.
  virtual void list_inbox_for_worker(inbox_query query,
                                     store_handler<std::vector<inbox_entry>> done) = 0;
  /// How many unread entries name this worker (inbox.count). An index range count.
  virtual void count_unread_inbox(worker_id worker, store_handler<std::int64_t> done) = 0;
  /// A recipient answers an unread entry: in one transaction it becomes answered (claimed_by
  /// = the worker) and its conversation is created (beneficiary_key as the beneficiary
  /// participant, the worker as the worker participant, created at `at`); yields the entry
  /// with its conversation id and only this worker's recipient row. not_found: no such entry
  /// or this worker is not one of its recipients; conflict: already answered or claimed (of
  /// two recipients racing, exactly one wins).
  virtual void take_inbox_entry(inbox_take_request request, store_handler<inbox_entry> done) = 0;
  /// Inbox entries in the given state, oldest first, at most `limit` (without recipients).
  virtual void list_inbox(inbox_state state, std::size_t limit,
                          store_handler<std::vector<inbox_entry>> done) = 0;
  /// A worker claims an unread entry; conflict if someone else did first. A claimed entry is
  /// no longer unread for any recipient. (Two-step form; take_inbox_entry does both at once.)
  virtual void claim_inbox_entry(inbox_entry_id id, worker_id worker, unix_ms at,
                                 store_done_handler done) = 0;
  /// Marks a claimed entry answered by the conversation it opened.
  virtual void answer_inbox_entry(inbox_entry_id id, conversation_id conversation, unix_ms at,
                                  store_done_handler done) = 0;
};

/// Retention and erasure: what makes data really go away.
class retention_store {
 public:
  virtual ~retention_store() = default;

  /// Deletes what is past its retention (the caller computes the cut-offs from its clock).
  virtual void purge_expired(purge_request request, store_handler<purge_result> done) = 0;
  /// Erases a beneficiary's whole history: conversations (and so messages), queue and inbox
  /// entries, prekeys, and the named backups. The bytes are overwritten, not just unlinked.
  virtual void erase_beneficiary(erase_request request, store_handler<purge_result> done) = 0;
};

/// Everything relaisd persists; one backend object implements all of it.
class store : public message_store,
              public key_store,
              public account_store,
              public permanence_store,
              public retention_store {
 public:
  ~store() override = default;
};

}  // namespace relais::core
