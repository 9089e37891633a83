// message_store on SQLite: conversations, participants, messages, cursors.
#include <algorithm>

#include "ops.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;

namespace {

std::error_code insert_participant(connection& c, core::conversation_id id,
                                   const core::participant& p) {
  if (p.identity_key.empty()) return store_errc::invalid_argument;
  std::error_code ec;
  auto q = c.prepare(
      "INSERT INTO participants(conversation_id, identity_key, role, worker_id, joined_at) "
      "VALUES(?1, ?2, ?3, ?4, ?5)",
      ec);
  if (ec) return ec;
  q.bind(1, id).bind_blob(2, p.identity_key).bind(3, static_cast<std::int64_t>(p.role));
  if (p.worker != 0) {
    q.bind(4, p.worker);
  } else {
    q.bind_null(4);
  }
  q.bind(5, p.joined_at);
  return q.run();
}

std::error_code load_participants(connection& c, core::conversation& conv) {
  std::error_code ec;
  auto q = c.prepare(
      "SELECT identity_key, role, worker_id, joined_at, left_at, delivered_seq, read_seq, "
      "joined_seq FROM participants WHERE conversation_id = ?1 ORDER BY joined_at, identity_key",
      ec);
  if (ec) return ec;
  q.bind(1, conv.id);
  while (q.next(ec)) {
    core::participant p;
    p.identity_key = q.blob(0);
    p.role = q.int64(1) == 1 ? core::participant_role::worker : core::participant_role::beneficiary;
    p.worker = q.is_null(2) ? 0 : q.int64(2);
    p.joined_at = q.int64(3);
    p.left_at = q.int64(4);
    p.delivered_seq = q.int64(5);
    p.read_seq = q.int64(6);
    p.joined_seq = q.int64(7);
    conv.participants.push_back(std::move(p));
  }
  return ec;
}

core::conversation conversation_row(const detail::query& q) {
  core::conversation conv;
  conv.id = q.int64(0);
  conv.beneficiary_key = q.blob(1);
  conv.created_at = q.int64(2);
  conv.ended_at = q.int64(3);
  conv.last_seq = q.int64(4);
  return conv;
}

core::stored_message message_row(const detail::query& q) {
  core::stored_message m;
  m.conversation = q.int64(0);
  m.seq = q.int64(1);
  m.client_message_id = q.blob(2);
  m.sender_key = q.blob(3);
  m.envelope = q.blob(4);
  m.received_at = q.int64(5);
  return m;
}

bool valid_limit(std::size_t limit) {
  return limit > 0 && limit <= core::limits::max_page_messages;
}

}  // namespace

void sqlite_store::create_conversation(core::new_conversation c,
                                       core::store_handler<core::conversation_id> done) {
  detail::write_op<core::conversation_id>(
      *engine_, std::move(done),
      [c = std::move(c)](connection& db, core::conversation_id& id) -> std::error_code {
        if (c.beneficiary_key.empty()) return store_errc::invalid_argument;
        std::error_code ec;
        {
          auto q = db.prepare(
              "INSERT INTO conversations(beneficiary_key, created_at) VALUES(?1, ?2)", ec);
          if (ec) return ec;
          q.bind_blob(1, c.beneficiary_key).bind(2, c.created_at);
          if ((ec = q.run())) return ec;
        }
        id = db.last_insert_rowid();
        for (const auto& p : c.participants) {
          if ((ec = insert_participant(db, id, p))) return ec;
        }
        return {};
      });
}

void sqlite_store::get_conversation(core::conversation_id id,
                                    core::store_handler<core::conversation> done) {
  detail::read_op<core::conversation>(
      *engine_, std::move(done),
      [id](connection& db, core::conversation& out) -> std::error_code {
        std::error_code ec;
        {
          auto q = db.prepare(
              "SELECT id, beneficiary_key, created_at, ended_at, last_seq FROM conversations "
              "WHERE id = ?1",
              ec);
          if (ec) return ec;
          q.bind(1, id);
          if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
          out = conversation_row(q);
        }
        return load_participants(db, out);
      });
}

