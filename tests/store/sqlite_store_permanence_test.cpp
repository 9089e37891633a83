// permanence_store: queue order, racing takes, shift states, inbox.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store_test_support.hpp"

namespace relais::store {
namespace {

using core::store_errc;
using testing::open_store;
using testing::options_in;
using testing::temp_dir;
using testing::wait_done;
using testing::wait_for;

class Permanence : public ::testing::Test {
 protected:
  temp_dir dir_;
  sqlite_options options_ = options_in(dir_);
  std::unique_ptr<sqlite_store> s_ = open_store(options_);

  testing::outcome<core::queue_entry_id> join(const std::string& key, core::urgency u,
                                              core::unix_ms at) {
    core::queue_entry e;
    e.beneficiary_key = key;
    e.level = u;
    e.prechat = "prechat-of-" + key;
    e.joined_at = at;
    return wait_for<core::queue_entry_id>([&](auto h) { s_->enqueue(e, std::move(h)); });
  }
  std::vector<core::queue_entry> waiting() {
    return wait_for<std::vector<core::queue_entry>>([&](auto h) { s_->list_waiting(std::move(h)); })
        .value;
  }
  core::worker_id worker(const std::string& name) {
    core::worker_account a;
    a.username = name;
    a.password_hash = "h";
    return wait_for<core::worker_id>([&](auto h) { s_->create_worker(a, std::move(h)); }).value;
  }
};

TEST_F(Permanence, WaitingOrderIsUrgentFirstThenFirstComeFirstServed) {
  ASSERT_FALSE(join("a", core::urgency::normal, 10).ec);
  ASSERT_FALSE(join("b", core::urgency::urgent, 30).ec);
  ASSERT_FALSE(join("c", core::urgency::normal, 5).ec);
  ASSERT_FALSE(join("d", core::urgency::urgent, 20).ec);
  auto w = waiting();
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].beneficiary_key, "d");
  EXPECT_EQ(w[1].beneficiary_key, "b");
  EXPECT_EQ(w[2].beneficiary_key, "c");
  EXPECT_EQ(w[3].beneficiary_key, "a");
  EXPECT_EQ(w[0].prechat, "prechat-of-d");
}

TEST_F(Permanence, JoiningTwiceIsRefusedButRejoiningAfterLeavingIsNot) {
  auto first = join("a", core::urgency::normal, 1);
  ASSERT_FALSE(first.ec);
  EXPECT_EQ(join("a", core::urgency::urgent, 2).ec, store_errc::already_exists);
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->finish_queue_entry(first.value, core::queue_state::left, 3, std::move(h));
  }));
  EXPECT_FALSE(join("a", core::urgency::normal, 4).ec);
}

TEST_F(Permanence, TakingCreatesTheConversationAtomically) {
  auto w = worker("alice");
  auto id = join("bene", core::urgency::normal, 1).value;
  auto taken = wait_for<core::queue_entry>(
      [&](auto h) { s_->take_queue_entry({id, w, "alice-ik", 50}, std::move(h)); });
  ASSERT_FALSE(taken.ec);
  EXPECT_EQ(taken.value.state, core::queue_state::assigned);
  EXPECT_EQ(taken.value.prechat, "prechat-of-bene");
  EXPECT_GT(taken.value.conversation, 0);
  auto conv = wait_for<core::conversation>(
      [&](auto h) { s_->get_conversation(taken.value.conversation, std::move(h)); });
  ASSERT_FALSE(conv.ec);
  EXPECT_EQ(conv.value.beneficiary_key, "bene");
  ASSERT_EQ(conv.value.participants.size(), 2u);
  EXPECT_TRUE(waiting().empty());
}

