// permanence_store: queue order and restarts, racing takes, shift states, continuity, the
// inbox with its recipients, idempotency and racing answers.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>
#include <vector>

#include "queries.hpp"
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
  core::worker_id worker(const std::string& name) { return testing::make_worker(*s_, name); }

  /// An inbox.send as the tests write it: beneficiary, client id, recipients, content, time.
  struct message {
    std::string beneficiary;
    std::string client_id;
    std::vector<core::worker_id> to;
    std::string envelope = "sealed";
    core::unix_ms at = 100;
  };
  testing::outcome<core::inbox_entry_id> add_entry(core::inbox_entry e) {
    return wait_for<core::inbox_entry_id>([&](auto h) { s_->add_inbox_entry(std::move(e), std::move(h)); });
  }
  testing::outcome<core::inbox_entry_id> add(const message& m) {
    return add_entry(testing::inbox_message(m.beneficiary, m.client_id, m.to, m.envelope, m.at));
  }
  std::vector<core::inbox_entry> for_worker(core::worker_id w, core::inbox_entry_id after = 0,
                                            std::size_t limit = 50) {
    auto r = wait_for<std::vector<core::inbox_entry>>(
        [&](auto h) { s_->list_inbox_for_worker({w, after, limit}, std::move(h)); });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
  }
  std::int64_t unread_count(core::worker_id w) {
    auto r = wait_for<std::int64_t>([&](auto h) { s_->count_unread_inbox(w, std::move(h)); });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
  }
  testing::outcome<core::inbox_entry> take(core::inbox_entry_id id, core::worker_id w,
                                           const std::string& key = "ik", core::unix_ms at = 200) {
    return wait_for<core::inbox_entry>(
        [&](auto h) { s_->take_inbox_entry({id, w, key, at}, std::move(h)); });
  }
  std::int64_t count_waiting() {
    auto r = wait_for<std::int64_t>([&](auto h) { s_->count_waiting(std::move(h)); });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
  }
  std::vector<core::shift_state> shift_states() {
    return wait_for<std::vector<core::shift_state>>(
               [&](auto h) { s_->list_shift_states(std::move(h)); })
        .value;
  }
  std::vector<core::worker_id> followers(const std::string& key) {
    auto r = wait_for<std::vector<core::worker_id>>(
        [&](auto h) { s_->list_followers(key, std::move(h)); });
    EXPECT_FALSE(r.ec) << r.ec.message();
    return r.value;
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
  auto id = add({"bene", "c1", {w1, w2}});
  ASSERT_FALSE(id.ec) << id.ec.message();
  auto unread = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s_->list_inbox(core::inbox_state::unread, 10, std::move(h)); });
  ASSERT_EQ(unread.value.size(), 1u);
  EXPECT_EQ(unread.value[0].envelope, "sealed");
  EXPECT_EQ(unread.value[0].client_msg_id, "c1");
  EXPECT_TRUE(unread.value[0].recipients.empty());
  ASSERT_FALSE(wait_done([&](auto h) { s_->claim_inbox_entry(id.value, w1, 110, std::move(h)); }));
  EXPECT_EQ(wait_done([&](auto h) { s_->claim_inbox_entry(id.value, w2, 111, std::move(h)); }),
            store_errc::conflict);
  // Claimed: unread for nobody, and no longer answerable in one step.
  EXPECT_EQ(unread_count(w1), 0);
  EXPECT_EQ(unread_count(w2), 0);
  EXPECT_TRUE(for_worker(w2).empty());
  EXPECT_EQ(take(id.value, w2).ec, store_errc::conflict);
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

