// retention_store on SQLite: periodic purge and erasure on request.
#include "ops.hpp"
#include "relais/log/log.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;

namespace {

/// Runs a DELETE (or a count) bound to one value; adds the rows changed to `count`.
template <typename Bind>
std::error_code delete_rows(connection& db, const char* sql, Bind bind, std::int64_t& count) {
  std::error_code ec;
  auto q = db.prepare(sql, ec);
  if (ec) return ec;
  bind(q);
  if ((ec = q.run())) return ec;
  count += db.changes();
  return {};
}

std::error_code count_rows(connection& db, const char* sql, const core::bytes& key,
                           std::int64_t value, std::int64_t& count) {
  std::error_code ec;
  auto q = db.prepare(sql, ec);
  if (ec) return ec;
  if (!key.empty()) q.bind_blob(1, key); else q.bind(1, value);
  if (q.next(ec)) count += q.int64(0);
  while (!ec && q.next(ec)) {
  }
  return ec;
}

bool any(const core::purge_result& r) {
  return r.conversations + r.messages + r.queue_entries + r.inbox_entries + r.sessions +
             r.prekeys + r.backups + r.revocations >
         0;
}

}  // namespace

void sqlite_store::purge_expired(core::purge_request request,
                                 core::store_handler<core::purge_result> done) {
  auto self = this;
  auto finish = [self, done = std::move(done)](std::error_code ec, core::purge_result r) {
    if (ec || !any(r)) {
      done(ec, r);
      return;
    }
    log::info("store.purged", {{"conversations", r.conversations},
                               {"messages", r.messages},
                               {"queue_entries", r.queue_entries},
                               {"inbox_entries", r.inbox_entries},
                               {"sessions", r.sessions},
                               {"revocations", r.revocations}});
    // Deleted rows were zeroed in the database pages (secure_delete); the older copies in
    // the WAL go with a truncating checkpoint.
    self->checkpoint_truncate([done, r](std::error_code cec) { done(cec, r); });
  };
  detail::write_op<core::purge_result>(
      *engine_, std::move(finish),
      [p = request](connection& db, core::purge_result& r) -> std::error_code {
        std::error_code ec;
        if (p.conversations_ended_before > 0) {
          if ((ec = count_rows(db,
                               "SELECT count(*) FROM messages WHERE conversation_id IN (SELECT id "
                               "FROM conversations WHERE ended_at > 0 AND ended_at < ?1)",
                               {}, p.conversations_ended_before, r.messages)))
            return ec;
          // Messages and participants go by cascade.
          if ((ec = delete_rows(
                   db, "DELETE FROM conversations WHERE ended_at > 0 AND ended_at < ?1",
                   [&](detail::query& q) { q.bind(1, p.conversations_ended_before); },
                   r.conversations)))
            return ec;
        }
        if (p.queue_entries_before > 0) {
          if ((ec = delete_rows(db, "DELETE FROM queue_entries WHERE state <> 0 AND updated_at < ?1",
                                [&](detail::query& q) { q.bind(1, p.queue_entries_before); },
                                r.queue_entries)))
            return ec;
        }
        if (p.inbox_answered_before > 0) {
          // The recipients' rows, with the wrapped keys, go by cascade (also below).
          if ((ec = delete_rows(db, "DELETE FROM inbox_entries WHERE state = 2 AND updated_at < ?1",
                                [&](detail::query& q) { q.bind(1, p.inbox_answered_before); },
                                r.inbox_entries)))
            return ec;
        }
        if (p.inbox_unanswered_before > 0) {
          // Nobody answered in time: the message goes like any other past its retention.
          if ((ec = delete_rows(db, "DELETE FROM inbox_entries WHERE state <> 2 AND created_at < ?1",
                                [&](detail::query& q) { q.bind(1, p.inbox_unanswered_before); },
                                r.inbox_entries)))
            return ec;
        }
        if (p.revocations_before > 0) {
          if ((ec = delete_rows(db, "DELETE FROM revocations WHERE at < ?1",
                                [&](detail::query& q) { q.bind(1, p.revocations_before); },
                                r.revocations)))
            return ec;
        }
        if (p.sessions_expired_before > 0) {
          if ((ec = delete_rows(db, "DELETE FROM sessions WHERE expires_at < ?1",
                                [&](detail::query& q) { q.bind(1, p.sessions_expired_before); },
                                r.sessions)))
            return ec;
        }
        return {};
      });
}

void sqlite_store::erase_beneficiary(core::erase_request request,
                                     core::store_handler<core::purge_result> done) {
  auto self = this;
  auto finish = [self, done = std::move(done)](std::error_code ec, core::purge_result r) {
    if (ec) {
      done(ec, r);
      return;
    }
    log::info("store.erased", {{"conversations", r.conversations},
                               {"messages", r.messages},
                               {"queue_entries", r.queue_entries},
                               {"inbox_entries", r.inbox_entries},
                               {"prekeys", r.prekeys},
                               {"backups", r.backups}});
    // Always checkpoint, even when nothing matched: an earlier erasure whose checkpoint
    // failed is completed by the retry.
    self->checkpoint_truncate([done, r](std::error_code cec) { done(cec, r); });
  };
  detail::write_op<core::purge_result>(
      *engine_, std::move(finish),
      [e = std::move(request)](connection& db, core::purge_result& r) -> std::error_code {
        if (e.identity_key.empty()) return store_errc::invalid_argument;
        std::error_code ec;
        const auto& key = e.identity_key;
        auto by_key = [&key](detail::query& q) { q.bind_blob(1, key); };
        if ((ec = count_rows(db,
                             "SELECT count(*) FROM messages WHERE conversation_id IN "
                             "(SELECT id FROM conversations WHERE beneficiary_key = ?1)",
                             key, 0, r.messages)))
          return ec;
        if ((ec = count_rows(db, "SELECT count(*) FROM one_time_prekeys WHERE identity_key = ?1",
                             key, 0, r.prekeys)))
          return ec;
        if ((ec = delete_rows(db, "DELETE FROM conversations WHERE beneficiary_key = ?1", by_key,
                              r.conversations)))
          return ec;
        if ((ec = delete_rows(db, "DELETE FROM queue_entries WHERE beneficiary_key = ?1", by_key,
                              r.queue_entries)))
          return ec;
        // Their recipients' rows (the wrapped keys) go by cascade.
        if ((ec = delete_rows(db, "DELETE FROM inbox_entries WHERE beneficiary_key = ?1", by_key,
                              r.inbox_entries)))
          return ec;
        std::int64_t bundles = 0;
        if ((ec = delete_rows(db, "DELETE FROM prekey_bundles WHERE identity_key = ?1", by_key,
                              bundles)))
          return ec;
        for (const auto& id : e.backup_lookup_ids) {
          if ((ec = delete_rows(db, "DELETE FROM backups WHERE lookup_id = ?1",
                                [&id](detail::query& q) { q.bind_blob(1, id); }, r.backups)))
            return ec;
        }
        return {};
      });
}

}  // namespace relais::store