TEST_F(Permanence, OfWorkersRacingForOneBeneficiaryExactlyOneWins) {
  std::vector<core::worker_id> workers;
  for (int i = 0; i < 8; ++i) workers.push_back(worker("w" + std::to_string(i)));
  auto id = join("bene", core::urgency::urgent, 1).value;
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back([&, i] {
      auto r = wait_for<core::queue_entry>([&](auto h) {
        s_->take_queue_entry({id, workers[i], "ik" + std::to_string(i), 5}, std::move(h));
      });
      if (!r.ec) ++wins;
      if (r.ec == store_errc::conflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_F(Permanence, TakeOrFinishOfUnknownEntryIsNotFound) {
  auto w = worker("alice");
  EXPECT_EQ(wait_for<core::queue_entry>([&](auto h) {
              s_->take_queue_entry({999, w, "ik", 5}, std::move(h));
            }).ec,
            store_errc::not_found);
  EXPECT_EQ(wait_done([&](auto h) {
              s_->finish_queue_entry(999, core::queue_state::timed_out, 5, std::move(h));
            }),
            store_errc::not_found);
}

TEST_F(Permanence, FinishingRequiresAFinalStateAndAWaitingEntry) {
  auto id = join("a", core::urgency::normal, 1).value;
  EXPECT_EQ(wait_done([&](auto h) {
              s_->finish_queue_entry(id, core::queue_state::assigned, 2, std::move(h));
            }),
            store_errc::invalid_argument);
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->finish_queue_entry(id, core::queue_state::moved_to_inbox, 2, std::move(h));
  }));
  EXPECT_EQ(wait_done([&](auto h) {
              s_->finish_queue_entry(id, core::queue_state::left, 3, std::move(h));
            }),
            store_errc::conflict);
}

TEST_F(Permanence, QueueSurvivesARestart) {
  ASSERT_FALSE(join("a", core::urgency::normal, 1).ec);
  ASSERT_FALSE(join("b", core::urgency::urgent, 2).ec);
  s_.reset();
  s_ = open_store(options_);
  auto w = waiting();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].beneficiary_key, "b");
}

TEST_F(Permanence, StoresShiftStates) {
  auto a = worker("alice");
  auto b = worker("bob");
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->set_shift_state({a, core::shift_mode::holiday, false, 1, 10}, std::move(h));
  }));
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->set_shift_state({b, core::shift_mode::manual_on, true, 3, 11}, std::move(h));
  }));
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->set_shift_state({a, core::shift_mode::scheduled, true, 2, 12}, std::move(h));
  }));
  auto states = wait_for<std::vector<core::shift_state>>(
      [&](auto h) { s_->list_shift_states(std::move(h)); });
  ASSERT_EQ(states.value.size(), 2u);
  EXPECT_EQ(states.value[0].mode, core::shift_mode::scheduled);
  EXPECT_TRUE(states.value[0].on_call);
  EXPECT_EQ(states.value[0].capacity, 2);
  EXPECT_EQ(states.value[1].mode, core::shift_mode::manual_on);
  EXPECT_EQ(wait_done([&](auto h) {
              s_->set_shift_state({999, core::shift_mode::manual_on, true, 1, 1}, std::move(h));
            }),
            store_errc::not_found);
}

TEST_F(Permanence, InboxClaimAndAnswer) {
  auto w1 = worker("alice");
  auto w2 = worker("bob");
  auto id = wait_for<core::inbox_entry_id>([&](auto h) {
    s_->add_inbox_entry({0, "bene", "sealed", 100, core::inbox_state::unread, 0, 0, 0}, std::move(h));
  });
  ASSERT_FALSE(id.ec);
  auto unread = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s_->list_inbox(core::inbox_state::unread, 10, std::move(h)); });
  ASSERT_EQ(unread.value.size(), 1u);
  EXPECT_EQ(unread.value[0].envelope, "sealed");
  ASSERT_FALSE(wait_done([&](auto h) { s_->claim_inbox_entry(id.value, w1, 110, std::move(h)); }));
  EXPECT_EQ(wait_done([&](auto h) { s_->claim_inbox_entry(id.value, w2, 111, std::move(h)); }),
            store_errc::conflict);
  auto conv = testing::make_conversation(*s_, "bene");
  ASSERT_FALSE(wait_done([&](auto h) { s_->answer_inbox_entry(id.value, conv, 120, std::move(h)); }));
  auto answered = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s_->list_inbox(core::inbox_state::answered, 10, std::move(h)); });
  ASSERT_EQ(answered.value.size(), 1u);
  EXPECT_EQ(answered.value[0].claimed_by, w1);
  EXPECT_EQ(answered.value[0].conversation, conv);
  EXPECT_EQ(wait_done([&](auto h) { s_->answer_inbox_entry(999, conv, 1, std::move(h)); }),
            store_errc::not_found);
}

TEST_F(Permanence, InboxRefusesEmptyEntriesAndBadLimits) {
  EXPECT_EQ(wait_for<core::inbox_entry_id>([&](auto h) {
              s_->add_inbox_entry({0, "bene", "", 1, core::inbox_state::unread, 0, 0, 0}, std::move(h));
            }).ec,
            store_errc::invalid_argument);
  EXPECT_EQ(wait_for<std::vector<core::inbox_entry>>([&](auto h) {
              s_->list_inbox(core::inbox_state::unread, 0, std::move(h));
            }).ec,
            store_errc::invalid_argument);
}

}  // namespace
}  // namespace relais::store
