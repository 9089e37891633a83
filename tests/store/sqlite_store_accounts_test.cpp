// account_store: worker accounts, login counters, TOTP steps, sessions.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>

#include "store_test_support.hpp"

namespace relais::store {
namespace {

using core::store_errc;
using testing::open_store;
using testing::options_in;
using testing::temp_dir;
using testing::wait_done;
using testing::wait_for;

class Accounts : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::unique_ptr<sqlite_store> s_ = open_store(options_in(dir_));

  testing::outcome<core::worker_id> create(const std::string& name) {
    core::worker_account a;
    a.username = name;
    a.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    a.totp_secret = "secret";
    a.created_at = 100;
    return wait_for<core::worker_id>([&](auto h) { s_->create_worker(a, std::move(h)); });
  }
  core::worker_account get(core::worker_id id) {
    auto r = wait_for<core::worker_account>([&](auto h) { s_->get_worker(id, std::move(h)); });
    EXPECT_FALSE(r.ec);
    return r.value;
  }
  std::error_code session(const std::string& token, core::worker_id w, const std::string& device,
                          std::string* replaced = nullptr) {
    auto r = wait_for<core::bytes>([&](auto h) {
      s_->create_session({token, w, device, 10, 1000, false}, std::move(h));
    });
    if (replaced != nullptr) *replaced = r.value;
    return r.ec;
  }
};

TEST_F(Accounts, CreatesFindsAndListsWorkers) {
  auto id = create("alice");
  ASSERT_FALSE(id.ec);
  ASSERT_FALSE(create("bob").ec);
  auto found = wait_for<core::worker_account>([&](auto h) { s_->find_worker("alice", std::move(h)); });
  ASSERT_FALSE(found.ec);
  EXPECT_EQ(found.value.id, id.value);
  EXPECT_EQ(found.value.totp_secret, "secret");
  EXPECT_EQ(found.value.created_at, 100);
  EXPECT_FALSE(found.value.disabled);
  auto all = wait_for<std::vector<core::worker_account>>([&](auto h) { s_->list_workers(std::move(h)); });
  EXPECT_EQ(all.value.size(), 2u);
  EXPECT_EQ(wait_for<core::worker_account>([&](auto h) { s_->find_worker("carol", std::move(h)); }).ec,
            store_errc::not_found);
}

TEST_F(Accounts, UsernameIsUniqueAndRequired) {
  ASSERT_FALSE(create("alice").ec);
  EXPECT_EQ(create("alice").ec, store_errc::already_exists);
  EXPECT_EQ(create("").ec, store_errc::invalid_argument);
}

TEST_F(Accounts, UpdatesOnlyTheGivenFields) {
  auto id = create("alice").value;
  core::worker_update u;
  u.id = id;
  u.disabled = true;
  u.identity_key = std::string("ik");
  ASSERT_FALSE(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }));
  auto w = get(id);
  EXPECT_TRUE(w.disabled);
  EXPECT_EQ(w.identity_key, "ik");
  EXPECT_EQ(w.totp_secret, "secret");
  u = {};
  u.id = 999;
  u.disabled = false;
  EXPECT_EQ(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }), store_errc::not_found);
}

TEST_F(Accounts, CountsFailuresAndResets) {
  auto id = create("alice").value;
  auto f1 = wait_for<std::int32_t>([&](auto h) { s_->record_login_failure(id, 0, std::move(h)); });
  auto f2 = wait_for<std::int32_t>([&](auto h) { s_->record_login_failure(id, 5000, std::move(h)); });
  EXPECT_EQ(f1.value, 1);
  EXPECT_EQ(f2.value, 2);
  EXPECT_EQ(get(id).locked_until, 5000);
  ASSERT_FALSE(wait_done([&](auto h) { s_->reset_login_failures(id, std::move(h)); }));
  EXPECT_EQ(get(id).failed_logins, 0);
  EXPECT_EQ(get(id).locked_until, 0);
  EXPECT_EQ(wait_for<std::int32_t>([&](auto h) { s_->record_login_failure(999, 0, std::move(h)); }).ec,
            store_errc::not_found);
}

