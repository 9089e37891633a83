// permanence_store on SQLite: the queue, shift states and the closed-hours inbox.
#include <algorithm>

#include "ops.hpp"
#include "queries.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;
namespace queries = detail::queries;

namespace {

constexpr const char* queue_columns =
    "id, beneficiary_key, urgency, prechat, joined_at, state, worker_id, conversation_id, "
    "updated_at";

core::queue_entry queue_row(const detail::query& q) {
  core::queue_entry e;
  e.id = q.int64(0);
  e.beneficiary_key = q.blob(1);
  e.level = q.int64(2) == 1 ? core::urgency::urgent : core::urgency::normal;
  e.prechat = q.blob(3);
  e.joined_at = q.int64(4);
  e.state = static_cast<core::queue_state>(q.int64(5));
  e.assigned_worker = q.is_null(6) ? 0 : q.int64(6);
  e.conversation = q.is_null(7) ? 0 : q.int64(7);
  e.updated_at = q.int64(8);
  return e;
}

constexpr const char* inbox_columns =
    "id, beneficiary_key, envelope, created_at, state, worker_id, conversation_id, updated_at, "
    "client_msg_id";

core::inbox_entry inbox_row(const detail::query& q) {
  core::inbox_entry e;
  e.id = q.int64(0);
  e.beneficiary_key = q.blob(1);
  e.envelope = q.blob(2);
  e.created_at = q.int64(3);
  e.state = static_cast<core::inbox_state>(q.int64(4));
  e.claimed_by = q.is_null(5) ? 0 : q.int64(5);
  e.conversation = q.is_null(6) ? 0 : q.int64(6);
  e.updated_at = q.int64(7);
  e.client_msg_id = q.blob(8);
  return e;
}

/// Checks what add_inbox_entry stores before any statement runs.
std::error_code validate_inbox_entry(const core::inbox_entry& e) {
  if (e.beneficiary_key.empty() || e.envelope.empty() || e.client_msg_id.empty() ||
      e.recipients.empty())
    return store_errc::invalid_argument;
  if (e.recipients.size() > core::limits::max_stored_inbox_recipients) return store_errc::invalid_argument;
  if (e.envelope.size() > core::limits::max_stored_envelope_bytes) return store_errc::too_large;
  std::vector<core::worker_id> seen;
  seen.reserve(e.recipients.size());
  for (const auto& r : e.recipients) {
    if (r.worker <= 0 || r.wrapped_key.empty()) return store_errc::invalid_argument;
    if (r.wrapped_key.size() > core::limits::max_stored_wrapped_key_bytes)
      return store_errc::too_large;
    if (std::find(seen.begin(), seen.end(), r.worker) != seen.end())
      return store_errc::invalid_argument;
    seen.push_back(r.worker);
  }
  return {};
}

/// Inserts a conversation with its beneficiary and its worker, as a queue take or an inbox
/// answer opens it; yields its id.
std::error_code open_conversation(connection& db, const core::bytes& beneficiary_key,
                                  core::worker_id worker, const core::bytes& worker_key,
                                  core::unix_ms at, core::conversation_id& id) {
  std::error_code ec;
  {
    auto q = db.prepare("INSERT INTO conversations(beneficiary_key, created_at) VALUES(?1, ?2)", ec);
    if (ec) return ec;
    q.bind_blob(1, beneficiary_key).bind(2, at);
    if ((ec = q.run())) return ec;
    id = db.last_insert_rowid();
  }
  auto add = [&](const core::bytes& key, core::participant_role role,
                 core::worker_id account) -> std::error_code {
    auto q = db.prepare(
        "INSERT INTO participants(conversation_id, identity_key, role, worker_id, joined_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5)",
        ec);
    if (ec) return ec;
    q.bind(1, id).bind_blob(2, key).bind(3, static_cast<std::int64_t>(role));
    if (account != 0) q.bind(4, account); else q.bind_null(4);
    q.bind(5, at);
    return q.run();
  };
  if ((ec = add(beneficiary_key, core::participant_role::beneficiary, 0))) return ec;
  return add(worker_key, core::participant_role::worker, worker);
}

/// An entry is unread for nobody once claimed or answered (the recipients' index mirror).
std::error_code close_recipients(connection& db, core::inbox_entry_id id) {
  std::error_code ec;
  auto q = db.prepare("UPDATE inbox_recipients SET unread = 0 WHERE entry_id = ?1", ec);
  if (ec) return ec;
  q.bind(1, id);
  return q.run();
}

/// After a compare-and-set UPDATE that changed nothing: conflict if the row exists, else
/// not_found.
std::error_code cas_failure(connection& db, const char* table, std::int64_t id) {
  std::error_code ec;
  auto q = db.prepare(std::string("SELECT 1 FROM ") + table + " WHERE id = ?1", ec);
  if (ec) return ec;
  q.bind(1, id);
  if (q.next(ec)) return store_errc::conflict;
  return ec ? ec : make_error_code(store_errc::not_found);
}

}  // namespace