void sqlite_store::list_conversations(core::bytes identity_key, bool include_ended,
                                      core::store_handler<std::vector<core::conversation>> done) {
  detail::read_op<std::vector<core::conversation>>(
      *engine_, std::move(done),
      [key = std::move(identity_key), include_ended](
          connection& db, std::vector<core::conversation>& out) -> std::error_code {
        std::error_code ec;
        {
          auto q = db.prepare(
              "SELECT c.id, c.beneficiary_key, c.created_at, c.ended_at, c.last_seq "
              "FROM participants p JOIN conversations c ON c.id = p.conversation_id "
              "WHERE p.identity_key = ?1 AND p.left_at = 0 AND (?2 OR c.ended_at = 0) "
              "ORDER BY c.id",
              ec);
          if (ec) return ec;
          q.bind_blob(1, key).bind(2, include_ended ? 1 : 0);
          while (q.next(ec)) out.push_back(conversation_row(q));
          if (ec) return ec;
        }
        for (auto& conv : out) {
          if ((ec = load_participants(db, conv))) return ec;
        }
        return {};
      });
}

void sqlite_store::add_participant(core::conversation_id id, core::participant p,
                                   core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done),
                   [id, p = std::move(p)](connection& db) { return insert_participant(db, id, p); });
}

void sqlite_store::leave_conversation(core::conversation_id id, core::bytes identity_key,
                                      core::unix_ms at, core::store_done_handler done) {
  detail::write_op(
      *engine_, std::move(done),
      [id, key = std::move(identity_key), at](connection& db) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(
            "UPDATE participants SET left_at = ?3 "
            "WHERE conversation_id = ?1 AND identity_key = ?2 AND left_at = 0",
            ec);
        if (ec) return ec;
        q.bind(1, id).bind_blob(2, key).bind(3, at);
        if ((ec = q.run())) return ec;
        return detail::require_change(db, store_errc::not_found);
      });
}

void sqlite_store::transfer_conversation(core::transfer_request request,
                                         core::store_done_handler done) {
  detail::write_op(
      *engine_, std::move(done), [r = std::move(request)](connection& db) -> std::error_code {
        const auto& to = r.to;
        if (r.conversation <= 0 || r.from_worker <= 0 || to.identity_key.empty() ||
            to.role != core::participant_role::worker || to.worker <= 0)
          return store_errc::invalid_argument;
        std::error_code ec;
        core::sequence_number last = 0;
        {
          auto q = db.prepare("SELECT ended_at, last_seq FROM conversations WHERE id = ?1", ec);
          if (ec) return ec;
          q.bind(1, r.conversation);
          if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
          if (q.int64(0) != 0) return store_errc::conflict;
          last = q.int64(1);
        }
        {
          // The colleague must not be in it already (by key or by account): a transfer to
          // oneself, or to someone already there, is refused rather than merged.
          auto q = db.prepare(
              "SELECT 1 FROM participants WHERE conversation_id = ?1 AND left_at = 0 "
              "AND (identity_key = ?2 OR worker_id = ?3)",
              ec);
          if (ec) return ec;
          q.bind(1, r.conversation).bind_blob(2, to.identity_key).bind(3, to.worker);
          if (q.next(ec)) return store_errc::conflict;
          if (ec) return ec;
        }
        {
          auto q = db.prepare(
              "UPDATE participants SET left_at = ?3 WHERE conversation_id = ?1 "
              "AND worker_id = ?2 AND role = 1 AND left_at = 0",
              ec);
          if (ec) return ec;
          q.bind(1, r.conversation).bind(2, r.from_worker).bind(3, r.at);
          if ((ec = q.run())) return ec;
          if ((ec = detail::require_change(db, store_errc::conflict))) return ec;
        }
        // The newcomer starts at the current last seq: what came before was encrypted for
        // the previous worker and is his only by re-encryption (CRYPTO.md §8). A worker
        // transferred back rejoins his old row; his cursors never move backward.
        auto q = db.prepare(
            "INSERT INTO participants(conversation_id, identity_key, role, worker_id, joined_at, "
            "left_at, delivered_seq, read_seq, joined_seq) VALUES(?1, ?2, 1, ?3, ?4, 0, ?5, ?5, ?5) "
            "ON CONFLICT(conversation_id, identity_key) DO UPDATE SET role = 1, "
            "worker_id = excluded.worker_id, joined_at = excluded.joined_at, left_at = 0, "
            "delivered_seq = max(delivered_seq, excluded.delivered_seq), "
            "read_seq = max(read_seq, excluded.read_seq), joined_seq = excluded.joined_seq",
            ec);
        if (ec) return ec;
        q.bind(1, r.conversation).bind_blob(2, to.identity_key).bind(3, to.worker).bind(4, r.at).bind(5, last);
        return q.run();
      });
}

