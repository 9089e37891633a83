// The permanence through real sessions (fixture in session_fixture.hpp): queue order,
// estimates and their coalesced pushes, grace period, limits, races, shift ends, transfers,
// the inbox and a restart, on the real SQLite store with a manual clock; tick() is called by
// the test where relaisd's background thread would.
#include "relais/core/permanence.hpp"

#include "relais/crypto/certificate.hpp"
#include "session_fixture.hpp"

namespace relais::core {
namespace {

/// One connected client of a test.
struct client {
  std::shared_ptr<session> s;
  std::shared_ptr<test_port> p;
  crypto::identity_key_pair key;
  worker_id worker = 0;
  json login_shift;  // a worker's shift.state pushed after auth.ok

  [[nodiscard]] std::string key_text() const { return pr::encoded_bytes::from_bytes(key.public_key_bytes()).text(); }
};

class Permanence : public session_fixture {
 protected:
  void SetUp() override {
    session_fixture::SetUp();
    settings_.permanence.emergency_numbers = default_emergency_numbers("FR");
  }

  client beneficiary(const crypto::identity_key_pair& key) {
    auto [s, p] = make_session();
    auto welcome = hello(*s, *p, "beneficiary");
    std::error_code ec;
    auto input = pr::beneficiary_auth_signing_input(
        pr::encoded_bytes::from_text(welcome["challenge"].get<std::string>(), ec), ec);
    frame(*s, {{"type", "auth.beneficiary"}, {"rid", "a"},
               {"identity_key", pr::encoded_bytes::from_bytes(key.public_key_bytes()).text()},
               {"signature", pr::encoded_bytes::from_bytes(key.sign(input)).text()}});
    EXPECT_EQ(p->next().value("type", ""), "auth.ok");
    return client{s, p, key, 0, {}};
  }
  client beneficiary() { return beneficiary(crypto::identity_key_pair::generate(random_)); }

  /// A worker account with a published identity key, logged in; the shift.state pushed after
  /// auth.ok is checked and consumed.
  client worker(const std::string& username, const std::string& display_name = "Camille") {
    auto key = crypto::identity_key_pair::generate(random_);
    worker_account a;
    a.username = username;
    a.display_name = display_name;
    a.password_hash = "$argon2id$fake";
    a.identity_key = bytes(reinterpret_cast<const char*>(key.public_key_bytes().data()), 32);
    std::promise<worker_id> got;
    store_->create_worker(a, [&got](std::error_code ec, worker_id id) { got.set_value(ec ? 0 : id); });
    auto id = got.get_future().get();
    auto [s, p] = make_session();
    hello(*s, *p, "worker");
    frame(*s, {{"type", "auth.login"}, {"rid", "l"}, {"username", username}, {"password", "right"}, {"device", "d"}});
    EXPECT_EQ(p->next().value("type", ""), "auth.ok");
    auto st = p->next();
    EXPECT_EQ(st.value("type", ""), "shift.state") << st.dump();
    EXPECT_FALSE(st.contains("rid"));
    return client{s, p, key, id, st};
  }

  /// Sends `j` and returns the answer with its rid (pushes meanwhile are skipped).
  static json request(client& c, const json& j) {
    frame(*c.s, j);
    for (;;) {
      auto f = c.p->next();
      if (f.is_null() || f.value("rid", "") == j.value("rid", "")) return f;
    }
  }

  /// The next push of `type` to `c` (other pushes, such as queue snapshots, are skipped).
  static json expect_push(client& c, const std::string& type) {
    for (;;) {
      auto f = c.p->next();
      if (f.is_null() || f.value("type", "") == type) return f;
    }
  }

  static void start_shift(client& w) {
    auto st = request(w, {{"type", "shift.start"}, {"rid", "s"}});
    ASSERT_EQ(st.value("state", ""), "on") << st.dump();
  }

  /// Joins and returns the queue.position reply.
  static json join(client& b, bool urgent) {
    return request(b, {{"type", "queue.join"}, {"rid", "j"}, {"urgent", urgent}});
  }

  /// Frames already received by `c` (pushes), without waiting for more than `wait`.
  static std::vector<json> drain(client& c, std::chrono::milliseconds wait = 100ms) {
    std::vector<json> out;
    for (;;) {
      auto f = c.p->next(wait);
      if (f.is_null()) return out;
      out.push_back(f);
    }
  }

  void tick_after(duration d) {
    clock_.advance(d);
    permanence_->tick();
  }