void sqlite_store::enqueue(core::queue_entry entry,
                           core::store_handler<core::queue_entry_id> done) {
  detail::write_op<core::queue_entry_id>(
      *engine_, std::move(done),
      [e = std::move(entry)](connection& db, core::queue_entry_id& id) -> std::error_code {
        if (e.beneficiary_key.empty()) return store_errc::invalid_argument;
        if (e.prechat.size() > core::limits::max_stored_blob_bytes) return store_errc::too_large;
        std::error_code ec;
        // The partial unique index refuses a second waiting entry: already_exists.
        auto q = db.prepare(
            "INSERT INTO queue_entries(beneficiary_key, urgency, prechat, joined_at, state, "
            "updated_at) VALUES(?1, ?2, ?3, ?4, 0, ?4)",
            ec);
        if (ec) return ec;
        q.bind_blob(1, e.beneficiary_key)
            .bind(2, static_cast<std::int64_t>(e.level))
            .bind_blob(3, e.prechat)
            .bind(4, e.joined_at);
        if ((ec = q.run())) return ec;
        id = db.last_insert_rowid();
        return {};
      });
}

void sqlite_store::list_waiting(core::store_handler<std::vector<core::queue_entry>> done) {
  detail::read_op<std::vector<core::queue_entry>>(
      *engine_, std::move(done),
      [](connection& db, std::vector<core::queue_entry>& out) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(std::string("SELECT ") + queue_columns +
                                " FROM queue_entries WHERE state = 0 "
                                "ORDER BY urgency DESC, joined_at, id",
                            ec);
        if (ec) return ec;
        while (q.next(ec)) out.push_back(queue_row(q));
        return ec;
      });
}

void sqlite_store::take_queue_entry(core::take_request request,
                                    core::store_handler<core::queue_entry> done) {
  detail::write_op<core::queue_entry>(
      *engine_, std::move(done),
      [r = std::move(request)](connection& db, core::queue_entry& out) -> std::error_code {
        if (r.worker <= 0 || r.worker_key.empty()) return store_errc::invalid_argument;
        std::error_code ec;
        {
          // Compare-and-set: only a waiting entry can be taken; of two workers racing, the
          // second finds it assigned and gets conflict.
          auto q = db.prepare(std::string("UPDATE queue_entries SET state = 1, worker_id = ?2, "
                                          "updated_at = ?3 WHERE id = ?1 AND state = 0 "
                                          "RETURNING ") +
                                  queue_columns,
                              ec);
          if (ec) return ec;
          q.bind(1, r.entry).bind(2, r.worker).bind(3, r.at);
          if (!q.next(ec)) {
            if (ec) return ec;
            return cas_failure(db, "queue_entries", r.entry);
          }
          out = queue_row(q);
          while (q.next(ec)) {
          }
          if (ec) return ec;
        }
        if ((ec = open_conversation(db, out.beneficiary_key, r.worker, r.worker_key, r.at,
                                    out.conversation)))
          return ec;
        auto q = db.prepare("UPDATE queue_entries SET conversation_id = ?2 WHERE id = ?1", ec);
        if (ec) return ec;
        q.bind(1, out.id).bind(2, out.conversation);
        return q.run();
      });
}

