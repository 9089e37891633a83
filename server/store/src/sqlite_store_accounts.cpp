// account_store on SQLite: worker accounts and login sessions.
#include <chrono>

#include "ops.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;

namespace {

constexpr const char* worker_columns =
    "id, username, password_hash, totp_secret, totp_last_step, identity_key, disabled, "
    "failed_logins, locked_until, created_at, display_name";

/// Longest display name stored (bytes): the protocol allows 1-64 (auth.ok display_name);
/// the store's backstop is looser so that it never becomes the place that decides.
constexpr std::size_t max_display_name_bytes = 1024;

constexpr const char* session_columns =
    "token_hash, worker_id, device, created_at, expires_at, revoked, revoked_at";

/// Now on the system clock, for the revocation forms called without a time.
core::unix_ms system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Logs the revocation of every session selected by `where` (bound to `bind`) that is
/// still live, then marks them revoked at `at`; appends their token hashes to `out`.
template <typename Bind>
std::error_code revoke_where(connection& db, const std::string& where, Bind bind, core::unix_ms at,
                             std::vector<core::bytes>* out) {
  std::error_code ec;
  {
    auto q = db.prepare(
        "INSERT INTO revocations(token_hash, worker_id, at) SELECT token_hash, worker_id, ?9 "
        "FROM sessions WHERE revoked = 0 AND " + where,
        ec);
    if (ec) return ec;
    bind(q);
    q.bind(9, at);
    if ((ec = q.run())) return ec;
  }
  auto q = db.prepare(
      "UPDATE sessions SET revoked = 1, revoked_at = ?9 WHERE revoked = 0 AND " + where +
          " RETURNING token_hash",
      ec);
  if (ec) return ec;
  bind(q);
  q.bind(9, at);
  while (q.next(ec)) {
    if (out != nullptr) out->push_back(q.blob(0));
  }
  return ec;
}

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
  w.display_name = q.text(10);
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
  s.revoked_at = q.int64(6);
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
        if (a.username.empty() || a.password_hash.empty() ||
            a.display_name.size() > max_display_name_bytes)
          return store_errc::invalid_argument;
        std::error_code ec;
        auto q = db.prepare(
            "INSERT INTO workers(username, password_hash, totp_secret, totp_last_step, "
            "identity_key, disabled, created_at, display_name) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            ec);
        if (ec) return ec;
        q.bind_text(1, a.username)
            .bind_text(2, a.password_hash)
            .bind_blob(3, a.totp_secret)
            .bind(4, a.totp_last_step)
            .bind_blob(5, a.identity_key)
            .bind(6, a.disabled ? 1 : 0)
            .bind(7, a.created_at)
            .bind_text(8, a.display_name);
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

void sqlite_store::find_worker_by_identity(core::bytes identity_key,
                                           core::store_handler<core::worker_account> done) {
  detail::read_op<core::worker_account>(
      *engine_, std::move(done),
      [key = std::move(identity_key)](connection& db, core::worker_account& out) -> std::error_code {
        // An empty key means "not published yet": it never identifies anyone.
        if (key.empty()) return store_errc::invalid_argument;
        // The repeated condition lets SQLite use the partial unique index.
        return select_worker(
            db, "identity_key = ?1 AND identity_key <> x''",
            [&key](detail::query& q) { q.bind_blob(1, key); }, out);
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
    if ((u.password_hash && u.password_hash->empty()) ||
        (u.display_name && u.display_name->size() > max_display_name_bytes))
      return store_errc::invalid_argument;
    std::error_code ec;
    // coalesce(NULL, column) keeps the column: absent fields are bound as NULL.
    auto q = db.prepare(
        "UPDATE workers SET password_hash = coalesce(?2, password_hash), "
        "totp_secret = coalesce(?3, totp_secret), identity_key = coalesce(?4, identity_key), "
        "disabled = coalesce(?5, disabled), display_name = coalesce(?6, display_name) "
        "WHERE id = ?1",
        ec);
    if (ec) return ec;
    q.bind(1, u.id);
    if (u.password_hash) q.bind_text(2, *u.password_hash); else q.bind_null(2);
    if (u.totp_secret) q.bind_blob(3, *u.totp_secret); else q.bind_null(3);
    if (u.identity_key) q.bind_blob(4, *u.identity_key); else q.bind_null(4);
    if (u.disabled) q.bind(5, *u.disabled ? 1 : 0); else q.bind_null(5);
    if (u.display_name) q.bind_text(6, *u.display_name); else q.bind_null(6);
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
  remove_worker(id, system_now_ms(), std::move(done));
}

void sqlite_store::remove_worker(core::worker_id id, core::unix_ms at,
                                 core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [id, at](connection& db) -> std::error_code {
    std::error_code ec;
    core::bytes identity_key;
    {
      auto q = db.prepare("SELECT identity_key FROM workers WHERE id = ?1", ec);
      if (ec) return ec;
      q.bind(1, id);
      if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
      identity_key = q.blob(0);
    }
    // The sessions go by cascade below: log their revocation first, so that a relaisd
    // polling list_revoked_since closes their sockets although the rows are gone.
    if ((ec = revoke_where(db, "worker_id = ?1", [id](detail::query& q) { q.bind(1, id); }, at,
                           nullptr)))
      return ec;
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
              "DELETE FROM sessions WHERE worker_id = ?1 AND device = ?2 RETURNING token_hash, "
              "revoked",
              ec);
          if (ec) return ec;
          q.bind(1, s.worker).bind_text(2, s.device);
          bool was_live = false;
          if (q.next(ec)) {
            replaced = q.blob(0);
            was_live = q.int64(1) == 0;
          }
          while (!ec && q.next(ec)) {
          }
          if (ec) return ec;
          if (was_live) {
            // Logged like any revocation: another relaisd process may hold its sockets.
            auto log = db.prepare(
                "INSERT INTO revocations(token_hash, worker_id, at) VALUES(?1, ?2, ?3)", ec);
            if (ec) return ec;
            log.bind_blob(1, replaced).bind(2, s.worker).bind(3, s.created_at);
            if ((ec = log.run())) return ec;
          }
        }
        auto q = db.prepare(
            "INSERT INTO sessions(token_hash, worker_id, device, created_at, expires_at, revoked, "
            "revoked_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            ec);
        if (ec) return ec;
        q.bind_blob(1, s.token_hash)
            .bind(2, s.worker)
            .bind_text(3, s.device)
            .bind(4, s.created_at)
            .bind(5, s.expires_at)
            .bind(6, s.revoked ? 1 : 0)
            .bind(7, s.revoked ? s.revoked_at : 0);
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
            std::string("SELECT ") + session_columns + " FROM sessions WHERE token_hash = ?1", ec);
        if (ec) return ec;
        q.bind_blob(1, h);
        if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
        out = session_row(q);
        return {};
      });
}

void sqlite_store::revoke_session(core::bytes token_hash, core::store_done_handler done) {
  revoke_session(std::move(token_hash), system_now_ms(), std::move(done));
}

void sqlite_store::revoke_session(core::bytes token_hash, core::unix_ms at,
                                  core::store_done_handler done) {
  detail::write_op(
      *engine_, std::move(done), [h = std::move(token_hash), at](connection& db) -> std::error_code {
        std::error_code ec;
        if ((ec = revoke_where(db, "token_hash = ?1",
                               [&h](detail::query& q) { q.bind_blob(1, h); }, at, nullptr)))
          return ec;
        if (db.changes() > 0) return {};
        // Revoked before (a retried logout): success, the first time stays.
        auto q = db.prepare("SELECT 1 FROM sessions WHERE token_hash = ?1", ec);
        if (ec) return ec;
        q.bind_blob(1, h);
        if (q.next(ec)) return {};
        return ec ? ec : make_error_code(store_errc::not_found);
      });
}

void sqlite_store::revoke_worker_sessions(core::worker_id id,
                                          core::store_handler<std::vector<core::bytes>> done) {
  revoke_worker_sessions(id, system_now_ms(), std::move(done));
}

void sqlite_store::revoke_worker_sessions(core::worker_id id, core::unix_ms at,
                                          core::store_handler<std::vector<core::bytes>> done) {
  detail::write_op<std::vector<core::bytes>>(
      *engine_, std::move(done),
      [id, at](connection& db, std::vector<core::bytes>& out) -> std::error_code {
        return revoke_where(db, "worker_id = ?1", [id](detail::query& q) { q.bind(1, id); }, at,
                            &out);
      });
}

void sqlite_store::list_revoked_since(core::unix_ms since,
                                      core::store_handler<std::vector<core::revocation>> done) {
  detail::read_op<std::vector<core::revocation>>(
      *engine_, std::move(done),
      [since](connection& db, std::vector<core::revocation>& out) -> std::error_code {
        std::error_code ec;
        std::int64_t last_id = 0;
        {
          // A range of the revocations_by_time index (its entries are (at, rowid): the
          // order below needs no sort).
          auto q = db.prepare(
              "SELECT token_hash, worker_id, at, id FROM revocations WHERE at > ?1 "
              "ORDER BY at, id LIMIT ?2",
              ec);
          if (ec) return ec;
          q.bind(1, since).bind(2, static_cast<std::int64_t>(core::limits::max_revocations_per_read));
          while (q.next(ec)) {
            out.push_back({q.blob(0), q.int64(1), q.int64(2)});
            last_id = q.int64(3);
          }
          if (ec) return ec;
        }
        if (out.size() < core::limits::max_revocations_per_read) return {};
        // A full page: add the rest of the last millisecond, so that the next poll from
        // `at` of the last row skips nothing.
        auto q = db.prepare(
            "SELECT token_hash, worker_id, at FROM revocations WHERE at = ?1 AND id > ?2 "
            "ORDER BY id",
            ec);
        if (ec) return ec;
        q.bind(1, out.back().at).bind(2, last_id);
        while (q.next(ec)) out.push_back({q.blob(0), q.int64(1), q.int64(2)});
        return ec;
      });
}

}  // namespace relais::store