TEST_F(Permanence, InboxRefusesBadEntriesAndBadLimits) {
  auto w = worker("alice");
  auto w2 = worker("bob");
  auto bad = [&](const message& m) { return add(m).ec; };
  EXPECT_EQ(bad({"bene", "c", {w}, ""}), store_errc::invalid_argument);      // no content
  EXPECT_EQ(bad({"", "c", {w}}), store_errc::invalid_argument);              // no beneficiary
  EXPECT_EQ(bad({"bene", "", {w}}), store_errc::invalid_argument);           // no client id
  EXPECT_EQ(bad({"bene", "c", {}}), store_errc::invalid_argument);           // nobody
  EXPECT_EQ(bad({"bene", "c", {w, w2, w}}), store_errc::invalid_argument);   // twice
  EXPECT_EQ(bad({"bene", "c", {0}}), store_errc::invalid_argument);          // no worker
  auto empty_key = testing::inbox_message("bene", "c", {w});
  empty_key.recipients[0].wrapped_key.clear();
  EXPECT_EQ(add_entry(empty_key).ec, store_errc::invalid_argument);
  auto big_key = testing::inbox_message("bene", "c", {w});
  big_key.recipients[0].wrapped_key.assign(core::limits::max_stored_wrapped_key_bytes + 1, 'k');
  EXPECT_EQ(add_entry(big_key).ec, store_errc::too_large);
  auto big = testing::inbox_message("bene", "c", {w});
  big.envelope.assign(core::limits::max_stored_envelope_bytes + 1, 'e');
  EXPECT_EQ(add_entry(big).ec, store_errc::too_large);
  std::vector<core::worker_id> crowd;
  for (std::size_t i = 0; i <= core::limits::max_stored_inbox_recipients; ++i)
    crowd.push_back(static_cast<core::worker_id>(i + 100));
  EXPECT_EQ(bad({"bene", "c", crowd}), store_errc::invalid_argument);
  // An unknown account: nothing stored, not even the entry.
  EXPECT_EQ(bad({"bene", "c", {w, 999}}), store_errc::not_found);
  EXPECT_EQ(unread_count(w), 0);
  EXPECT_TRUE(wait_for<std::vector<core::inbox_entry>>([&](auto h) {
                s_->list_inbox(core::inbox_state::unread, 10, std::move(h));
              }).value.empty());
  // The refused client id is still free.
  EXPECT_FALSE(add({"bene", "c", {w}}).ec);

  EXPECT_EQ(wait_for<std::vector<core::inbox_entry>>([&](auto h) {
              s_->list_inbox(core::inbox_state::unread, 0, std::move(h));
            }).ec,
            store_errc::invalid_argument);
  for (std::size_t limit : {std::size_t{0}, core::limits::max_page_messages + 1}) {
    EXPECT_EQ(wait_for<std::vector<core::inbox_entry>>([&](auto h) {
                s_->list_inbox_for_worker({w, 0, limit}, std::move(h));
              }).ec,
              store_errc::invalid_argument);
  }
  EXPECT_EQ(wait_for<std::vector<core::inbox_entry>>([&](auto h) {
              s_->list_inbox_for_worker({0, 0, 10}, std::move(h));
            }).ec,
            store_errc::invalid_argument);
}

TEST_F(Permanence, InboxSendIsStoredOncePerClientMessageId) {
  auto w = worker("alice");
  auto first = add({"bene", "c1", {w}, "first"});
  ASSERT_FALSE(first.ec);
  // The retry of a send whose ack was lost: the original id, nothing new stored.
  auto again = add({"bene", "c1", {w}, "first"});
  ASSERT_FALSE(again.ec);
  EXPECT_EQ(again.value, first.value);
  EXPECT_EQ(unread_count(w), 1);
  // The key is per beneficiary: another one may use the same client id.
  auto other = add({"someone-else", "c1", {w}});
  ASSERT_FALSE(other.ec);
  EXPECT_NE(other.value, first.value);
  // Still the original after it was answered (a very late retry opens nothing new).
  ASSERT_FALSE(take(first.value, w).ec);
  EXPECT_EQ(add({"bene", "c1", {w}, "first"}).value, first.value);
  EXPECT_EQ(unread_count(w), 1);
}

TEST_F(Permanence, InboxRepeatsFromManyThreadsStoreOneEntry) {
  auto w = worker("alice");
  std::vector<testing::outcome<core::inbox_entry_id>> results(16);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] { results[i] = add({"bene", "same", {w}}); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.value, results[0].value);
  }
  EXPECT_EQ(unread_count(w), 1);
}