void sqlite_store::end_conversation(core::conversation_id id, core::unix_ms at,
                                    core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id, at](connection& db) -> std::error_code {
    std::error_code ec;
    {
      auto q = db.prepare(
          "UPDATE conversations SET ended_at = ?2 WHERE id = ?1 AND ended_at = 0", ec);
      if (ec) return ec;
      q.bind(1, id).bind(2, at);
      if ((ec = q.run())) return ec;
    }
    if (db.changes() > 0) return {};
    // Ending twice is not an error (a retried request); ending nothing is.
    auto q = db.prepare("SELECT 1 FROM conversations WHERE id = ?1", ec);
    if (ec) return ec;
    q.bind(1, id);
    if (q.next(ec)) return {};
    return ec ? ec : make_error_code(store_errc::not_found);
  });
}

void sqlite_store::append_message(core::append_request request,
                                  core::store_handler<core::append_result> done) {
  // Unguarded: every refusal (invalid, too large, duplicate, not found, ended) comes before
  // the first change; only the INSERT can fail after the seq was taken, and then the engine
  // rolls back the batch.
  detail::write_op_unguarded<core::append_result>(
      *engine_, std::move(done),
      [r = std::move(request)](connection& db, core::append_result& out) -> std::error_code {
        if (r.client_message_id.empty() || r.conversation <= 0) return store_errc::invalid_argument;
        if (r.envelope.size() > core::limits::max_stored_envelope_bytes)
          return store_errc::too_large;
        std::error_code ec;
        {
          // Idempotency: the same client message id (a retry after a lost or negative ack)
          // gets the original seq. Earlier appends of the same batch are visible here too.
          auto q = db.prepare(
              "SELECT seq FROM messages WHERE conversation_id = ?1 AND client_message_id = ?2",
              ec);
          if (ec) return ec;
          q.bind(1, r.conversation).bind_blob(2, r.client_message_id);
          if (q.next(ec)) {
            out = {q.int64(0), true};
            return {};
          }
          if (ec) return ec;
        }
        {
          // The seq is allocated inside the same transaction as the insert: a rolled-back
          // batch leaves no gap. An ended conversation takes no new message.
          auto q = db.prepare(
              "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 AND ended_at = 0 "
              "RETURNING last_seq",
              ec);
          if (ec) return ec;
          q.bind(1, r.conversation);
          if (!q.next(ec)) {
            if (ec) return ec;
            auto exists = db.prepare("SELECT 1 FROM conversations WHERE id = ?1", ec);
            if (ec) return ec;
            exists.bind(1, r.conversation);
            if (exists.next(ec)) return store_errc::conflict;
            return ec ? ec : make_error_code(store_errc::not_found);
          }
          out = {q.int64(0), false};
          while (q.next(ec)) {
          }
          if (ec) return ec;
        }
        auto q = db.prepare(
            "INSERT INTO messages(conversation_id, seq, client_message_id, sender_key, envelope, "
            "received_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            ec);
        if (ec) return ec;
        q.bind(1, r.conversation)
            .bind(2, out.seq)
            .bind_blob(3, r.client_message_id)
            .bind_blob(4, r.sender_key)
            .bind_blob(5, r.envelope)
            .bind(6, r.received_at);
        return q.run();
      });
}

void sqlite_store::read_messages(core::message_page_query query,
                                 core::store_handler<std::vector<core::stored_message>> done) {
  detail::read_op<std::vector<core::stored_message>>(
      *engine_, std::move(done),
      [query](connection& db, std::vector<core::stored_message>& out) -> std::error_code {
        if (!valid_limit(query.limit)) return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(
            "SELECT conversation_id, seq, client_message_id, sender_key, envelope, received_at "
            "FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            ec);
        if (ec) return ec;
        q.bind(1, query.conversation)
            .bind(2, query.after_seq)
            .bind(3, static_cast<std::int64_t>(query.limit));
        out.reserve(std::min<std::size_t>(query.limit, 64));
        while (q.next(ec)) out.push_back(message_row(q));
        return ec;
      });
}

void sqlite_store::read_undelivered(core::undelivered_query query,
                                    core::store_handler<std::vector<core::stored_message>> done) {
  detail::read_op<std::vector<core::stored_message>>(
      *engine_, std::move(done),
      [query = std::move(query)](connection& db,
                                 std::vector<core::stored_message>& out) -> std::error_code {
        if (!valid_limit(query.limit) || query.identity_key.empty())
          return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(
            "SELECT m.conversation_id, m.seq, m.client_message_id, m.sender_key, m.envelope, "
            "m.received_at FROM participants p JOIN messages m "
            "ON m.conversation_id = p.conversation_id AND m.seq > p.delivered_seq "
            "WHERE p.identity_key = ?1 AND p.left_at = 0 AND m.sender_key <> ?1 "
            "AND (m.conversation_id > ?2 OR (m.conversation_id = ?2 AND m.seq > ?3)) "
            "ORDER BY m.conversation_id, m.seq LIMIT ?4",
            ec);
        if (ec) return ec;
        q.bind_blob(1, query.identity_key)
            .bind(2, query.after_conversation)
            .bind(3, query.after_seq)
            .bind(4, static_cast<std::int64_t>(query.limit));
        while (q.next(ec)) out.push_back(message_row(q));
        return ec;
      });
}

void sqlite_store::update_cursor(core::cursor_update update, core::store_done_handler done) {
  detail::write_op(
      *engine_, std::move(done), [u = std::move(update)](connection& db) -> std::error_code {
        if (u.identity_key.empty() || u.delivered_seq < 0 || u.read_seq < 0)
          return store_errc::invalid_argument;
        std::error_code ec;
        {
          auto q = db.prepare("SELECT last_seq FROM conversations WHERE id = ?1", ec);
          if (ec) return ec;
          q.bind(1, u.conversation);
          if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
          // A receipt for a message that does not exist yet is a client bug or a lie.
          const auto last = q.int64(0);
          if (u.delivered_seq > last || u.read_seq > last) return store_errc::invalid_argument;
        }
        // Forward only (max), and read implies delivered.
        auto q = db.prepare(
            "UPDATE participants SET delivered_seq = max(delivered_seq, ?3, ?4), "
            "read_seq = max(read_seq, ?4) WHERE conversation_id = ?1 AND identity_key = ?2",
            ec);
        if (ec) return ec;
        q.bind(1, u.conversation).bind_blob(2, u.identity_key).bind(3, u.delivered_seq).bind(4, u.read_seq);
        if ((ec = q.run())) return ec;
        return detail::require_change(db, store_errc::not_found);
      });
}

}  // namespace relais::store