  void expect_conversations(std::size_t n, const client& b) {
    std::promise<std::vector<conversation>> got;
    store_->list_conversations(bytes(reinterpret_cast<const char*>(b.key.public_key_bytes().data()), 32), true,
                               [&got](std::error_code, std::vector<conversation> list) { got.set_value(list); });
    EXPECT_EQ(got.get_future().get().size(), n);
  }
};

TEST_F(Permanence, StatusIsPublicAndShowsTheCountrysEmergencyNumbersWhenClosed) {
  auto [s, p] = make_session();
  hello(*s, *p, "beneficiary");  // not authenticated: the widget reads it before anything
  frame(*s, {{"type", "permanence.get"}, {"rid", "p"}});
  auto st = p->next();
  ASSERT_EQ(st.value("type", ""), "permanence.status") << st.dump();
  EXPECT_EQ(st.value("rid", ""), "p");
  EXPECT_FALSE(st.value("open", true));
  EXPECT_EQ(st.value("availability", ""), "closed");
  EXPECT_FALSE(st.value("queue_open", true));
  std::vector<std::string> numbers;
  for (const auto& n : st["emergency_numbers"]) numbers.push_back(n.value("number", ""));
  EXPECT_EQ(numbers, (std::vector<std::string>{"112", "15", "3114", "119", "3919", "114"}));
  EXPECT_TRUE(st["emergency_numbers"][5].value("sms", false));
  // A worker starts: the watcher is pushed the change at the next round.
  permanence_->tick();
  auto w = worker("camille");
  start_shift(w);
  tick_after(1s);
  auto pushed = p->next();
  EXPECT_EQ(pushed.value("type", ""), "permanence.status");
  EXPECT_FALSE(pushed.contains("rid"));
  EXPECT_TRUE(pushed.value("open", false));
  EXPECT_EQ(pushed.value("availability", ""), "available");
  EXPECT_EQ(pushed.value("workers_on_call", 0), 1);
}

TEST_F(Permanence, ClosedRefusesToJoinWithTheDocumentedCode) {
  auto b = beneficiary();
  auto e = join(b, false);
  EXPECT_EQ(e.value("name", ""), "permanence_closed");
  EXPECT_EQ(e.value("code", 0), 700);
}

TEST_F(Permanence, UrgentFirstThenFirstComeFirstServed) {
  auto w = worker("camille");
  start_shift(w);
  auto b1 = beneficiary();
  auto b2 = beneficiary();
  auto b3 = beneficiary();
  EXPECT_EQ(join(b1, false).value("position", 0), 1);
  clock_.advance(1s);
  EXPECT_EQ(join(b2, false).value("position", 0), 2);
  clock_.advance(1s);
  auto urgent = join(b3, true);
  EXPECT_EQ(urgent.value("position", 0), 1);
  // The two who moved back are told at the next round.
  tick_after(1s);
  EXPECT_EQ(b1.p->next().value("position", 0), 2);
  EXPECT_EQ(b2.p->next().value("position", 0), 3);
  // The worker sees the serving order; taking the next gives the urgent one.
  auto snapshot = request(w, {{"type", "queue.list"}, {"rid", "l"}});
  ASSERT_EQ(snapshot["entries"].size(), 3u);
  EXPECT_TRUE(snapshot["entries"][0].value("urgent", false));
  EXPECT_EQ(snapshot["entries"][0].value("ticket_id", 0), urgent.value("ticket_id", -1));
  auto assigned = request(w, {{"type", "queue.take"}, {"rid", "t"}});
  ASSERT_EQ(assigned.value("type", ""), "conversation.assigned") << assigned.dump();
  EXPECT_EQ(assigned.value("beneficiary_key", ""), b3.key_text());
  EXPECT_TRUE(assigned.value("urgent", false));
  EXPECT_EQ(b3.p->next().value("type", ""), "conversation.opened");
  // Joining twice is refused; a beneficiary cannot run a shift.
  EXPECT_EQ(join(b1, false).value("name", ""), "already_in_queue");
  EXPECT_EQ(request(b1, {{"type", "shift.start"}, {"rid", "x"}}).value("name", ""), "forbidden");
}

TEST_F(Permanence, EstimatesFollowWorkersOnCallAndAreCoalescedToOneUpdateASecond) {
  settings_.permanence.default_handling_time = 15min;
  auto w1 = worker("camille");
  start_shift(w1);
  std::vector<client> waiting;
  for (int i = 0; i < 4; ++i) waiting.push_back(beneficiary());
  // One worker, idle: the first waits for nobody; the others for ceil((p - 1) / 1) × 15 min.
  std::vector<std::int64_t> waits;
  for (auto& b : waiting) waits.push_back(join(b, false).value("estimated_wait_s", -1));
  EXPECT_EQ(waits, (std::vector<std::int64_t>{0, 900, 1800, 2700}));
  // A second worker comes on call: two idle workers, everyone's estimate moves at once.
  auto w2 = worker("nadia", "Nadia");
  start_shift(w2);
  tick_after(1s);
  std::vector<std::int64_t> after;
  for (auto& b : waiting) {
    auto f = drain(b);
    if (f.empty()) {
      after.push_back(-1);  // unchanged: nothing sent
      continue;
    }
    EXPECT_EQ(f.size(), 1u);
    after.push_back(f.back().value("estimated_wait_s", -1));
  }
  // p=1,2: 0 (idle workers); p=3: ceil(1/2)×15 min; p=4: ceil(2/2)×15 min.
  EXPECT_EQ(after, (std::vector<std::int64_t>{-1, 0, 900, 900}));
  // Three takes within one second: one position update per waiting person, not three.
  auto extra = beneficiary();
  join(extra, false);
  EXPECT_EQ(request(w1, {{"type", "queue.take"}, {"rid", "t1"}}).value("type", ""), "conversation.assigned");
  EXPECT_EQ(request(w2, {{"type", "queue.take"}, {"rid", "t2"}}).value("type", ""), "conversation.assigned");
  EXPECT_EQ(request(w1, {{"type", "queue.take"}, {"rid", "t3"}}).value("type", ""), "conversation.assigned");
  tick_after(1s);
  auto pushes = drain(extra);
  std::size_t positions = 0;
  for (const auto& f : pushes) positions += f.value("type", "") == "queue.position" ? 1u : 0u;
  EXPECT_EQ(positions, 1u);
  EXPECT_EQ(pushes.back().value("position", 0), 2);
  permanence_->tick();  // within the same second: nothing more
  EXPECT_TRUE(drain(extra, 50ms).empty());
}

TEST_F(Permanence, AReconnectionWithinTheGracePeriodKeepsThePlace) {
  settings_.permanence.grace = 2min;
  auto w = worker("camille");
  start_shift(w);
  auto first = beneficiary();
  auto second = beneficiary();
  auto ticket = join(first, false).value("ticket_id", 0);
  join(second, false);
  first.s->on_closed();
  tick_after(119s);
  EXPECT_EQ(permanence_->waiting_count(), 2u);
  // Back with the same identity key: its place, told at once, no second join.
  auto again = beneficiary(first.key);
  auto pos = again.p->next();
  EXPECT_EQ(pos.value("type", ""), "queue.position");
  EXPECT_EQ(pos.value("ticket_id", 0), ticket);
  EXPECT_EQ(pos.value("position", 0), 1);
  // Gone longer than the grace period: the place is given up, the next one moves up.
  again.s->on_closed();
  tick_after(121s);
  EXPECT_EQ(permanence_->waiting_count(), 1u);
  tick_after(1s);
  auto moved = drain(second);
  ASSERT_FALSE(moved.empty());
  EXPECT_EQ(moved.back().value("position", 0), 1);
}

TEST_F(Permanence, AFullQueueRefusesWithTheDocumentedCodeAndClosesTheStatus) {
  settings_.permanence.queue_max = 2;
  auto w = worker("camille");
  start_shift(w);
  auto b1 = beneficiary();
  auto b2 = beneficiary();
  auto b3 = beneficiary();
  join(b1, false);
  join(b2, false);
  auto e = join(b3, true);
  EXPECT_EQ(e.value("name", ""), "queue_full");
  EXPECT_EQ(e.value("code", 0), 306);
  auto st = request(b3, {{"type", "permanence.get"}, {"rid", "p"}});
  EXPECT_TRUE(st.value("open", false));
  EXPECT_FALSE(st.value("queue_open", true));
  EXPECT_EQ(permanence_->waiting_count(), 2u);
}

TEST_F(Permanence, TwoWorkersRacingForOneBeneficiaryGiveItToExactlyOne) {
  auto w1 = worker("camille");
  auto w2 = worker("nadia", "Nadia");
  start_shift(w1);
  start_shift(w2);
  auto b = beneficiary();
  auto ticket = join(b, false).value("ticket_id", 0);
  // The second frame may be handled before or after the first take completes in the store:
  // either way the loser hears already_taken.
  frame(*w1.s, {{"type", "queue.take"}, {"rid", "a"}, {"ticket_id", ticket}});
  frame(*w2.s, {{"type", "queue.take"}, {"rid", "b"}, {"ticket_id", ticket}});
  auto r1 = w1.p->next();
  auto r2 = w2.p->next();
  int winners = (r1.value("type", "") == "conversation.assigned") + (r2.value("type", "") == "conversation.assigned");
  EXPECT_EQ(winners, 1) << r1.dump() << r2.dump();
  auto loser = r1.value("type", "") == "conversation.assigned" ? r2 : r1;
  EXPECT_EQ(loser.value("name", ""), "already_taken");
  expect_conversations(1, b);
  // Once the take is done, a late click on the same ticket still says someone was first; a
  // ticket that never was is not found.
  EXPECT_EQ(request(w2, {{"type", "queue.take"}, {"rid", "late"}, {"ticket_id", ticket}}).value("name", ""),
            "already_taken");
  EXPECT_EQ(request(w2, {{"type", "queue.take"}, {"rid", "none"}, {"ticket_id", ticket + 1000}}).value("name", ""),
            "ticket_not_found");
  EXPECT_EQ(request(w2, {{"type", "queue.take"}, {"rid", "c"}}).value("name", ""), "queue_empty");
  // Off shift, nobody is taken.
  request(w2, {{"type", "shift.stop"}, {"rid", "s"}});
  auto b2 = beneficiary();
  join(b2, false);
  auto off = worker("sami", "Sami");
  EXPECT_EQ(request(off, {{"type", "queue.take"}, {"rid", "d"}}).value("name", ""), "off_shift");
}

TEST_F(Permanence, EndOfShiftRequeuesOpenConversationsForAColleague) {
  auto w1 = worker("camille");
  auto w2 = worker("nadia", "Nadia");
  start_shift(w1);
  start_shift(w2);
  auto b = beneficiary();
  join(b, false);
  auto assigned = request(w1, {{"type", "queue.take"}, {"rid", "t"}});
  ASSERT_EQ(assigned.value("type", ""), "conversation.assigned");
  EXPECT_EQ(b.p->next().value("type", ""), "conversation.opened");
  auto stopped = request(w1, {{"type", "shift.stop"}, {"rid", "s"}, {"handover", "colleague"}});
  EXPECT_EQ(stopped.value("state", ""), "off");
  EXPECT_EQ(stopped.value("rid", ""), "s");
  // Her conversation ends for both sides; the beneficiary waits again, first in line.
  auto ended = b.p->next();
  EXPECT_EQ(ended.value("type", ""), "conversation.ended");
  EXPECT_EQ(ended.value("reason", ""), "shift_end");
  w1.p->settle(100ms);
  EXPECT_FALSE(w1.p->closed());  // she stopped it herself: her console stays, saying "off"
  // The requeue lands from a store thread; wait for it, then the next round tells her.
  for (int i = 0; i < 100 && permanence_->waiting_count() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(permanence_->waiting_count(), 1u);
  tick_after(1s);
  auto waiting = drain(b);
  ASSERT_FALSE(waiting.empty());
  EXPECT_EQ(waiting.back().value("type", ""), "queue.position");
  EXPECT_EQ(waiting.back().value("position", 0), 1);
  auto again = request(w2, {{"type", "queue.take"}, {"rid", "t2"}});
  EXPECT_EQ(again.value("type", ""), "conversation.assigned");
  EXPECT_EQ(again.value("beneficiary_key", ""), b.key_text());
  EXPECT_TRUE(again.value("returning", true) == false);
}

TEST_F(Permanence, TheScheduledEndOfAShiftClosesTheWorkersConnectionsWith4004) {
  // 2026-01-01 00:00 UTC is a Thursday, 01:00 in Paris; her slot ends at 01:30 Paris time.
  schedule_config cfg;
  cfg.time_zone = "Europe/Paris";
  cfg.slots.push_back(weekly_slot{{weekday::thu}, local_time{0}, local_time{90}, {"camille"}});
  std::shared_ptr<const schedule> on_call;
  ASSERT_FALSE(schedule::create(cfg, on_call));
  settings_.permanence.on_call = on_call;
  auto w = worker("camille");
  permanence_->tick();
  const auto& on = w.login_shift;
  EXPECT_EQ(on.value("state", ""), "on");
  EXPECT_EQ(on.value("mode", ""), "scheduled");
  EXPECT_EQ(on.value("ends_at", std::int64_t{0}), 1'767'227'400'000);  // 00:30 UTC
  auto b = beneficiary();
  ASSERT_EQ(join(b, false).value("type", ""), "queue.position");
  tick_after(29min + 59s);
  w.p->settle(50ms);
  EXPECT_FALSE(w.p->closed());
  tick_after(1s);
  auto off = expect_push(w, "shift.state");
  EXPECT_EQ(off.value("state", ""), "off");
  w.p->settle(50ms);
  EXPECT_EQ(w.p->closed(), 4004);
  auto t = expect_push(b, "queue.timeout");
  EXPECT_EQ(t.value("reason", ""), "closed");
  auto st = request(b, {{"type", "permanence.get"}, {"rid", "p"}});
  EXPECT_FALSE(st.value("open", true));
  EXPECT_EQ(st.value("next_opening_at", std::int64_t{0}), 1'767'225'600'000 + 7LL * 24 * 3'600'000 - 3'600'000);
}

TEST_F(Permanence, TheWeekAheadShowsHerWindowsTheOpeningHoursAndTheClosedDays) {
  // Thursday 2026-01-01 01:00 in Paris. Camille: weekdays 09:00-12:00; Nadia: Thursdays
  // 14:00-18:00; Friday 2 January closed (a bridge day).
  schedule_config cfg;
  cfg.time_zone = "Europe/Paris";
  cfg.slots.push_back(weekly_slot{{weekday::mon, weekday::tue, weekday::wed, weekday::thu, weekday::fri},
                                  local_time{9 * 60}, local_time{12 * 60}, {"camille"}});
  cfg.slots.push_back(weekly_slot{{weekday::thu}, local_time{14 * 60}, local_time{18 * 60}, {"nadia"}});
  cfg.exceptions.push_back(dated_exception{local_date{2026, 1, 2}, true, {}, {}, {}});
  std::shared_ptr<const schedule> on_call;
  ASSERT_FALSE(schedule::create(cfg, on_call));
  settings_.permanence.on_call = on_call;
  auto w = worker("camille");
  auto week = request(w, {{"type", "shift.schedule"}, {"rid", "w"}});
  ASSERT_EQ(week.value("type", ""), "shift.week") << week.dump();
  EXPECT_EQ(week.value("time_zone", ""), "Europe/Paris");
  constexpr std::int64_t day = 86'400'000, hour = 3'600'000, jan1 = 1'767'225'600'000;  // 00:00 UTC
  EXPECT_EQ(week.value("from", std::int64_t{0}), jan1);
  EXPECT_EQ(week.value("to", std::int64_t{0}), jan1 + 7 * day);
  auto spans = [](const json& list) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& x : list) out.emplace_back(x.value("start", std::int64_t{0}), x.value("end", std::int64_t{0}));
    return out;
  };
  using spans_t = std::vector<std::pair<std::int64_t, std::int64_t>>;
  // Hers: Thursday, then (Friday closed, the weekend) Monday to Wednesday; 09:00 Paris = 08:00 UTC.
  EXPECT_EQ(spans(week["mine"]), (spans_t{{jan1 + 8 * hour, jan1 + 11 * hour},
                                          {jan1 + 4 * day + 8 * hour, jan1 + 4 * day + 11 * hour},
                                          {jan1 + 5 * day + 8 * hour, jan1 + 5 * day + 11 * hour},
                                          {jan1 + 6 * day + 8 * hour, jan1 + 6 * day + 11 * hour}}));
  // The permanence: Nadia's Thursday afternoon too.
  EXPECT_EQ(spans(week["open"]), (spans_t{{jan1 + 8 * hour, jan1 + 11 * hour},
                                          {jan1 + 13 * hour, jan1 + 17 * hour},
                                          {jan1 + 4 * day + 8 * hour, jan1 + 4 * day + 11 * hour},
                                          {jan1 + 5 * day + 8 * hour, jan1 + 5 * day + 11 * hour},
                                          {jan1 + 6 * day + 8 * hour, jan1 + 6 * day + 11 * hour}}));
  // Friday 2 January, midnight to midnight in Paris.
  EXPECT_EQ(spans(week["closed"]), (spans_t{{jan1 + 23 * hour, jan1 + day + 23 * hour}}));
  // Off shift she may look; a longer span is asked for, and bad input is refused.
  EXPECT_EQ(request(w, {{"type", "shift.schedule"}, {"rid", "w"}, {"days", 14}})["mine"].size(), 9u);
  EXPECT_EQ(request(w, {{"type", "shift.schedule"}, {"rid", "w"}, {"days", 32}}).value("type", ""), "error");
  auto b = beneficiary();
  EXPECT_EQ(request(b, {{"type", "shift.schedule"}, {"rid", "w"}}).value("type", ""), "error");
}

TEST_F(Permanence, TheLastShiftEndingTurnsTheQueueIntoTheInboxOffer) {
  auto w = worker("camille");
  start_shift(w);
  auto b1 = beneficiary();
  auto b2 = beneficiary();
  join(b1, false);
  join(b2, true);
  request(w, {{"type", "shift.stop"}, {"rid", "s"}, {"handover", "end"}});
  for (auto* b : {&b1, &b2}) {
    auto t = b->p->next();
    EXPECT_EQ(t.value("type", ""), "queue.timeout");
    EXPECT_EQ(t.value("reason", ""), "closed");
    EXPECT_TRUE(t.value("inbox_available", false));
  }
  EXPECT_EQ(permanence_->waiting_count(), 0u);
}

TEST_F(Permanence, LongWaitsAreOfferedTheInboxThenTimedOut) {
  settings_.permanence.long_wait = 20min;
  settings_.permanence.wait_limit = 90min;
  settings_.permanence.grace = 24h;
  auto w = worker("camille");
  start_shift(w);
  auto b = beneficiary();
  join(b, false);
  tick_after(19min);
  EXPECT_TRUE(drain(b, 50ms).empty());
  tick_after(1min);
  auto offer = b.p->next();
  EXPECT_EQ(offer.value("type", ""), "queue.inbox_offer");
  EXPECT_EQ(offer.value("reason", ""), "long_wait");
  tick_after(70min);
  auto timeout = b.p->next();
  EXPECT_EQ(timeout.value("type", ""), "queue.timeout");
  EXPECT_EQ(timeout.value("reason", ""), "wait_limit");
  EXPECT_EQ(permanence_->waiting_count(), 0u);
}

TEST_F(Permanence, ATransferNeedsTheCurrentWorkersSignatureAndAColleagueOnCall) {
  auto w1 = worker("camille");
  auto w2 = worker("nadia", "Nadia");
  start_shift(w1);
  auto b = beneficiary();
  join(b, false);
  auto assigned = request(w1, {{"type", "queue.take"}, {"rid", "t"}});
  auto conversation = assigned.value("conversation_id", 0);
  EXPECT_EQ(b.p->next().value("type", ""), "conversation.opened");
  // Two messages for the first worker: encrypted for her, never for her successor.
  for (const char* id : {"before-transfer-01", "before-transfer-02"}) {
    EXPECT_EQ(request(b, {{"type", "conversation.send"}, {"rid", "m0"}, {"conversation_id", conversation},
                          {"client_msg_id", id}, {"ciphertext", "AAAA"}})
                  .value("seq", 0) > 0,
              true);
    EXPECT_EQ(expect_push(w1, "conversation.message").value("client_msg_id", ""), id);
  }
  crypto::transfer_message t;
  t.conversation_id = std::to_string(conversation);
  t.from_worker = w1.key.public_key_bytes();
  t.to_worker = w2.key.public_key_bytes();
  t.issued_at = static_cast<std::uint64_t>(clock_.unix_ms());
  crypto::bytes control;
  ASSERT_FALSE(crypto::sign_transfer(w1.key, t, control));
  json transfer = {{"type", "conversation.transfer"}, {"rid", "x"}, {"conversation_id", conversation},
                   {"to_worker_id", w2.worker}, {"control", pr::encoded_bytes::from_bytes(control).text()}};
  EXPECT_EQ(request(w1, transfer).value("name", ""), "off_shift");  // the colleague is off
  start_shift(w2);
  crypto::bytes forged;
  ASSERT_FALSE(crypto::sign_transfer(w2.key, crypto::transfer_message{t.conversation_id, w2.key.public_key_bytes(),
                                                                      w2.key.public_key_bytes(), t.issued_at},
                                     forged));
  json bad = transfer;
  bad["control"] = pr::encoded_bytes::from_bytes(forged).text();
  EXPECT_EQ(request(w1, bad).value("name", ""), "invalid_signature");
  EXPECT_EQ(request(w2, transfer).value("name", ""), "forbidden");  // not hers to give
  EXPECT_EQ(request(w1, transfer).value("type", ""), "ok");
  auto moved = b.p->next();
  EXPECT_EQ(moved.value("type", ""), "conversation.transferred");
  EXPECT_EQ(moved.value("to_worker_id", 0), w2.worker);
  EXPECT_EQ(moved.value("to_display_name", ""), "Nadia");
  EXPECT_EQ(moved.value("control", ""), transfer["control"]);
  EXPECT_EQ(expect_push(w1, "conversation.transferred").value("from_worker_id", 0), w1.worker);
  auto given = expect_push(w2, "conversation.assigned");
  EXPECT_EQ(given.value("type", ""), "conversation.assigned");
  EXPECT_EQ(given.value("transferred_from", 0), w1.worker);
  EXPECT_EQ(given.value("beneficiary_key", ""), b.key_text());
  // From now on the beneficiary's messages reach the new worker only; the first one is out.
  json send = {{"type", "conversation.send"}, {"rid", "m"}, {"conversation_id", conversation},
               {"client_msg_id", "0123456789abcdef"}, {"ciphertext", "AAAA"}};
  EXPECT_EQ(request(b, send).value("type", ""), "conversation.ack");
  auto first = expect_push(w2, "conversation.message");
  EXPECT_EQ(first.value("seq", 0), 3);  // not the two before the transfer
  EXPECT_EQ(first.value("sender", ""), "beneficiary");
  EXPECT_TRUE(drain(w1, 100ms).empty());
  // Her sync and history start after the transfer as well.
  frame(*w2.s, {{"type", "sync"}, {"rid", "y"}, {"cursors", json::array()}});
  for (;;) {
    auto f = w2.p->next();
    ASSERT_FALSE(f.is_null());
    if (f.value("type", "") == "sync.done") break;
    if (f.value("type", "") == "conversation.message") {
      EXPECT_GT(f.value("seq", 0), 2) << f.dump();
    }
  }
  auto page = request(w2, {{"type", "history.get"}, {"rid", "h"}, {"conversation_id", conversation}, {"after_seq", 0}});
  ASSERT_EQ(page["messages"].size(), 1u) << page.dump();
  EXPECT_EQ(page["messages"][0].value("seq", 0), 3);
  send["client_msg_id"] = "fedcba9876543210";
  EXPECT_EQ(request(w1, send).value("name", ""), "forbidden");
}

TEST_F(Permanence, AnInboxMessageIsKeptOnceAndAnsweredByExactlyOneWorker) {
  auto w1 = worker("camille");
  auto w2 = worker("nadia", "Nadia");
  auto b = beneficiary();
  auto recipients = request(b, {{"type", "inbox.list_recipients"}, {"rid", "r"}});
  ASSERT_EQ(recipients["workers"].size(), 2u);
  json send = {{"type", "inbox.send"}, {"rid", "i"}, {"client_msg_id", "Qm9uam91ciBDYW1pbGxlIQ"},
               {"ciphertext", "c2VhbGVk"},
               {"recipients", {{{"worker_id", w1.worker}, {"wrapped_key", "AQID"}},
                               {{"worker_id", w2.worker}, {"wrapped_key", "BAUG"}}}}};
  auto ack = request(b, send);
  ASSERT_EQ(ack.value("type", ""), "inbox.ack") << ack.dump();
  auto id = ack.value("inbox_id", 0);
  EXPECT_EQ(request(b, send).value("inbox_id", -1), id);  // a resend is the same message
  json unknown = send;
  unknown["client_msg_id"] = "AnotherMessageId01";
  unknown["recipients"] = {{{"worker_id", 999}, {"wrapped_key", "AQID"}}};
  EXPECT_EQ(request(b, unknown).value("name", ""), "worker_not_found");
  // Off shift she may read it but not answer; on shift, one answer wins.
  auto list = request(w1, {{"type", "inbox.list"}, {"rid", "l"}});
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0].value("wrapped_key", ""), "AQID");
  EXPECT_EQ(list["items"][0].value("ciphertext", ""), "c2VhbGVk");
  EXPECT_EQ(request(w1, {{"type", "inbox.answer"}, {"rid", "a"}, {"inbox_id", id}}).value("name", ""), "off_shift");
  start_shift(w1);
  start_shift(w2);
  b.s->on_closed();  // she left; she learns of the answer when she comes back
  auto answer = request(w1, {{"type", "inbox.answer"}, {"rid", "a"}, {"inbox_id", id}});
  ASSERT_EQ(answer.value("type", ""), "conversation.assigned") << answer.dump();
  EXPECT_EQ(answer.value("inbox_id", 0), id);
  EXPECT_EQ(request(w2, {{"type", "inbox.answer"}, {"rid", "a"}, {"inbox_id", id}}).value("name", ""), "already_taken");
  auto back = beneficiary(b.key);
  auto opened = back.p->next();
  EXPECT_EQ(opened.value("type", ""), "conversation.opened");
  EXPECT_EQ(opened.value("conversation_id", 0), answer.value("conversation_id", -1));
  EXPECT_EQ(opened.value("worker_id", 0), w1.worker);
}