TEST_F(Accounts, EachTotpStepIsAcceptedOnce) {
  auto id = create("alice").value;
  EXPECT_FALSE(wait_done([&](auto h) { s_->consume_totp_step(id, 100, std::move(h)); }));
  EXPECT_EQ(wait_done([&](auto h) { s_->consume_totp_step(id, 100, std::move(h)); }),
            store_errc::conflict);
  EXPECT_EQ(wait_done([&](auto h) { s_->consume_totp_step(id, 99, std::move(h)); }),
            store_errc::conflict);
  EXPECT_FALSE(wait_done([&](auto h) { s_->consume_totp_step(id, 101, std::move(h)); }));
  EXPECT_EQ(wait_done([&](auto h) { s_->consume_totp_step(999, 5, std::move(h)); }),
            store_errc::not_found);
}

TEST_F(Accounts, OneSessionPerDeviceAndRevocation) {
  auto id = create("alice").value;
  std::string replaced;
  ASSERT_FALSE(session("t1", id, "laptop", &replaced));
  EXPECT_TRUE(replaced.empty());
  ASSERT_FALSE(session("t2", id, "phone"));
  ASSERT_FALSE(session("t3", id, "laptop", &replaced));
  EXPECT_EQ(replaced, "t1");
  EXPECT_EQ(wait_for<core::worker_session>([&](auto h) { s_->find_session("t1", std::move(h)); }).ec,
            store_errc::not_found);
  ASSERT_FALSE(wait_done([&](auto h) { s_->revoke_session("t2", std::move(h)); }));
  auto t2 = wait_for<core::worker_session>([&](auto h) { s_->find_session("t2", std::move(h)); });
  EXPECT_TRUE(t2.value.revoked);
  EXPECT_EQ(t2.value.device, "phone");
  auto revoked = wait_for<std::vector<core::bytes>>(
      [&](auto h) { s_->revoke_worker_sessions(id, std::move(h)); });
  ASSERT_EQ(revoked.value.size(), 1u);
  EXPECT_EQ(revoked.value[0], "t3");
}

TEST_F(Accounts, SessionForUnknownWorkerIsNotFound) {
  EXPECT_EQ(session("t", 999, "laptop"), store_errc::not_found);
  EXPECT_EQ(wait_done([&](auto h) { s_->revoke_session("nope", std::move(h)); }),
            store_errc::not_found);
}

TEST_F(Accounts, RemovingAWorkerTakesSessionsKeysAndShiftButKeepsHistory) {
  auto id = create("alice").value;
  core::worker_update u;
  u.id = id;
  u.identity_key = std::string("alice-ik");
  ASSERT_FALSE(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }));
  ASSERT_FALSE(session("tok", id, "laptop"));
  ASSERT_FALSE(wait_done([&](auto h) { s_->publish_bundle({"alice-ik", "b", 1}, std::move(h)); }));
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->set_shift_state({id, core::shift_mode::manual_on, true, 2, 5}, std::move(h));
  }));
  core::new_conversation c{"bene", {{"alice-ik", core::participant_role::worker, id, 1, 0, 0, 0}}, 1};
  auto conv = wait_for<core::conversation_id>([&](auto h) { s_->create_conversation(c, std::move(h)); });
  ASSERT_FALSE(conv.ec);

  ASSERT_FALSE(wait_done([&](auto h) { s_->remove_worker(id, std::move(h)); }));
  EXPECT_EQ(wait_for<core::worker_account>([&](auto h) { s_->get_worker(id, std::move(h)); }).ec,
            store_errc::not_found);
  EXPECT_EQ(wait_for<core::worker_session>([&](auto h) { s_->find_session("tok", std::move(h)); }).ec,
            store_errc::not_found);
  EXPECT_EQ(wait_for<core::claimed_bundle>([&](auto h) { s_->claim_bundle("alice-ik", std::move(h)); }).ec,
            store_errc::not_found);
  EXPECT_TRUE(wait_for<std::vector<core::shift_state>>([&](auto h) { s_->list_shift_states(std::move(h)); })
                  .value.empty());
  auto kept = wait_for<core::conversation>([&](auto h) { s_->get_conversation(conv.value, std::move(h)); });
  ASSERT_FALSE(kept.ec);
  ASSERT_EQ(kept.value.participants.size(), 1u);
  EXPECT_EQ(kept.value.participants[0].worker, 0);
  EXPECT_EQ(wait_done([&](auto h) { s_->remove_worker(id, std::move(h)); }), store_errc::not_found);
}