void sqlite_store::finish_queue_entry(core::queue_entry_id id, core::queue_state state,
                                      core::unix_ms at, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id, state, at](connection& db) -> std::error_code {
    if (state != core::queue_state::left && state != core::queue_state::timed_out &&
        state != core::queue_state::moved_to_inbox)
      return store_errc::invalid_argument;
    std::error_code ec;
    {
      auto q = db.prepare(
          "UPDATE queue_entries SET state = ?2, updated_at = ?3 WHERE id = ?1 AND state = 0", ec);
      if (ec) return ec;
      q.bind(1, id).bind(2, static_cast<std::int64_t>(state)).bind(3, at);
      if ((ec = q.run())) return ec;
    }
    if (db.changes() > 0) return {};
    return cas_failure(db, "queue_entries", id);
  });
}

void sqlite_store::count_waiting(core::store_handler<std::int64_t> done) {
  detail::read_op<std::int64_t>(*engine_, std::move(done),
                                [](connection& db, std::int64_t& out) -> std::error_code {
                                  std::error_code ec;
                                  auto q = db.prepare(queries::count_waiting, ec);
                                  if (ec) return ec;
                                  if (q.next(ec)) out = q.int64(0);
                                  return ec;
                                });
}

void sqlite_store::set_shift_state(core::shift_state state, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [s = state](connection& db) -> std::error_code {
    if (s.capacity < 0 || s.until < 0) return store_errc::invalid_argument;
    std::error_code ec;
    auto q = db.prepare(
        "INSERT INTO shift_states(worker_id, mode, on_call, capacity, since, until_at) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(worker_id) DO UPDATE SET mode = excluded.mode, "
        "on_call = excluded.on_call, capacity = excluded.capacity, since = excluded.since, "
        "until_at = excluded.until_at",
        ec);
    if (ec) return ec;
    q.bind(1, s.worker)
        .bind(2, static_cast<std::int64_t>(s.mode))
        .bind(3, s.on_call ? 1 : 0)
        .bind(4, s.capacity)
        .bind(5, s.since)
        .bind(6, s.until);
    return q.run();
  });
}

void sqlite_store::list_shift_states(core::store_handler<std::vector<core::shift_state>> done) {
  detail::read_op<std::vector<core::shift_state>>(
      *engine_, std::move(done),
      [](connection& db, std::vector<core::shift_state>& out) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(
            "SELECT worker_id, mode, on_call, capacity, since, until_at FROM shift_states "
            "ORDER BY worker_id",
            ec);
        if (ec) return ec;
        while (q.next(ec)) {
          core::shift_state s;
          s.worker = q.int64(0);
          s.mode = static_cast<core::shift_mode>(q.int64(1));
          s.on_call = q.int64(2) != 0;
          s.capacity = static_cast<std::int32_t>(q.int64(3));
          s.since = q.int64(4);
          s.until = q.int64(5);
          out.push_back(s);
        }
        return ec;
      });
}

void sqlite_store::list_followers(core::bytes beneficiary_key,
                                  core::store_handler<std::vector<core::worker_id>> done) {
  detail::read_op<std::vector<core::worker_id>>(
      *engine_, std::move(done),
      [key = std::move(beneficiary_key)](connection& db,
                                         std::vector<core::worker_id>& out) -> std::error_code {
        if (key.empty()) return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(queries::list_followers, ec);
        if (ec) return ec;
        q.bind_blob(1, key).bind(2, static_cast<std::int64_t>(core::limits::max_followers));
        while (q.next(ec)) out.push_back(q.int64(0));
        return ec;
      });
}