TEST_F(Permanence, ARecipientDismissesAFeedbackForEveryRecipientAndNoOneElseCan) {
  auto w1 = worker("camille");
  auto w2 = worker("nadia", "Nadia");
  auto b = beneficiary();
  json send = {{"type", "inbox.send"}, {"rid", "i"}, {"client_msg_id", "RmVlZGJhY2tfMDAx"},
               {"ciphertext", "c2VhbGVk"}, {"recipients", {{{"worker_id", w1.worker}, {"wrapped_key", "AQID"}}}}};
  auto id = request(b, send).value("inbox_id", 0);
  ASSERT_GT(id, 0);
  send["client_msg_id"] = "RmVlZGJhY2tfMDAy";
  send["recipients"] = {{{"worker_id", w1.worker}, {"wrapped_key", "AQID"}}, {{"worker_id", w2.worker}, {"wrapped_key", "BAUG"}}};
  auto shared = request(b, send).value("inbox_id", 0);
  ASSERT_GT(shared, id);
  json dismiss = {{"type", "inbox.dismiss"}, {"rid", "d"}, {"inbox_id", id}};
  EXPECT_EQ(request(w1, dismiss).value("name", ""), "off_shift");
  start_shift(w1);
  start_shift(w2);
  // Nadia is not a recipient of the first: for her it does not exist.
  EXPECT_EQ(request(w2, dismiss).value("name", ""), "inbox_not_found");
  EXPECT_EQ(request(w1, dismiss).value("type", ""), "ok");
  EXPECT_EQ(request(w1, dismiss).value("name", ""), "inbox_not_found");  // no longer unread
  dismiss["inbox_id"] = shared;
  drain(w2);
  EXPECT_EQ(request(w1, dismiss).value("type", ""), "ok");
  // Gone from both lists, and Nadia's count follows at once.
  EXPECT_EQ(expect_push(w2, "inbox.count").value("unread", -1), 0);
  EXPECT_TRUE(request(w2, {{"type", "inbox.list"}, {"rid", "l"}})["items"].empty());
  EXPECT_TRUE(request(w1, {{"type", "inbox.list"}, {"rid", "l"}})["items"].empty());
  EXPECT_EQ(request(w2, {{"type", "inbox.answer"}, {"rid", "a"}, {"inbox_id", shared}}).value("name", ""), "already_taken");
}