TEST_F(Permanence, InboxListShowsAWorkerOnlyHisEntriesAndHisOwnKey) {
  auto a = worker("a");
  auto b = worker("b");
  auto c = worker("c");
  auto e1 = add({"b1", "m1", {a, b}}).value;
  auto e2 = add({"b2", "m2", {b}}).value;
  auto e3 = add({"b3", "m3", {a, c}, "third", 300}).value;
  auto for_a = for_worker(a);
  ASSERT_EQ(for_a.size(), 2u);
  EXPECT_EQ(for_a[0].id, e1);
  EXPECT_EQ(for_a[1].id, e3);
  EXPECT_EQ(for_a[1].beneficiary_key, "b3");
  EXPECT_EQ(for_a[1].envelope, "third");
  EXPECT_EQ(for_a[1].created_at, 300);
  EXPECT_EQ(for_a[1].client_msg_id, "m3");
  EXPECT_EQ(for_a[1].state, core::inbox_state::unread);
  for (const auto& e : for_a) {
    ASSERT_EQ(e.recipients.size(), 1u);
    EXPECT_EQ(e.recipients[0].worker, a);
    EXPECT_EQ(e.recipients[0].wrapped_key, "key-for-" + std::to_string(a));
  }
  auto for_b = for_worker(b);
  ASSERT_EQ(for_b.size(), 2u);
  EXPECT_EQ(for_b[0].id, e1);
  EXPECT_EQ(for_b[1].id, e2);
  EXPECT_EQ(for_b[0].recipients.size(), 1u);
  EXPECT_EQ(for_b[0].recipients[0].wrapped_key, "key-for-" + std::to_string(b));
  EXPECT_EQ(unread_count(a), 2);
  EXPECT_EQ(unread_count(b), 2);
  EXPECT_EQ(unread_count(c), 1);
  EXPECT_EQ(unread_count(9999), 0);
  // Paging: after an id, at most `limit`.
  auto page = for_worker(a, e1, 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, e3);
  EXPECT_TRUE(for_worker(a, e3, 10).empty());
  ASSERT_EQ(for_worker(b, 0, 1).size(), 1u);
  // Answered by c: gone for a too, still there for b's own.
  ASSERT_FALSE(take(e3, c).ec);
  ASSERT_EQ(for_worker(a).size(), 1u);
  EXPECT_EQ(unread_count(a), 1);
  EXPECT_EQ(unread_count(c), 0);
}

TEST_F(Permanence, TakingAnInboxEntryOpensItsConversation) {
  auto a = worker("alice");
  auto b = worker("bob");
  auto id = add({"bene", "m1", {a, b}}).value;
  auto taken = take(id, b, "bob-ik", 500);
  ASSERT_FALSE(taken.ec) << taken.ec.message();
  EXPECT_EQ(taken.value.id, id);
  EXPECT_EQ(taken.value.state, core::inbox_state::answered);
  EXPECT_EQ(taken.value.claimed_by, b);
  EXPECT_EQ(taken.value.updated_at, 500);
  EXPECT_EQ(taken.value.beneficiary_key, "bene");
  EXPECT_EQ(taken.value.envelope, "sealed");
  EXPECT_EQ(taken.value.client_msg_id, "m1");
  ASSERT_EQ(taken.value.recipients.size(), 1u);  // only the winner's own key
  EXPECT_EQ(taken.value.recipients[0].worker, b);
  EXPECT_EQ(taken.value.recipients[0].wrapped_key, "key-for-" + std::to_string(b));
  ASSERT_GT(taken.value.conversation, 0);

  auto conv = wait_for<core::conversation>(
      [&](auto h) { s_->get_conversation(taken.value.conversation, std::move(h)); });
  ASSERT_FALSE(conv.ec);
  EXPECT_EQ(conv.value.beneficiary_key, "bene");
  EXPECT_EQ(conv.value.created_at, 500);
  ASSERT_EQ(conv.value.participants.size(), 2u);
  for (const auto& p : conv.value.participants) {
    if (p.role == core::participant_role::worker) {
      EXPECT_EQ(p.identity_key, "bob-ik");
      EXPECT_EQ(p.worker, b);
    } else {
      EXPECT_EQ(p.identity_key, "bene");
      EXPECT_EQ(p.worker, 0);
    }
    EXPECT_EQ(p.joined_at, 500);
  }
  // The beneficiary, coming back later, finds it among its open conversations: nothing else
  // is needed to push conversation.opened on its next connection.
  auto open_for_bene = wait_for<std::vector<core::conversation>>(
      [&](auto h) { s_->list_conversations("bene", false, std::move(h)); });
  ASSERT_FALSE(open_for_bene.ec);
  ASSERT_EQ(open_for_bene.value.size(), 1u);
  EXPECT_EQ(open_for_bene.value[0].id, taken.value.conversation);
  EXPECT_EQ(open_for_bene.value[0].participants.size(), 2u);
  // Answered: listed as such, unread for nobody.
  auto answered = wait_for<std::vector<core::inbox_entry>>(
      [&](auto h) { s_->list_inbox(core::inbox_state::answered, 10, std::move(h)); });
  ASSERT_EQ(answered.value.size(), 1u);
  EXPECT_EQ(answered.value[0].conversation, taken.value.conversation);
  EXPECT_TRUE(for_worker(a).empty());
  EXPECT_EQ(unread_count(a), 0);
  EXPECT_EQ(unread_count(b), 0);
}

