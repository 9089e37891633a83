// account_store on SQLite: worker accounts and login sessions.
#include "ops.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;

namespace {

constexpr const char* worker_columns =
    "id, username, password_hash, totp_secret, totp_last_step, identity_key, disabled, "
    "failed_logins, locked_until, created_at";

core::worker_account worker_row(const detail::query& q) {
  core::worker_account w;
  w.id = q.int64(0);
  w.username = q.text(1);
  w.password_hash = q.text(2);
  w.totp_secret = q.blob(3);
  w.totp_last_step = q.int64(4);
  w.identity_key = q.blob(5);
  w.disabled = q.int64(6) != 0;
  w.failed_logins = static_cast<std::int32_t>(q.int64(7));
  w.locked_until = q.int64(8);
  w.created_at = q.int64(9);
  return w;
}

core::worker_session session_row(const detail::query& q) {
  core::worker_session s;
  s.token_hash = q.blob(0);
  s.worker = q.int64(1);
  s.device = q.text(2);
  s.created_at = q.int64(3);
  s.expires_at = q.int64(4);
  s.revoked = q.int64(5) != 0;
  return s;
}

/// not_found unless the worker exists (after an UPDATE that changed nothing).
std::error_code worker_exists(connection& db, core::worker_id id, core::store_errc otherwise) {
  std::error_code ec;
  auto q = db.prepare("SELECT 1 FROM workers WHERE id = ?1", ec);
  if (ec) return ec;
  q.bind(1, id);
  if (q.next(ec)) return otherwise;
  return ec ? ec : make_error_code(store_errc::not_found);
}

template <typename Bind>
std::error_code select_worker(connection& db, const std::string& where, Bind bind,
                              core::worker_account& out) {
  std::error_code ec;
  auto q = db.prepare(std::string("SELECT ") + worker_columns + " FROM workers WHERE " + where, ec);
  if (ec) return ec;
  bind(q);
  if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
  out = worker_row(q);
  return {};
}

}  // namespace

void sqlite_store::create_worker(core::worker_account account,
                                 core::store_handler<core::worker_id> done) {
  detail::write_op<core::worker_id>(
      *engine_, std::move(done),
      [a = std::move(account)](connection& db, core::worker_id& id) -> std::error_code {
        if (a.username.empty() || a.password_hash.empty()) return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(
            "INSERT INTO workers(username, password_hash, totp_secret, totp_last_step, "
            "identity_key, disabled, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            ec);
        if (ec) return ec;
        q.bind_text(1, a.username)
            .bind_text(2, a.password_hash)
            .bind_blob(3, a.totp_secret)
            .bind(4, a.totp_last_step)
            .bind_blob(5, a.identity_key)
            .bind(6, a.disabled ? 1 : 0)
            .bind(7, a.created_at);
        if ((ec = q.run())) return ec;
        id = db.last_insert_rowid();
        return {};
      });
}

void sqlite_store::get_worker(core::worker_id id, core::store_handler<core::worker_account> done) {
  detail::read_op<core::worker_account>(
      *engine_, std::move(done), [id](connection& db, core::worker_account& out) {
        return select_worker(db, "id = ?1", [id](detail::query& q) { q.bind(1, id); }, out);
      });
}

void sqlite_store::find_worker(std::string username,
                               core::store_handler<core::worker_account> done) {
  detail::read_op<core::worker_account>(
      *engine_, std::move(done),
      [name = std::move(username)](connection& db, core::worker_account& out) {
        return select_worker(
            db, "username = ?1", [&name](detail::query& q) { q.bind_text(1, name); }, out);
      });
}

void sqlite_store::list_workers(core::store_handler<std::vector<core::worker_account>> done) {
  detail::read_op<std::vector<core::worker_account>>(
      *engine_, std::move(done),
      [](connection& db, std::vector<core::worker_account>& out) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(std::string("SELECT ") + worker_columns + " FROM workers ORDER BY id",
                            ec);
        if (ec) return ec;
        while (q.next(ec)) out.push_back(worker_row(q));
        return ec;
      });
}

void sqlite_store::update_worker(core::worker_update update, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [u = std::move(update)](connection& db) -> std::error_code {
    if ((u.password_hash && u.password_hash->empty())) return store_errc::invalid_argument;
    std::error_code ec;
    // coalesce(NULL, column) keeps the column: absent fields are bound as NULL.
    auto q = db.prepare(
        "UPDATE workers SET password_hash = coalesce(?2, password_hash), "
        "totp_secret = coalesce(?3, totp_secret), identity_key = coalesce(?4, identity_key), "
        "disabled = coalesce(?5, disabled) WHERE id = ?1",
        ec);
    if (ec) return ec;
    q.bind(1, u.id);
    if (u.password_hash) q.bind_text(2, *u.password_hash); else q.bind_null(2);
    if (u.totp_secret) q.bind_blob(3, *u.totp_secret); else q.bind_null(3);
    if (u.identity_key) q.bind_blob(4, *u.identity_key); else q.bind_null(4);
    if (u.disabled) q.bind(5, *u.disabled ? 1 : 0); else q.bind_null(5);
    if ((ec = q.run())) return ec;
    return detail::require_change(db, store_errc::not_found);
  });
}