void sqlite_store::add_inbox_entry(core::inbox_entry entry,
                                   core::store_handler<core::inbox_entry_id> done) {
  detail::write_op<core::inbox_entry_id>(
      *engine_, std::move(done),
      [e = std::move(entry)](connection& db, core::inbox_entry_id& id) -> std::error_code {
        if (auto invalid = validate_inbox_entry(e)) return invalid;
        std::error_code ec;
        {
          // Idempotency: a retry after a lost or negative ack gets the original id and
          // stores nothing. Earlier operations of the same batch are visible here too.
          auto q = db.prepare(
              "SELECT id FROM inbox_entries WHERE beneficiary_key = ?1 AND client_msg_id = ?2 "
              "AND client_msg_id <> x''",
              ec);
          if (ec) return ec;
          q.bind_blob(1, e.beneficiary_key).bind_blob(2, e.client_msg_id);
          if (q.next(ec)) {
            id = q.int64(0);
            return {};
          }
          if (ec) return ec;
        }
        {
          auto q = db.prepare(
              "INSERT INTO inbox_entries(beneficiary_key, envelope, created_at, state, updated_at, "
              "client_msg_id) VALUES(?1, ?2, ?3, 0, ?3, ?4)",
              ec);
          if (ec) return ec;
          q.bind_blob(1, e.beneficiary_key)
              .bind_blob(2, e.envelope)
              .bind(3, e.created_at)
              .bind_blob(4, e.client_msg_id);
          if ((ec = q.run())) return ec;
          id = db.last_insert_rowid();
        }
        for (const auto& r : e.recipients) {
          // An unknown account fails the foreign key: not_found, and the savepoint undoes
          // the entry too.
          auto q = db.prepare(
              "INSERT INTO inbox_recipients(entry_id, worker_id, wrapped_key) VALUES(?1, ?2, ?3)",
              ec);
          if (ec) return ec;
          q.bind(1, id).bind(2, r.worker).bind_blob(3, r.wrapped_key);
          if ((ec = q.run())) return ec;
        }
        return {};
      });
}

void sqlite_store::list_inbox_for_worker(core::inbox_query query,
                                         core::store_handler<std::vector<core::inbox_entry>> done) {
  detail::read_op<std::vector<core::inbox_entry>>(
      *engine_, std::move(done),
      [query](connection& db, std::vector<core::inbox_entry>& out) -> std::error_code {
        if (query.limit == 0 || query.limit > core::limits::max_page_messages || query.worker <= 0 ||
            query.after_id < 0)
          return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(queries::list_inbox_for_worker, ec);
        if (ec) return ec;
        q.bind(1, query.worker).bind(2, query.after_id).bind(3, static_cast<std::int64_t>(query.limit));
        while (q.next(ec)) {
          auto e = inbox_row(q);
          e.recipients.push_back({query.worker, q.blob(9)});
          out.push_back(std::move(e));
        }
        return ec;
      });
}

void sqlite_store::count_unread_inbox(core::worker_id worker,
                                      core::store_handler<std::int64_t> done) {
  detail::read_op<std::int64_t>(*engine_, std::move(done),
                                [worker](connection& db, std::int64_t& out) -> std::error_code {
                                  std::error_code ec;
                                  auto q = db.prepare(queries::count_unread_inbox, ec);
                                  if (ec) return ec;
                                  q.bind(1, worker);
                                  if (q.next(ec)) out = q.int64(0);
                                  return ec;
                                });
}