TEST_F(Permanence, TakingAnInboxEntryRefusesOutsidersRepeatsAndBadRequests) {
  auto a = worker("alice");
  auto b = worker("bob");
  auto outsider = worker("carol");
  auto id = add({"bene", "m1", {a, b}}).value;
  EXPECT_EQ(take(999, a).ec, store_errc::not_found);
  // Not addressed to her: as if it did not exist, and it stays unread for the others.
  EXPECT_EQ(take(id, outsider).ec, store_errc::not_found);
  EXPECT_EQ(unread_count(a), 1);
  EXPECT_EQ(take(id, a, "").ec, store_errc::invalid_argument);
  EXPECT_EQ(take(id, 0).ec, store_errc::invalid_argument);
  EXPECT_EQ(take(0, a).ec, store_errc::invalid_argument);
  ASSERT_FALSE(take(id, a).ec);
  EXPECT_EQ(take(id, b).ec, store_errc::conflict);
  EXPECT_EQ(take(id, a).ec, store_errc::conflict);  // no second conversation
  EXPECT_EQ(wait_for<std::vector<core::conversation>>([&](auto h) {
              s_->list_conversations("bene", true, std::move(h));
            }).value.size(),
            1u);
  EXPECT_EQ(take(id, outsider).ec, store_errc::not_found);
}

TEST_F(Permanence, OfRecipientsRacingForOneInboxEntryExactlyOneWins) {
  std::vector<core::worker_id> workers;
  for (int i = 0; i < 8; ++i) workers.push_back(worker("w" + std::to_string(i)));
  for (int round = 0; round < 5; ++round) {
    const std::string bene = "bene" + std::to_string(round);
    auto id = add({bene, "m", workers}).value;
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    std::atomic<core::worker_id> winner{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      threads.emplace_back([&, i] {
        auto r = take(id, workers[i], "ik" + std::to_string(i));
        if (!r.ec) {
          ++wins;
          winner = r.value.claimed_by;
        }
        if (r.ec == store_errc::conflict) ++conflicts;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(conflicts.load(), 7);
    auto convs = wait_for<std::vector<core::conversation>>(
        [&](auto h) { s_->list_conversations(bene, true, std::move(h)); });
    ASSERT_EQ(convs.value.size(), 1u) << "exactly one conversation opened";
    ASSERT_EQ(convs.value[0].participants.size(), 2u);
    bool found = false;
    for (const auto& p : convs.value[0].participants) found = found || p.worker == winner.load();
    EXPECT_TRUE(found);
  }
}

TEST_F(Permanence, ARemovedWorkerLeavesTheInboxOfTheOthersIntact) {
  auto a = worker("alice");
  auto b = worker("bob");
  auto id = add({"bene", "m1", {a, b}}).value;
  ASSERT_FALSE(wait_done([&](auto h) { s_->remove_worker(a, 10, std::move(h)); }));
  EXPECT_EQ(unread_count(a), 0);
  auto for_b = for_worker(b);
  ASSERT_EQ(for_b.size(), 1u);
  EXPECT_EQ(for_b[0].id, id);
  ASSERT_FALSE(take(id, b).ec);
}

TEST_F(Permanence, WaitingEntriesOfTheSameTimeAreServedInJoiningOrder) {
  auto first = join("first", core::urgency::normal, 10).value;
  auto second = join("second", core::urgency::normal, 10).value;
  auto urgent = join("urgent", core::urgency::urgent, 10).value;
  auto w = waiting();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].id, urgent);
  EXPECT_EQ(w[1].id, first);
  EXPECT_EQ(w[2].id, second);
}

TEST_F(Permanence, CountWaitingCountsOnlyWaitingEntries) {
  EXPECT_EQ(count_waiting(), 0);
  auto a = join("a", core::urgency::normal, 1).value;
  ASSERT_FALSE(join("b", core::urgency::urgent, 2).ec);
  ASSERT_FALSE(join("c", core::urgency::normal, 3).ec);
  EXPECT_EQ(count_waiting(), 3);
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->finish_queue_entry(a, core::queue_state::left, 4, std::move(h));
  }));
  auto w = worker("alice");
  ASSERT_FALSE(wait_for<core::queue_entry>([&](auto h) {
                 s_->take_queue_entry({waiting()[0].id, w, "ik", 5}, std::move(h));
               }).ec);
  EXPECT_EQ(count_waiting(), 1);
}