TEST_F(Permanence, ARestartKeepsEveryWaitingPlaceInOrder) {
  auto w = worker("camille");
  start_shift(w);
  std::vector<client> waiting;
  std::vector<std::int64_t> tickets;
  for (int i = 0; i < 30; ++i) {
    waiting.push_back(beneficiary());
    tickets.push_back(join(waiting.back(), i % 7 == 0).value("ticket_id", 0));
    clock_.advance(1s);
  }
  std::vector<std::int64_t> order;
  auto listed = request(w, {{"type", "queue.list"}, {"rid", "l"}});  // kept: the loop reads into it
  for (const auto& e : listed["entries"]) order.push_back(e.value("ticket_id", 0));
  // relaisd stops: every connection goes, then a new permanence loads from the same store.
  auto first = waiting.front().key;
  for (auto& c : waiting) c.s->on_closed();
  w.s->on_closed();
  waiting.clear();
  w.s.reset();
  services_.clear();
  retired_.push_back(std::move(permanence_));  // kept until the store has closed
  auto w2 = worker("nadia", "Nadia");
  start_shift(w2);
  EXPECT_EQ(permanence_->waiting_count(), 30u);
  std::vector<std::int64_t> after;
  auto relisted = request(w2, {{"type", "queue.list"}, {"rid", "l"}});
  for (const auto& e : relisted["entries"]) after.push_back(e.value("ticket_id", 0));
  EXPECT_EQ(after, order);
  auto back = beneficiary(first);
  auto pos = back.p->next();
  EXPECT_EQ(pos.value("type", ""), "queue.position");
  EXPECT_EQ(pos.value("ticket_id", 0), tickets.front());
  EXPECT_EQ(pos.value("position", 0), 1);  // urgent and first
}

}  // namespace
}  // namespace relais::core