TEST_F(Accounts, StoresAndUpdatesTheDisplayName) {
  core::worker_account a;
  a.username = "alice";
  a.display_name = "Alice M.";
  a.password_hash = "$argon2id$hash";
  auto id = wait_for<core::worker_id>([&](auto h) { s_->create_worker(a, std::move(h)); });
  ASSERT_FALSE(id.ec);
  EXPECT_EQ(get(id.value).display_name, "Alice M.");
  core::worker_update u;
  u.id = id.value;
  u.disabled = true;  // leaves the name alone
  ASSERT_FALSE(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }));
  EXPECT_EQ(get(id.value).display_name, "Alice M.");
  u = {};
  u.id = id.value;
  u.display_name = std::string("Alice Martin");
  ASSERT_FALSE(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }));
  auto listed = wait_for<std::vector<core::worker_account>>([&](auto h) { s_->list_workers(std::move(h)); });
  ASSERT_EQ(listed.value.size(), 1u);
  EXPECT_EQ(listed.value[0].display_name, "Alice Martin");
  // Accounts created without one have an empty name (the caller shows the username).
  EXPECT_EQ(get(create("bob").value).display_name, "");
}

TEST_F(Accounts, RefusesAnAbsurdDisplayName) {
  core::worker_update u;
  u.id = create("alice").value;
  u.display_name = std::string(2000, 'n');
  EXPECT_EQ(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }), store_errc::invalid_argument);
}

TEST_F(Accounts, FindsAWorkerByIdentityKey) {
  auto alice = create("alice").value;
  auto bob = create("bob").value;  // no key published: never matched
  core::worker_update u;
  u.id = alice;
  u.identity_key = std::string("alice-ik");
  ASSERT_FALSE(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }));
  auto found = wait_for<core::worker_account>([&](auto h) { s_->find_worker_by_identity("alice-ik", std::move(h)); });
  ASSERT_FALSE(found.ec);
  EXPECT_EQ(found.value.id, alice);
  EXPECT_EQ(found.value.username, "alice");
  EXPECT_EQ(wait_for<core::worker_account>([&](auto h) { s_->find_worker_by_identity("other", std::move(h)); }).ec,
            store_errc::not_found);
  EXPECT_EQ(wait_for<core::worker_account>([&](auto h) { s_->find_worker_by_identity("", std::move(h)); }).ec,
            store_errc::invalid_argument);
  // One account per key: bob cannot take alice's.
  u.id = bob;
  EXPECT_EQ(wait_done([&](auto h) { s_->update_worker(u, std::move(h)); }), store_errc::already_exists);
}

TEST_F(Accounts, RevocationsAreTimedAndListed) {
  auto id = create("alice").value;
  ASSERT_FALSE(session("t1", id, "laptop"));
  ASSERT_FALSE(session("t2", id, "phone"));
  ASSERT_FALSE(wait_done([&](auto h) { s_->revoke_session("t1", 5000, std::move(h)); }));
  // Revoking again is a retried logout: success, the first time stays.
  ASSERT_FALSE(wait_done([&](auto h) { s_->revoke_session("t1", 6000, std::move(h)); }));
  auto t1 = wait_for<core::worker_session>([&](auto h) { s_->find_session("t1", std::move(h)); });
  EXPECT_TRUE(t1.value.revoked);
  EXPECT_EQ(t1.value.revoked_at, 5000);
  auto t2 = wait_for<core::worker_session>([&](auto h) { s_->find_session("t2", std::move(h)); });
  EXPECT_FALSE(t2.value.revoked);
  EXPECT_EQ(t2.value.revoked_at, 0);
  auto by_worker = wait_for<std::vector<core::bytes>>(
      [&](auto h) { s_->revoke_worker_sessions(id, 7000, std::move(h)); });
  ASSERT_EQ(by_worker.value, std::vector<core::bytes>{"t2"});  // t1 was already revoked

  auto all = wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(0, std::move(h)); });
  ASSERT_FALSE(all.ec);
  ASSERT_EQ(all.value.size(), 2u);
  EXPECT_EQ(all.value[0].token_hash, "t1");
  EXPECT_EQ(all.value[0].worker, id);
  EXPECT_EQ(all.value[0].at, 5000);
  EXPECT_EQ(all.value[1].token_hash, "t2");
  EXPECT_EQ(all.value[1].at, 7000);
  // Strictly after `since`.
  auto later = wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(5000, std::move(h)); });
  ASSERT_EQ(later.value.size(), 1u);
  EXPECT_EQ(later.value[0].token_hash, "t2");
  EXPECT_TRUE(wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(7000, std::move(h)); })
                  .value.empty());
}

