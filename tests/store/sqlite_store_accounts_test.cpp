// account_store: worker accounts, login counters, TOTP steps, sessions.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace relais::store