// Entries stay waiting across restarts, in order: nothing to requeue at start.
TEST_F(Permanence, AThousandWaitingEntriesSurviveARestartInOrder) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 1000; i += 4) {
        // Every seventh is urgent; join times collide in pairs to exercise the id tie-break.
        auto r = join("b" + std::to_string(i), i % 7 == 0 ? core::urgency::urgent : core::urgency::normal,
                      1000 + i / 2);
        EXPECT_FALSE(r.ec) << r.ec.message();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto before = waiting();
  ASSERT_EQ(before.size(), 1000u);
  s_.reset();
  s_ = open_store(options_);
  const auto after = waiting();
  ASSERT_EQ(after.size(), 1000u);
  EXPECT_EQ(count_waiting(), 1000);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id) << "at " << i;
    EXPECT_EQ(after[i].state, core::queue_state::waiting);
    EXPECT_EQ(after[i].prechat, "prechat-of-" + after[i].beneficiary_key);
    if (i == 0) continue;
    const auto& p = after[i - 1];
    const auto& c = after[i];
    // Service order: urgent first, then joined_at, then id.
    const bool ordered =
        p.level != c.level ? p.level == core::urgency::urgent
                           : (p.joined_at != c.joined_at ? p.joined_at < c.joined_at : p.id < c.id);
    EXPECT_TRUE(ordered) << "at " << i;
  }
}

TEST_F(Permanence, ShiftStatesKeepTheirEndAndCapacityAcrossARestart) {
  auto a = worker("alice");
  auto b = worker("bob");
  core::shift_state holiday{a, core::shift_mode::holiday, false, 2, 10, 1768435200000};
  ASSERT_FALSE(wait_done([&](auto h) { s_->set_shift_state(holiday, std::move(h)); }));
  core::shift_state stopped{b, core::shift_mode::manual_off, false, 0, 11, 0};
  ASSERT_FALSE(wait_done([&](auto h) { s_->set_shift_state(stopped, std::move(h)); }));
  s_.reset();
  s_ = open_store(options_);
  auto states = shift_states();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].worker, a);
  EXPECT_EQ(states[0].mode, core::shift_mode::holiday);
  EXPECT_EQ(states[0].capacity, 2);
  EXPECT_EQ(states[0].since, 10);
  EXPECT_EQ(states[0].until, 1768435200000);
  EXPECT_EQ(states[1].capacity, 0);
  EXPECT_EQ(states[1].until, 0);
  // Back from holiday: the end is cleared by the upsert.
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->set_shift_state({a, core::shift_mode::scheduled, true, 3, 20, 0}, std::move(h));
  }));
  states = shift_states();
  EXPECT_EQ(states[0].until, 0);
  EXPECT_EQ(states[0].capacity, 3);
  EXPECT_EQ(wait_done([&](auto h) {
              s_->set_shift_state({a, core::shift_mode::holiday, false, 1, 20, -1}, std::move(h));
            }),
            store_errc::invalid_argument);
  EXPECT_EQ(wait_done([&](auto h) {
              s_->set_shift_state({a, core::shift_mode::scheduled, true, -1, 20, 0}, std::move(h));
            }),
            store_errc::invalid_argument);
}

TEST_F(Permanence, FollowersAreTheDistinctWorkersOfABeneficiaryMostRecentFirst) {
  auto a = worker("a");
  auto b = worker("b");
  auto c = worker("c");
  auto d = worker("d");
  auto conv = [&](const std::string& bene, core::worker_id w, core::unix_ms at) {
    core::new_conversation n;
    n.beneficiary_key = bene;
    n.created_at = at;
    n.participants.push_back({bene, core::participant_role::beneficiary, 0, at});
    n.participants.push_back({"ik" + std::to_string(w), core::participant_role::worker, w, at});
    auto r = wait_for<core::conversation_id>([&](auto h) { s_->create_conversation(n, std::move(h)); });
    EXPECT_FALSE(r.ec);
    return r.value;
  };
  EXPECT_TRUE(followers("bene").empty());
  auto first = conv("bene", a, 10);
  ASSERT_FALSE(wait_done([&](auto h) { s_->end_conversation(first, 15, std::move(h)); }));
  auto second = conv("bene", b, 20);
  // Handed to c at 30: both b and c took part.
  ASSERT_FALSE(wait_done([&](auto h) {
    s_->transfer_conversation({second, b, {"ik" + std::to_string(c), core::participant_role::worker, c}, 30},
                              std::move(h));
  }));
  conv("someone-else", d, 50);  // not this beneficiary's
  conv("bene", a, 40);          // a again, later: a counts once, by its latest
  EXPECT_EQ(followers("bene"), (std::vector<core::worker_id>{a, c, b}));
  EXPECT_EQ(followers("someone-else"), (std::vector<core::worker_id>{d}));
  // A removed account drops out.
  ASSERT_FALSE(wait_done([&](auto h) { s_->remove_worker(c, 60, std::move(h)); }));
  EXPECT_EQ(followers("bene"), (std::vector<core::worker_id>{a, b}));
  EXPECT_EQ(wait_for<std::vector<core::worker_id>>([&](auto h) {
              s_->list_followers("", std::move(h));
            }).ec,
            store_errc::invalid_argument);
}

