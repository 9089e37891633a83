// key_store on SQLite: prekey bundles, one-time prekeys, encrypted backups.
#include "ops.hpp"
#include "relais/store/sqlite_store.hpp"

namespace relais::store {

using core::store_errc;
using detail::connection;

namespace {

std::error_code count_prekeys(connection& db, const core::bytes& key, std::int64_t& out) {
  std::error_code ec;
  auto q = db.prepare("SELECT count(*) FROM one_time_prekeys WHERE identity_key = ?1", ec);
  if (ec) return ec;
  q.bind_blob(1, key);
  if (q.next(ec)) out = q.int64(0);
  return ec;
}

}  // namespace

void sqlite_store::publish_bundle(core::prekey_bundle bundle, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done),
                   [b = std::move(bundle)](connection& db) -> std::error_code {
                     if (b.identity_key.empty() || b.bundle.empty())
                       return store_errc::invalid_argument;
                     if (b.bundle.size() > core::limits::max_stored_blob_bytes)
                       return store_errc::too_large;
                     std::error_code ec;
                     // An upsert, not a replace: REPLACE would delete the row and cascade
                     // away the one-time prekeys.
                     auto q = db.prepare(
                         "INSERT INTO prekey_bundles(identity_key, bundle, updated_at) "
                         "VALUES(?1, ?2, ?3) ON CONFLICT(identity_key) DO UPDATE SET "
                         "bundle = excluded.bundle, updated_at = excluded.updated_at",
                         ec);
                     if (ec) return ec;
                     q.bind_blob(1, b.identity_key).bind_blob(2, b.bundle).bind(3, b.updated_at);
                     return q.run();
                   });
}

void sqlite_store::add_one_time_prekeys(core::bytes identity_key,
                                        std::vector<core::one_time_prekey> keys,
                                        core::store_handler<std::int64_t> done) {
  detail::write_op<std::int64_t>(
      *engine_, std::move(done),
      [key = std::move(identity_key), keys = std::move(keys)](connection& db,
                                                               std::int64_t& count) -> std::error_code {
        if (key.empty() || keys.size() > core::limits::max_one_time_prekeys_per_upload)
          return store_errc::invalid_argument;
        std::error_code ec;
        for (const auto& k : keys) {
          if (k.public_key.empty()) return store_errc::invalid_argument;
          auto q = db.prepare(
              "INSERT INTO one_time_prekeys(identity_key, key_id, public_key) VALUES(?1, ?2, ?3)",
              ec);
          if (ec) return ec;
          q.bind_blob(1, key).bind(2, k.key_id).bind_blob(3, k.public_key);
          if ((ec = q.run())) return ec;
        }
        return count_prekeys(db, key, count);
      });
}

void sqlite_store::claim_bundle(core::bytes identity_key,
                                core::store_handler<core::claimed_bundle> done) {
  // A write, so it runs on the single writer inside a transaction: the DELETE ... RETURNING
  // hands each key to exactly one claimer. (PostgreSQL: the same DELETE on a row picked with
  // FOR UPDATE SKIP LOCKED.)
  detail::write_op<core::claimed_bundle>(
      *engine_, std::move(done),
      [key = std::move(identity_key)](connection& db,
                                      core::claimed_bundle& out) -> std::error_code {
        std::error_code ec;
        {
          auto q = db.prepare(
              "SELECT bundle, updated_at FROM prekey_bundles WHERE identity_key = ?1", ec);
          if (ec) return ec;
          q.bind_blob(1, key);
          if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
          out.bundle = {key, q.blob(0), q.int64(1)};
        }
        {
          auto q = db.prepare(
              "DELETE FROM one_time_prekeys WHERE identity_key = ?1 AND key_id = "
              "(SELECT key_id FROM one_time_prekeys WHERE identity_key = ?1 ORDER BY key_id "
              "LIMIT 1) RETURNING key_id, public_key",
              ec);
          if (ec) return ec;
          q.bind_blob(1, key);
          if (q.next(ec)) out.one_time = core::one_time_prekey{q.int64(0), q.blob(1)};
          while (!ec && q.next(ec)) {
          }
          if (ec) return ec;
        }
        return count_prekeys(db, key, out.remaining);
      });
}

void sqlite_store::count_one_time_prekeys(core::bytes identity_key,
                                          core::store_handler<std::int64_t> done) {
  detail::read_op<std::int64_t>(*engine_, std::move(done),
                                [key = std::move(identity_key)](connection& db, std::int64_t& n) {
                                  return count_prekeys(db, key, n);
                                });
}

void sqlite_store::put_backup(core::backup_blob blob, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done), [b = std::move(blob)](connection& db) -> std::error_code {
    if (b.lookup_id.empty()) return store_errc::invalid_argument;
    if (b.blob.size() > core::limits::max_stored_blob_bytes) return store_errc::too_large;
    std::error_code ec;
    {
      // Compare-and-set on the version: of two devices writing from the same version, one
      // wins and the other gets conflict (version_conflict) and must read again.
      auto q = b.version == 1
                   ? db.prepare("INSERT INTO backups(lookup_id, blob, updated_at, version) "
                                "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(lookup_id) DO NOTHING",
                                ec)
                   : db.prepare("UPDATE backups SET blob = ?2, updated_at = ?3, version = ?4 "
                                "WHERE lookup_id = ?1 AND version = ?4 - 1",
                                ec);
      if (ec) return ec;
      q.bind_blob(1, b.lookup_id).bind_blob(2, b.blob).bind(3, b.updated_at).bind(4, b.version);
      if ((ec = q.run())) return ec;
    }
    if (db.changes() > 0) return {};
    // A retried put whose first attempt was stored (its ack lost) finds its own version and
    // bytes: that is success, not a conflict.
    auto q = db.prepare(
        "SELECT 1 FROM backups WHERE lookup_id = ?1 AND version = ?2 AND blob = ?3", ec);
    if (ec) return ec;
    q.bind_blob(1, b.lookup_id).bind(2, b.version).bind_blob(3, b.blob);
    if (q.next(ec)) return {};
    return ec ? ec : make_error_code(store_errc::conflict);
  });
}

void sqlite_store::get_backup(core::bytes lookup_id, core::store_handler<core::backup_blob> done) {
  detail::read_op<core::backup_blob>(
      *engine_, std::move(done),
      [id = std::move(lookup_id)](connection& db, core::backup_blob& out) -> std::error_code {
        std::error_code ec;
        auto q = db.prepare(
            "SELECT blob, version, updated_at FROM backups WHERE lookup_id = ?1", ec);
        if (ec) return ec;
        q.bind_blob(1, id);
        if (!q.next(ec)) return ec ? ec : make_error_code(store_errc::not_found);
        out.lookup_id = id;
        out.blob = q.blob(0);
        out.version = q.int64(1);
        out.updated_at = q.int64(2);
        return {};
      });
}

void sqlite_store::delete_backup(core::bytes lookup_id, core::store_done_handler done) {
  detail::write_op(*engine_, std::move(done),
                   [id = std::move(lookup_id)](connection& db) -> std::error_code {
                     std::error_code ec;
                     auto q = db.prepare("DELETE FROM backups WHERE lookup_id = ?1", ec);
                     if (ec) return ec;
                     q.bind_blob(1, id);
                     if ((ec = q.run())) return ec;
                     return detail::require_change(db, store_errc::not_found);
                   });
}

}  // namespace relais::store
