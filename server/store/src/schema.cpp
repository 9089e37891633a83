#include "schema.hpp"

#include <array>
#include <string_view>

#include "connection.hpp"
#include "relais/core/store_error.hpp"

namespace relais::store::detail {

namespace {

// Migration N brings the schema from version N to N + 1. Never edit a released entry: add
// one. Times are unix milliseconds given by relaisd, ids 64-bit integers (PostgreSQL bigint).
constexpr std::array<std::string_view, schema_version> migrations = {
    R"sql(
CREATE TABLE workers(
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  totp_secret BLOB NOT NULL,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  identity_key BLOB NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions(
  token_hash BLOB PRIMARY KEY,
  worker_id INTEGER NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
  device TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  UNIQUE(worker_id, device)
) STRICT;

CREATE TABLE conversations(
  id INTEGER PRIMARY KEY,
  beneficiary_key BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX conversations_by_beneficiary ON conversations(beneficiary_key);
CREATE INDEX conversations_by_end ON conversations(ended_at) WHERE ended_at > 0;

CREATE TABLE participants(
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  identity_key BLOB NOT NULL,
  role INTEGER NOT NULL,
  worker_id INTEGER REFERENCES workers(id) ON DELETE SET NULL,
  joined_at INTEGER NOT NULL,
  left_at INTEGER NOT NULL DEFAULT 0,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(conversation_id, identity_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX participants_by_key ON participants(identity_key);
CREATE INDEX participants_by_worker ON participants(worker_id) WHERE worker_id IS NOT NULL;

-- Envelopes can be large: a rowid table keeps them out of the index b-trees.
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  client_message_id BLOB NOT NULL,
  sender_key BLOB NOT NULL,
  envelope BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE(conversation_id, seq),
  UNIQUE(conversation_id, client_message_id)
) STRICT;

CREATE TABLE prekey_bundles(
  identity_key BLOB PRIMARY KEY,
  bundle BLOB NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE one_time_prekeys(
  identity_key BLOB NOT NULL REFERENCES prekey_bundles(identity_key) ON DELETE CASCADE,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY(identity_key, key_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE backups(
  lookup_id BLOB PRIMARY KEY,
  blob BLOB NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE queue_entries(
  id INTEGER PRIMARY KEY,
  beneficiary_key BLOB NOT NULL,
  urgency INTEGER NOT NULL,
  prechat BLOB NOT NULL,
  joined_at INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  worker_id INTEGER REFERENCES workers(id) ON DELETE SET NULL,
  conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
  updated_at INTEGER NOT NULL
) STRICT;
-- One waiting entry per beneficiary: joining twice is refused by the database itself.
CREATE UNIQUE INDEX queue_one_waiting ON queue_entries(beneficiary_key) WHERE state = 0;
CREATE INDEX queue_service_order ON queue_entries(urgency DESC, joined_at, id) WHERE state = 0;
CREATE INDEX queue_by_beneficiary ON queue_entries(beneficiary_key);

CREATE TABLE shift_states(
  worker_id INTEGER PRIMARY KEY REFERENCES workers(id) ON DELETE CASCADE,
  mode INTEGER NOT NULL,
  on_call INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  since INTEGER NOT NULL
) STRICT;

CREATE TABLE inbox_entries(
  id INTEGER PRIMARY KEY,
  beneficiary_key BLOB NOT NULL,
  envelope BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  worker_id INTEGER REFERENCES workers(id) ON DELETE SET NULL,
  conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX inbox_by_state ON inbox_entries(state, created_at, id);
CREATE INDEX inbox_by_beneficiary ON inbox_entries(beneficiary_key);
)sql",
    // Version 2: what the relay core needs (display names, backup versions, revocations seen
    // by other processes, worker lookup by identity key).
    R"sql(
ALTER TABLE workers ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
-- The relay maps a participant's identity key to its account: one account per key.
CREATE UNIQUE INDEX workers_by_identity ON workers(identity_key) WHERE identity_key <> x'';

ALTER TABLE sessions ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0;

-- Existing backups become version 1: the next put of each must say 2.
ALTER TABLE backups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Every revocation, also by another process (relaisd user ...), so that the running relaisd
-- can poll it and close the sockets. No foreign key: the entry must outlive a removed
-- account's sessions; purge_expired deletes old entries.
CREATE TABLE revocations(
  id INTEGER PRIMARY KEY,
  token_hash BLOB NOT NULL,
  worker_id INTEGER NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX revocations_by_time ON revocations(at);
)sql",
    // Version 3: the permanence (issue 7): inbox recipients and idempotency, the end of a
    // holiday or manual stop, and where a participant who joined by transfer starts.
    R"sql(
-- inbox.send is idempotent like conversation.send. Entries of version 2 have no client id
-- (x'') and stay outside the unique index.
ALTER TABLE inbox_entries ADD COLUMN client_msg_id BLOB NOT NULL DEFAULT x'';
CREATE UNIQUE INDEX inbox_idempotency ON inbox_entries(beneficiary_key, client_msg_id)
  WHERE client_msg_id <> x'';

-- Who an inbox entry is addressed to, with the content key wrapped for each. `unread` mirrors
-- the entry's state (1 while unread) so that a worker's unread entries are one range of the
-- index below: inbox.list and inbox.count never visit answered entries. The same index serves
-- the foreign key when an account is removed.
CREATE TABLE inbox_recipients(
  entry_id INTEGER NOT NULL REFERENCES inbox_entries(id) ON DELETE CASCADE,
  worker_id INTEGER NOT NULL REFERENCES workers(id) ON DELETE CASCADE,
  wrapped_key BLOB NOT NULL,
  unread INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY(entry_id, worker_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX inbox_recipients_by_worker ON inbox_recipients(worker_id, unread, entry_id);

-- End of holiday mode or of a manual stop (0 = none).
ALTER TABLE shift_states ADD COLUMN until_at INTEGER NOT NULL DEFAULT 0;

-- The conversation's last_seq when the participant joined (a transfer); 0 for the first ones.
ALTER TABLE participants ADD COLUMN joined_seq INTEGER NOT NULL DEFAULT 0;
)sql",
};

}  // namespace

std::error_code migrate(connection& c, std::string& detail, std::int64_t target) {
  std::error_code ec;
  const std::string current_text = c.query_text("PRAGMA user_version", ec);
  if (ec) {
    detail = c.describe_last_error();
    return ec;
  }
  const std::int64_t current = std::stoll(current_text.empty() ? "0" : current_text);
  if (current > schema_version) {
    detail = "schema version " + std::to_string(current) + " is newer than this program's " +
             std::to_string(schema_version);
    return core::store_errc::unsupported_schema;
  }
  if (target > schema_version) target = schema_version;
  for (std::int64_t v = current; v < target; ++v) {
    // BEGIN IMMEDIATE: two relaisd starting at once must not both migrate.
    if ((ec = c.exec("BEGIN IMMEDIATE"))) {
      detail = c.describe_last_error();
      return ec;
    }
    // Another process may have migrated between our check and our lock.
    const std::string locked_text = c.query_text("PRAGMA user_version", ec);
    if (!ec && std::stoll(locked_text.empty() ? "0" : locked_text) > v) {
      ec = c.exec("COMMIT");
      if (ec) return ec;
      continue;
    }
    const std::string_view script = migrations[static_cast<std::size_t>(v)];
    const std::string bump = "PRAGMA user_version=" + std::to_string(v + 1);
    if (!ec) ec = c.exec_script(script);
    if (!ec) ec = c.exec(bump);
    if (!ec) ec = c.exec("COMMIT");
    if (ec) {
      detail = "migration to schema version " + std::to_string(v + 1) +
               " failed: " + c.describe_last_error();
      if (c.in_transaction()) (void)c.exec("ROLLBACK");
      return ec;
    }
  }
  return {};
}

}  // namespace relais::store::detail