TEST_F(Accounts, ARemovedWorkersSessionsAreStillReportedRevoked) {
  auto id = create("alice").value;
  ASSERT_FALSE(session("t1", id, "laptop"));
  ASSERT_FALSE(session("t2", id, "phone"));
  ASSERT_FALSE(wait_done([&](auto h) { s_->revoke_session("t2", 100, std::move(h)); }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->remove_worker(id, 200, std::move(h)); }));
  EXPECT_EQ(wait_for<core::worker_session>([&](auto h) { s_->find_session("t1", std::move(h)); }).ec,
            store_errc::not_found);
  auto since = wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(150, std::move(h)); });
  ASSERT_EQ(since.value.size(), 1u);
  EXPECT_EQ(since.value[0].token_hash, "t1");
  EXPECT_EQ(since.value[0].worker, id);
  EXPECT_EQ(since.value[0].at, 200);
}

TEST_F(Accounts, ALoginReplacingADevicesSessionIsLoggedAsARevocation) {
  auto id = create("alice").value;
  ASSERT_FALSE(session("old", id, "laptop"));
  auto r = wait_for<core::bytes>([&](auto h) { s_->create_session({"new", id, "laptop", 900, 5000, false}, std::move(h)); });
  ASSERT_EQ(r.value, "old");
  auto log = wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(0, std::move(h)); });
  ASSERT_EQ(log.value.size(), 1u);
  EXPECT_EQ(log.value[0].token_hash, "old");
  EXPECT_EQ(log.value[0].at, 900);
}

TEST_F(Accounts, RevocationsWithoutATimeUseTheSystemClock) {
  auto id = create("alice").value;
  ASSERT_FALSE(session("t1", id, "laptop"));
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_FALSE(wait_done([&](auto h) { s_->revoke_session("t1", std::move(h)); }));
  auto t1 = wait_for<core::worker_session>([&](auto h) { s_->find_session("t1", std::move(h)); });
  EXPECT_GE(t1.value.revoked_at, before);
  EXPECT_EQ(wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(before - 1, std::move(h)); })
                .value.size(),
            1u);
}

TEST_F(Accounts, ListRevokedSinceIsBoundedButNeverSplitsAMillisecond) {
  const auto per_read = static_cast<int>(core::limits::max_revocations_per_read);
  // Workers with three sessions each, revoked worker by worker: three rows per millisecond.
  const int workers = per_read / 3 + 2;
  for (int w = 0; w < workers; ++w) {
    auto id = create("w" + std::to_string(w)).value;
    for (int d = 0; d < 3; ++d) {
      ASSERT_FALSE(session("t" + std::to_string(w) + "-" + std::to_string(d), id, "d" + std::to_string(d)));
    }
    ASSERT_FALSE(wait_for<std::vector<core::bytes>>(
                     [&](auto h) { s_->revoke_worker_sessions(id, 1000 + w, std::move(h)); })
                     .ec);
  }
  auto first = wait_for<std::vector<core::revocation>>([&](auto h) { s_->list_revoked_since(0, std::move(h)); });
  ASSERT_FALSE(first.ec);
  ASSERT_GE(first.value.size(), static_cast<std::size_t>(per_read));
  ASSERT_LT(first.value.size(), static_cast<std::size_t>(per_read + 3));
  EXPECT_EQ(first.value.size() % 3, 0u);  // whole milliseconds only
  for (std::size_t i = 1; i < first.value.size(); ++i) EXPECT_LE(first.value[i - 1].at, first.value[i].at);
  auto rest = wait_for<std::vector<core::revocation>>(
      [&](auto h) { s_->list_revoked_since(first.value.back().at, std::move(h)); });
  EXPECT_EQ(first.value.size() + rest.value.size(), static_cast<std::size_t>(workers * 3));
}

TEST_F(Accounts, ListRevokedSinceIsAnIndexRead) {
  // relaisd polls it every second: it must never scan the table. (The statement is the one
  // list_revoked_since prepares; keep the two in step.)
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(options_in(dir_).path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT token_hash, worker_id, at, id FROM revocations "
                               "WHERE at > ?1 ORDER BY at, id LIMIT ?2",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  std::string details;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    details += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    details += "\n";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_NE(details.find("USING INDEX revocations_by_time"), std::string::npos) << details;
  EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << details;
}

}  // namespace
}  // namespace relais::store