TEST_F(Permanence, FollowersAreCappedToTheMostRecent) {
  std::vector<core::worker_id> workers;
  for (int i = 0; i < 20; ++i) {
    auto w = worker("w" + std::to_string(i));
    workers.push_back(w);
    core::new_conversation n;
    n.beneficiary_key = "bene";
    n.created_at = 100 + i;
    n.participants.push_back({"bene", core::participant_role::beneficiary, 0, 100 + i});
    n.participants.push_back({"ik" + std::to_string(i), core::participant_role::worker, w, 100 + i});
    ASSERT_FALSE(wait_for<core::conversation_id>([&](auto h) { s_->create_conversation(n, std::move(h)); }).ec);
  }
  auto f = followers("bene");
  ASSERT_EQ(f.size(), core::limits::max_followers);
  for (std::size_t i = 0; i < f.size(); ++i) EXPECT_EQ(f[i], workers[19 - i]);
}

// The permanence's hot reads are index range reads, checked on the very SQL the store runs.
TEST_F(Permanence, HotReadsAreIndexRangeReads) {
  auto w = worker("alice");
  ASSERT_FALSE(add({"bene", "m", {w}}).ec);
  ASSERT_FALSE(join("b", core::urgency::normal, 1).ec);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(options_.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto plan = [db](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string details;
    const std::string explain = std::string("EXPLAIN QUERY PLAN ") + sql;
    if (sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      return std::string("prepare failed: ") + sqlite3_errmsg(db);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      details += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      details += "\n";
    }
    sqlite3_finalize(stmt);
    return details;
  };
  auto no_table_scan = [](const std::string& p) { return p.find("SCAN ") == std::string::npos; };

  const auto inbox = plan(detail::queries::list_inbox_for_worker);
  EXPECT_NE(inbox.find("inbox_recipients_by_worker (worker_id=? AND unread=? AND entry_id>?)"),
            std::string::npos)
      << inbox;
  EXPECT_NE(inbox.find("SEARCH e USING INTEGER PRIMARY KEY"), std::string::npos) << inbox;
  EXPECT_TRUE(no_table_scan(inbox)) << inbox;
  EXPECT_EQ(inbox.find("TEMP B-TREE"), std::string::npos) << "the index gives the order: " << inbox;

  const auto count = plan(detail::queries::count_unread_inbox);
  EXPECT_NE(count.find("COVERING INDEX inbox_recipients_by_worker (worker_id=? AND unread=?)"),
            std::string::npos)
      << count;
  EXPECT_TRUE(no_table_scan(count)) << count;

  const auto follow = plan(detail::queries::list_followers);
  EXPECT_NE(follow.find("SEARCH c USING COVERING INDEX conversations_by_beneficiary (beneficiary_key=?)"),
            std::string::npos)
      << follow;
  EXPECT_NE(follow.find("SEARCH p USING PRIMARY KEY (conversation_id=?)"), std::string::npos) << follow;
  EXPECT_TRUE(no_table_scan(follow)) << follow;

  // Counting waiting entries walks a partial index of waiting entries. SQLite 3.40 says
  // "USING INDEX" rather than "COVERING": its bytecode has a DeferredSeek on the table that is
  // never resolved, because count(*) reads no column and the partial index implies state = 0.
  const auto waiting_count = plan(detail::queries::count_waiting);
  EXPECT_NE(waiting_count.find("INDEX queue_"), std::string::npos) << waiting_count;
  sqlite3_close(db);
}

}  // namespace
}  // namespace relais::store