void sqlite_store::take_inbox_entry(core::inbox_take_request request,
                                    core::store_handler<core::inbox_entry> done) {
  detail::write_op<core::inbox_entry>(
      *engine_, std::move(done),
      [r = std::move(request)](connection& db, core::inbox_entry& out) -> std::error_code {
        if (r.entry <= 0 || r.worker <= 0 || r.worker_key.empty())
          return store_errc::invalid_argument;
        std::error_code ec;
        core::bytes wrapped_key;
        {
          // Only a recipient may answer; to anyone else the entry does not exist.
          auto q = db.prepare(
              "SELECT wrapped_key FROM inbox_recipients WHERE entry_id = ?1 AND worker_id = ?2",
              ec);
          if (ec) return ec;
          q.bind(1, r.entry).bind(2, r.worker);
          if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
          wrapped_key = q.blob(0);
        }
        {
          // Compare-and-set: of two recipients racing, the second finds it answered.
          auto q = db.prepare(std::string("UPDATE inbox_entries SET state = 2, worker_id = ?2, "
                                          "updated_at = ?3 WHERE id = ?1 AND state = 0 "
                                          "RETURNING ") +
                                  inbox_columns,
                              ec);
          if (ec) return ec;
          q.bind(1, r.entry).bind(2, r.worker).bind(3, r.at);
          if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::conflict);
          out = inbox_row(q);
          while (q.next(ec)) {
          }
          if (ec) return ec;
        }
        if ((ec = open_conversation(db, out.beneficiary_key, r.worker, r.worker_key, r.at,
                                    out.conversation)))
          return ec;
        {
          auto q = db.prepare("UPDATE inbox_entries SET conversation_id = ?2 WHERE id = ?1", ec);
          if (ec) return ec;
          q.bind(1, out.id).bind(2, out.conversation);
          if ((ec = q.run())) return ec;
        }
        if ((ec = close_recipients(db, out.id))) return ec;
        out.recipients.push_back({r.worker, std::move(wrapped_key)});
        return {};
      });
}

void sqlite_store::list_inbox(core::inbox_state state, std::size_t limit,
                              core::store_handler<std::vector<core::inbox_entry>> done) {
  detail::read_op<std::vector<core::inbox_entry>>(
      *engine_, std::move(done),
      [state, limit](connection& db, std::vector<core::inbox_entry>& out) -> std::error_code {
        if (limit == 0 || limit > core::limits::max_page_messages)
          return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(std::string("SELECT ") + inbox_columns +
                                " FROM inbox_entries WHERE state = ?1 "
                                "ORDER BY created_at, id LIMIT ?2",
                            ec);
        if (ec) return ec;
        q.bind(1, static_cast<std::int64_t>(state)).bind(2, static_cast<std::int64_t>(limit));
        while (q.next(ec)) out.push_back(inbox_row(q));
        return ec;
      });
}

void sqlite_store::claim_inbox_entry(core::inbox_entry_id id, core::worker_id worker,
                                     core::unix_ms at, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id, worker, at](connection& db) -> std::error_code {
    std::error_code ec;
    {
      auto q = db.prepare(
          "UPDATE inbox_entries SET state = 1, worker_id = ?2, updated_at = ?3 "
          "WHERE id = ?1 AND state = 0",
          ec);
      if (ec) return ec;
      q.bind(1, id).bind(2, worker).bind(3, at);
      if ((ec = q.run())) return ec;
    }
    if (db.changes() > 0) return close_recipients(db, id);
    return cas_failure(db, "inbox_entries", id);
  });
}

void sqlite_store::answer_inbox_entry(core::inbox_entry_id id, core::conversation_id conversation,
                                      core::unix_ms at, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done),
                   [id, conversation, at](connection& db) -> std::error_code {
                     std::error_code ec;
                     {
                       auto q = db.prepare(
                           "UPDATE inbox_entries SET state = 2, conversation_id = ?2, "
                           "updated_at = ?3 WHERE id = ?1 AND state = 1",
                           ec);
                       if (ec) return ec;
                       q.bind(1, id).bind(2, conversation).bind(3, at);
                       if ((ec = q.run())) return ec;
                     }
                     if (db.changes() > 0) return {};
                     return cas_failure(db, "inbox_entries", id);
                   });
}

}  // namespace relais::store