void sqlite_store::record_login_failure(core::worker_id id, core::unix_ms locked_until,
                                        core::store_handler<std::int32_t> done) {
  detail::write_op<std::int32_t>(
      *engine_, std::move(done),
      [id, locked_until](connection& db, std::int32_t& failures) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(
            "UPDATE workers SET failed_logins = failed_logins + 1, "
            "locked_until = max(locked_until, ?2) WHERE id = ?1 RETURNING failed_logins",
            ec);
        if (ec) return ec;
        q.bind(1, id).bind(2, locked_until);
        if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
        failures = static_cast<std::int32_t>(q.int64(0));
        while (q.next(ec)) {
        }
        return ec;
      });
}

void sqlite_store::reset_login_failures(core::worker_id id, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id](connection& db) -> std::error_code {
    std::error_code ec;
    auto q = db.prepare("UPDATE workers SET failed_logins = 0, locked_until = 0 WHERE id = ?1", ec);
    if (ec) return ec;
    q.bind(1, id);
    if ((ec = q.run())) return ec;
    return detail::require_change(db, store_errc::not_found);
  });
}

void sqlite_store::consume_totp_step(core::worker_id id, std::int64_t step,
                                     core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id, step](connection& db) -> std::error_code {
    std::error_code ec;
    {
      // Compare-and-set in one statement: a code replayed at the same step, even by two
      // logins at once, is accepted once.
      auto q = db.prepare(
          "UPDATE workers SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2", ec);
      if (ec) return ec;
      q.bind(1, id).bind(2, step);
      if ((ec = q.run())) return ec;
    }
    if (db.changes() > 0) return {};
    return worker_exists(db, id, store_errc::conflict);
  });
}

void sqlite_store::remove_worker(core::worker_id id, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id](connection& db) -> std::error_code {
    std::error_code ec;
    core::bytes identity_key;
    {
      auto q = db.prepare("SELECT identity_key FROM workers WHERE id = ?1", ec);
      if (ec) return ec;
      q.bind(1, id);
      if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
      identity_key = q.blob(0);
    }
    if (!identity_key.empty()) {
      // The bundle and its one-time prekeys (cascade) go with the account.
      auto q = db.prepare("DELETE FROM prekey_bundles WHERE identity_key = ?1", ec);
      if (ec) return ec;
      q.bind_blob(1, identity_key);
      if ((ec = q.run())) return ec;
    }
    // Sessions and shift state cascade; participants, queue and inbox rows keep their history
    // with the account link set to NULL (foreign keys ON DELETE SET NULL).
    auto q = db.prepare("DELETE FROM workers WHERE id = ?1", ec);
    if (ec) return ec;
    q.bind(1, id);
    return q.run();
  });
}

void sqlite_store::create_session(core::worker_session session,
                                  core::store_handler<core::bytes> done) {
  detail::write_op<core::bytes>(
      *engine_, std::move(done),
      [s = std::move(session)](connection& db, core::bytes& replaced) -> std::error_code {
        if (s.token_hash.empty() || s.device.empty()) return store_errc::invalid_argument;
        std::error_code ec;
        {
          // One session per device: the new login replaces the old one, whose sockets the
          // caller closes.
          auto q = db.prepare(
              "DELETE FROM sessions WHERE worker_id = ?1 AND device = ?2 RETURNING token_hash",
              ec);
          if (ec) return ec;
          q.bind(1, s.worker).bind_text(2, s.device);
          if (q.next(ec)) replaced = q.blob(0);
          while (!ec && q.next(ec)) {
          }
          if (ec) return ec;
        }
        auto q = db.prepare(
            "INSERT INTO sessions(token_hash, worker_id, device, created_at, expires_at, revoked) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            ec);
        if (ec) return ec;
        q.bind_blob(1, s.token_hash)
            .bind(2, s.worker)
            .bind_text(3, s.device)
            .bind(4, s.created_at)
            .bind(5, s.expires_at)
            .bind(6, s.revoked ? 1 : 0);
        return q.run();
      });
}

void sqlite_store::find_session(core::bytes token_hash,
                                core::store_handler<core::worker_session> done) {
  detail::read_op<core::worker_session>(
      *engine_, std::move(done),
      [h = std::move(token_hash)](connection& db, core::worker_session& out) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(
            "SELECT token_hash, worker_id, device, created_at, expires_at, revoked FROM sessions "
            "WHERE token_hash = ?1",
            ec);
        if (ec) return ec;
        q.bind_blob(1, h);
        if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
        out = session_row(q);
        return {};
      });
}

void sqlite_store::revoke_session(core::bytes token_hash, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done),
                   [h = std::move(token_hash)](connection& db) -> std::error_code {
                     std::error_code ec;
                     auto q = db.prepare("UPDATE sessions SET revoked = 1 WHERE token_hash = ?1", ec);
                     if (ec) return ec;
                     q.bind_blob(1, h);
                     if ((ec = q.run())) return ec;
                     return detail::require_change(db, store_errc::not_found);
                   });
}

void sqlite_store::revoke_worker_sessions(core::worker_id id,
                                          core::store_handler<std::vector<core::bytes>> done) {
  detail::write_op<std::vector<core::bytes>>(
      *engine_, std::move(done),
      [id](connection& db, std::vector<core::bytes>& out) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(
            "UPDATE sessions SET revoked = 1 WHERE worker_id = ?1 AND revoked = 0 "
            "RETURNING token_hash",
            ec);
        if (ec) return ec;
        q.bind(1, id);
        while (q.next(ec)) out.push_back(q.blob(0));
        return ec;
      });
}

}  // namespace relais::store
