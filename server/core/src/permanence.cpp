// The permanence: queue, shifts, status, continuity, transfers and the inbox (issue 7).
// Decisions are taken under one mutex on an in-memory view; the store calls and the pushes
// they lead to run after the mutex is released (see `effects`).
#include "relais/core/permanence.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "relais/core/session.hpp"
#include "relais/crypto/certificate.hpp"
#include "relais/log/log.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"
#include "relais/protocol/limits.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace limits {
/// Pushes of one kind (positions, snapshots, status) are coalesced to one round a second.
constexpr unix_ms push_interval_ms = 1000;
/// Worker accounts are re-read this often (accounts created by `relaisd user` meanwhile).
constexpr unix_ms worker_refresh_ms = 60'000;
/// Connections that asked for the status and are pushed its changes: bounded memory.
constexpr std::size_t max_status_watchers = 100'000;
/// Recent handled conversations the estimate averages over.
constexpr std::size_t handling_samples = 20;
/// Handling times outside this range are clamped (a forgotten open conversation must not
/// announce a three-day wait; an instant end must not announce zero).
constexpr std::int64_t min_handling_ms = 60'000;
constexpr std::int64_t max_handling_ms = 2 * 3'600'000;
/// A returning beneficiary is kept for the worker who followed her, when that worker is on
/// call, this long before any colleague's "take next" reaches her (a chosen take always can).
constexpr unix_ms continuity_hold_ms = 3 * 60'000;
/// Workers an inbox message can be sealed to (inbox.recipients).
constexpr std::size_t max_inbox_recipients = 32;
/// Tickets taken lately, remembered so that a colleague who clicked the same ticket a moment
/// later hears `already_taken` rather than `ticket_not_found` (bounded memory).
constexpr std::size_t recently_taken_tickets = 256;
}  // namespace limits

namespace {

std::shared_ptr<const std::string> frame_of(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

template <typename T>
std::shared_ptr<const std::string> frame(const T& message) {
  return frame_of(pr::encode(message));
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

/// Serving order: urgent first, then first come, then the store's id.
bool serves_before(bool urgent_a, unix_ms joined_a, queue_entry_id id_a, bool urgent_b, unix_ms joined_b,
                   queue_entry_id id_b) {
  if (urgent_a != urgent_b) return urgent_a;
  if (joined_a != joined_b) return joined_a < joined_b;
  return id_a < id_b;
}

}  // namespace

permanence::permanence(core::store& store, session_directory& directory, const core::clock& clock,
                       permanence_settings settings)
    : store_(store), directory_(directory), clock_(clock), settings_(std::move(settings)) {}

void permanence::run(effects& fx) {
  for (auto& f : fx) f();
  fx.clear();
}

// ---------------------------------------------------------------- start

void permanence::start(std::function<void(std::error_code)> done) {
  auto finish = std::make_shared<std::function<void(std::error_code)>>(std::move(done));
  store_.list_workers([this, finish](std::error_code ec, std::vector<worker_account> accounts) {
    if (ec) return (*finish)(ec);
    {
      lock l(mu_);
      for (const auto& a : accounts) {
        auto& w = workers_[a.id];
        w.id = a.id;
        w.username = a.username;
        w.display_name = a.display_name;
        w.identity = a.identity_key;
        w.disabled = a.disabled;
        w.capacity = settings_.default_capacity;
      }
      last_worker_refresh_ = clock_.unix_ms();
    }
    store_.list_shift_states([this, finish, accounts](std::error_code ec2, std::vector<shift_state> states) {
      if (ec2) return (*finish)(ec2);
      {
        lock l(mu_);
        for (const auto& st : states) {
          auto it = workers_.find(st.worker);
          if (it == workers_.end()) continue;
          it->second.mode = st.mode;
          it->second.until = st.until;
          it->second.capacity = st.capacity;
        }
      }
      store_.list_waiting([this, finish, accounts](std::error_code ec3, std::vector<queue_entry> waiting) {
        if (ec3) return (*finish)(ec3);
        auto now = clock_.unix_ms();
        {
          lock l(mu_);
          for (const auto& q : waiting) {
            waiting_entry e;
            e.id = q.id;
            e.identity = q.beneficiary_key;
            e.urgent = q.level == urgency::urgent;
            e.joined_at = q.joined_at;
            e.away_since = now;  // everyone reconnects after a restart: the grace starts now
            queue_.push_back(std::move(e));
          }
          std::sort(queue_.begin(), queue_.end(), [](const waiting_entry& a, const waiting_entry& b) {
            return serves_before(a.urgent, a.joined_at, a.id, b.urgent, b.joined_at, b.id);
          });
          ++queue_version_;
          positions_dirty_ = true;
        }
        // The open conversations of each worker: who is busy, and what a shift end hands over.
        auto pending = std::make_shared<std::size_t>(1);
        auto failed = std::make_shared<std::error_code>();
        auto one_done = [this, finish, pending, failed](std::error_code e) {
          bool last = false;
          {
            lock l(mu_);
            if (e && !*failed) *failed = e;
            last = --*pending == 0;
            if (last && !*failed) started_ = true;
          }
          if (last) (*finish)(*failed);
        };
        for (const auto& a : accounts) {
          if (a.identity_key.empty()) continue;
          {
            lock l(mu_);
            ++*pending;
          }
          store_.list_conversations(a.identity_key, false,
                                    [this, one_done, id = a.id, key = a.identity_key](std::error_code e,
                                                                                      std::vector<conversation> list) {
                                      if (!e) {
                                        lock l(mu_);
                                        for (const auto& c : list) {
                                          bool current = std::any_of(c.participants.begin(), c.participants.end(),
                                                                     [&](const participant& p) {
                                                                       return p.worker == id && p.left_at == 0;
                                                                     });
                                          if (!current || c.ended_at != 0) continue;
                                          open_[c.id] = open_conversation{id, c.beneficiary_key, c.created_at};
                                          workers_[id].open.insert(c.id);
                                        }
                                      }
                                      one_done(e);
                                    });
        }
        one_done({});
      });
    });
  });
}

void permanence::refresh_workers() {
  store_.list_workers([this](std::error_code ec, std::vector<worker_account> accounts) {
    if (ec) return;  // tried again at the next refresh
    lock l(mu_);
    for (const auto& a : accounts) {
      auto [it, added] = workers_.try_emplace(a.id);
      auto& w = it->second;
      if (added) {
        w.id = a.id;
        w.capacity = settings_.default_capacity;
      }
      w.username = a.username;
      w.display_name = a.display_name;
      w.identity = a.identity_key;
      w.disabled = a.disabled;
    }
  });
}

void permanence::worker_seen(const worker_account& a) {
  lock l(mu_);
  auto [it, added] = workers_.try_emplace(a.id);
  auto& w = it->second;
  if (added) {
    w.id = a.id;
    w.capacity = settings_.default_capacity;
  }
  w.username = a.username;
  w.display_name = a.display_name;
  if (!a.identity_key.empty()) w.identity = a.identity_key;
  w.disabled = a.disabled;
}

void permanence::identity_published(worker_id w, const bytes& identity) {
  lock l(mu_);
  if (auto* info = worker_ptr(w)) info->identity = identity;
}

// ---------------------------------------------------------------- shifts

permanence::worker_info* permanence::worker_ptr(worker_id w) {
  auto it = workers_.find(w);
  return it == workers_.end() ? nullptr : &it->second;
}

const permanence::worker_info* permanence::worker_ptr(worker_id w) const {
  auto it = workers_.find(w);
  return it == workers_.end() ? nullptr : &it->second;
}

bool permanence::evaluate_on_call(worker_info& w, unix_ms now) {
  if (w.disabled) return false;
  if ((w.mode == shift_mode::holiday || w.mode == shift_mode::manual_off) && w.until != 0 && now >= w.until) {
    // Holiday over, or the manually stopped slot is over: the schedule rules again.
    w.mode = shift_mode::scheduled;
    w.until = 0;
  }
  switch (w.mode) {
    case shift_mode::manual_on: return true;
    case shift_mode::manual_off:
    case shift_mode::holiday: return false;
    case shift_mode::scheduled: break;
  }
  return settings_.on_call && settings_.on_call->window_at(w.username, now).has_value();
}

pr::shift_state permanence::shift_state_of(const worker_info& w, unix_ms now) const {
  pr::shift_state out;
  out.mode = w.mode == shift_mode::manual_on || w.mode == shift_mode::manual_off ? pr::shift_mode::manual
                                                                                  : pr::shift_mode::scheduled;
  if (w.mode == shift_mode::holiday) {
    out.state = pr::on_call_state::holiday;
  } else {
    out.state = w.on_call ? pr::on_call_state::on : pr::on_call_state::off;
  }
  if (settings_.on_call && !w.disabled) {
    if (w.on_call && w.mode == shift_mode::scheduled) {
      if (auto win = settings_.on_call->window_at(w.username, now)) out.ends_at = win->end;
    } else if (!w.on_call) {
      // The next scheduled start after a holiday or a manual stop ends.
      unix_ms from = (w.mode == shift_mode::holiday || w.mode == shift_mode::manual_off) && w.until != 0 ? w.until : now;
      if (w.mode != shift_mode::holiday || w.until != 0) {
        if (auto win = settings_.on_call->window_at(w.username, from); win && from > now) {
          out.next_start_at = from;
        } else if (auto next = settings_.on_call->next_window(w.username, from)) {
          out.next_start_at = next->start;
        }
      }
    }
  }
  return out;
}

bool permanence::on_call(worker_id w) const {
  lock l(mu_);
  const auto* info = worker_ptr(w);
  return info != nullptr && info->on_call;
}

std::string permanence::display_name(worker_id w) const {
  lock l(mu_);
  const auto* info = worker_ptr(w);
  return info == nullptr ? std::string() : info->display_name;
}

void permanence::persist_shift(effects& fx, const worker_info& w, unix_ms now) {
  shift_state st;
  st.worker = w.id;
  st.mode = w.mode;
  st.on_call = w.on_call;
  st.capacity = w.capacity;
  st.since = now;
  st.until = w.until;
  fx.emplace_back([this, st] {
    store_.set_shift_state(st, [w = st.worker](std::error_code ec) {
      if (ec) log::error("shift_state_not_saved", {{"worker", w}, {"error", ec.message()}});
    });
  });
}

void permanence::send_shift_state(const std::shared_ptr<session>& s, worker_id w, const rid_t& rid) {
  pr::shift_state out;
  {
    lock l(mu_);
    auto* info = worker_ptr(w);
    if (info == nullptr) return reply_error(s, pr::error::worker_not_found, rid);
    info->on_call = evaluate_on_call(*info, clock_.unix_ms());
    out = shift_state_of(*info, clock_.unix_ms());
  }
  out.rid = rid;
  reply(s, out);
}

void permanence::start_shift(const std::shared_ptr<session>& s, worker_id w, const rid_t& rid) {
  effects fx;
  pr::shift_state out;
  {
    lock l(mu_);
    auto* info = worker_ptr(w);
    if (info == nullptr) {
      l.unlock();
      return reply_error(s, pr::error::worker_not_found, rid);
    }
    auto now = clock_.unix_ms();
    bool was_on = info->on_call;
    info->mode = shift_mode::manual_on;
    info->until = 0;
    info->on_call = true;
    persist_shift(fx, *info, now);
    out = shift_state_of(*info, now);
    if (!was_on) {
      log::info("shift_started", {{"worker", w}, {"mode", "manual"}});
      ++queue_version_;  // she gets the snapshot at the next round
      positions_dirty_ = true;
    }
  }
  run(fx);
  out.rid = rid;
  reply(s, out);
  auto push = frame(pr::shift_state{.rid = {}, .state = out.state, .mode = out.mode, .ends_at = out.ends_at,
                                     .next_start_at = out.next_start_at});
  directory_.for_each("w:" + std::to_string(w), [&](const std::shared_ptr<session>& o) {
    if (o != s) o->deliver_push(push);
  });
}

void permanence::stop_shift(const std::shared_ptr<session>& s, worker_id w, std::optional<pr::handover_policy> handover,
                            const rid_t& rid) {
  effects fx;
  pr::shift_state out;
  {
    lock l(mu_);
    auto* info = worker_ptr(w);
    if (info == nullptr) {
      l.unlock();
      return reply_error(s, pr::error::worker_not_found, rid);
    }
    auto now = clock_.unix_ms();
    bool was_on = info->on_call;
    auto window = settings_.on_call ? settings_.on_call->window_at(info->username, now) : std::nullopt;
    if (window) {
      // Off until the end of this scheduled slot, then the schedule rules again.
      info->mode = shift_mode::manual_off;
      info->until = window->end;
    } else {
      info->mode = shift_mode::scheduled;
      info->until = 0;
    }
    info->on_call = false;
    persist_shift(fx, *info, now);
    out = shift_state_of(*info, now);
    if (was_on) {
      auto policy = handover.value_or(settings_.handover == shift_end_handover::colleague ? pr::handover_policy::colleague
                                                                                        : pr::handover_policy::end);
      log::info("shift_stopped", {{"worker", w}, {"mode", "manual"}});
      // She stopped it from her console, which stays to say "off" and to save her notes; a
      // shift the schedule ends closes her connections instead (tick_worker_shifts).
      out.rid = rid;
      fx.insert(fx.begin(), [this, s, out] { reply(s, out); });
      end_of_shift(fx, w, policy, false);
      l.unlock();
      run(fx);
      return;
    }
  }
  run(fx);
  out.rid = rid;
  reply(s, out);
}

void permanence::set_holiday(const std::shared_ptr<session>& s, worker_id w, const pr::shift_holiday& m) {
  effects fx;
  pr::shift_state out;
  auto now = clock_.unix_ms();
  if (m.enabled && m.until && *m.until <= now) return reply_error(s, pr::error::invalid_value, m.rid, "until is in the past");
  {
    lock l(mu_);
    auto* info = worker_ptr(w);
    if (info == nullptr) {
      l.unlock();
      return reply_error(s, pr::error::worker_not_found, m.rid);
    }
    bool was_on = info->on_call;
    info->mode = m.enabled ? shift_mode::holiday : shift_mode::scheduled;
    info->until = m.enabled ? m.until.value_or(0) : 0;
    info->on_call = evaluate_on_call(*info, now);
    persist_shift(fx, *info, now);
    out = shift_state_of(*info, now);
    out.rid = m.rid;
    log::info("holiday_mode", {{"worker", w}, {"enabled", m.enabled}});
    if (was_on && !info->on_call) {
      fx.insert(fx.begin(), [this, s, out] { reply(s, out); });
      auto policy = settings_.handover == shift_end_handover::colleague ? pr::handover_policy::colleague
                                                                       : pr::handover_policy::end;
      end_of_shift(fx, w, policy, false);
      l.unlock();
      run(fx);
      return;
    }
    if (!was_on && info->on_call) ++queue_version_;
  }
  run(fx);
  reply(s, out);
}

void permanence::set_presence(const std::shared_ptr<session>& s, worker_id w, const pr::presence_set& m) {
  effects fx;
  {
    lock l(mu_);
    auto* info = worker_ptr(w);
    if (info == nullptr || !info->on_call) {
      l.unlock();
      return reply_error(s, pr::error::off_shift, m.rid);
    }
    info->busy = m.status == pr::presence_status::busy;
    if (m.capacity) info->capacity = static_cast<std::int32_t>(*m.capacity);
    persist_shift(fx, *info, clock_.unix_ms());
  }
  run(fx);
  pr::ok ok;
  ok.rid = m.rid;
  reply(s, ok);
}

void permanence::end_of_shift(effects& fx, worker_id w, pr::handover_policy policy, bool close_sessions) {
  auto* info = worker_ptr(w);
  if (info == nullptr) return;
  auto now = clock_.unix_ms();
  bool colleague = policy == pr::handover_policy::colleague &&
                   std::any_of(workers_.begin(), workers_.end(),
                               [w](const auto& kv) { return kv.first != w && kv.second.on_call; });
  std::vector<conversation_id> mine(info->open.begin(), info->open.end());
  info->open.clear();
  for (auto id : mine) {
    auto it = open_.find(id);
    if (it == open_.end()) continue;
    auto conv = it->second;
    open_.erase(it);
    // Ended for both sides; with a colleague on call the beneficiary waits again at the place
    // her conversation started, for a fresh end-to-end session with whoever takes her (the
    // server cannot sign a transfer: CRYPTO.md §8).
    fx.emplace_back([this, id, conv, colleague, now] {
      store_.end_conversation(id, now, [this, id, conv, colleague, now](std::error_code ec) {
        if (ec && ec != store_errc::conflict) {
          log::error("shift_end_conversation_not_ended", {{"conversation", id}, {"error", ec.message()}});
          return;
        }
        pr::conversation_ended ended;
        ended.conversation_id = id;
        ended.reason = pr::end_reason::shift_end;
        auto f = frame(ended);
        directory_.for_each("b:" + conv.beneficiary, [&](const std::shared_ptr<session>& o) {
          o->deliver_event(id, f, false, true);
        });
        directory_.for_each("w:" + std::to_string(conv.worker), [&](const std::shared_ptr<session>& o) {
          o->deliver_event(id, f, false, true);
        });
        if (!colleague) return;
        queue_entry e;
        e.beneficiary_key = conv.beneficiary;
        e.level = urgency::normal;
        e.joined_at = conv.started_at;
        store_.enqueue(e, [this, e, now](std::error_code ec2, queue_entry_id qid) {
          if (ec2) return;  // already waiting again (she joined herself): nothing to add
          effects later;
          {
            lock l(mu_);
            waiting_entry we;
            we.id = qid;
            we.identity = e.beneficiary_key;
            we.joined_at = e.joined_at;
            we.away_since = now;  // connected or not: the grace starts now, reset when she is
            bool connected = false;
            directory_.for_each("b:" + e.beneficiary_key, [&](const std::shared_ptr<session>&) { connected = true; });
            if (connected) we.away_since = 0;
            insert_waiting(std::move(we));
          }
          log::info("handed_over_to_queue", {{"ticket", qid}});
        });
      });
    });
  }
  if (!mine.empty()) log::info("shift_end_handover", {{"worker", w}, {"conversations", mine.size()}, {"requeued", colleague}});
  ++queue_version_;
  positions_dirty_ = true;
  if (!std::any_of(workers_.begin(), workers_.end(), [](const auto& kv) { return kv.second.on_call; })) {
    close_queue(fx, now);
  }
  if (close_sessions) {
    fx.emplace_back([this, w] {
      directory_.for_each("w:" + std::to_string(w), [](const std::shared_ptr<session>& o) {
        o->end_connection(static_cast<std::uint16_t>(pr::close_code::shift_ended), "shift ended");
      });
    });
  }
}

void permanence::close_queue(effects& fx, unix_ms now) {
  // Nobody is on call any more: nobody waits in silence. Each waiting beneficiary is told and
  // offered the inbox.
  if (queue_.empty()) return;
  bool inbox = std::any_of(workers_.begin(), workers_.end(),
                           [](const auto& kv) { return !kv.second.disabled && !kv.second.identity.empty(); });
  pr::queue_timeout t;
  t.reason = pr::timeout_reason::closed;
  t.inbox_available = inbox;
  auto f = frame(t);
  auto entries = std::move(queue_);
  queue_.clear();
  ++queue_version_;
  log::info("queue_closed", {{"waiting", entries.size()}});
  fx.emplace_back([this, entries = std::move(entries), f, now] {
    for (const auto& e : entries) {
      store_.finish_queue_entry(e.id, queue_state::timed_out, now, [](std::error_code) {});
      to_beneficiary(e.identity, f);
    }
  });
}

void permanence::tick_worker_shifts(effects& fx, unix_ms now) {
  std::vector<worker_id> ended;
  bool any_started = false;
  for (auto& [id, w] : workers_) {
    bool before = w.on_call;
    auto mode_before = w.mode;
    w.on_call = evaluate_on_call(w, now);
    if (w.mode != mode_before) persist_shift(fx, w, now);
    if (before == w.on_call) continue;
    auto st = frame(shift_state_of(w, now));
    fx.emplace_back([this, id = id, st] { to_worker(id, st); });
    if (w.on_call) {
      log::info("shift_started", {{"worker", id}, {"mode", "scheduled"}});
      any_started = true;
    } else {
      log::info("shift_ended", {{"worker", id}, {"mode", "scheduled"}});
      ended.push_back(id);
    }
  }
  auto policy = settings_.handover == shift_end_handover::colleague ? pr::handover_policy::colleague
                                                                   : pr::handover_policy::end;
  for (auto id : ended) end_of_shift(fx, id, policy, settings_.close_sessions_at_shift_end);
  if (any_started) {
    ++queue_version_;
    positions_dirty_ = true;
  }
}

// ---------------------------------------------------------------- status

std::size_t permanence::on_call_count() const {
  return static_cast<std::size_t>(
      std::count_if(workers_.begin(), workers_.end(), [](const auto& kv) { return kv.second.on_call; }));
}

std::size_t permanence::idle_count() const {
  return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(), [](const auto& kv) {
    return kv.second.on_call && !kv.second.busy && kv.second.open.empty();
  }));
}

bool permanence::is_queue_open() const { return on_call_count() > 0 && queue_.size() < settings_.queue_max; }

duration permanence::average_handling_time() const {
  lock l(mu_);
  if (handled_ms_.empty()) return settings_.default_handling_time;
  auto sum = std::accumulate(handled_ms_.begin(), handled_ms_.end(), std::int64_t{0});
  return std::chrono::milliseconds(sum / static_cast<std::int64_t>(handled_ms_.size()));
}

std::int64_t permanence::estimate_s(std::int64_t position) const {
  // PROTOCOL.md §6.5 and README "Permanence": ceil(max(0, position - idle) / on_call) × the
  // mean of the last 20 handling times (the default until there are some), in whole minutes.
  auto on_call = static_cast<std::int64_t>(on_call_count());
  if (on_call == 0) return 0;
  auto ahead = std::max<std::int64_t>(0, position - static_cast<std::int64_t>(idle_count()));
  std::int64_t handling_ms = 0;
  if (handled_ms_.empty()) {
    handling_ms = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.default_handling_time).count();
  } else {
    handling_ms = std::accumulate(handled_ms_.begin(), handled_ms_.end(), std::int64_t{0}) /
                  static_cast<std::int64_t>(handled_ms_.size());
  }
  auto wait_s = ceil_div(ahead, on_call) * handling_ms / 1000;
  wait_s = ceil_div(wait_s, 60) * 60;  // minutes: a calmer figure, and fewer pushes
  return std::min<std::int64_t>(wait_s, pr::limits::max_wait_seconds);
}

pr::permanence_status permanence::status_now(unix_ms now) const {
  pr::permanence_status st;
  auto on_call = on_call_count();
  st.open = on_call > 0;
  if (!st.open) {
    st.availability = pr::availability_state::closed;
  } else {
    bool someone_free = std::any_of(workers_.begin(), workers_.end(), [](const auto& kv) {
      const auto& w = kv.second;
      return w.on_call && !w.busy && static_cast<std::int32_t>(w.open.size()) < std::max(1, w.capacity);
    });
    st.availability = someone_free ? pr::availability_state::available : pr::availability_state::busy;
  }
  st.queue_open = is_queue_open();
  if (settings_.show_workers_on_call) st.workers_on_call = static_cast<std::int64_t>(on_call);
  if (st.open) st.estimated_wait_s = estimate_s(static_cast<std::int64_t>(queue_.size()) + 1);
  if (!st.open && settings_.on_call) {
    if (auto next = settings_.on_call->next_opening(now)) st.next_opening_at = *next;
  }
  for (const auto& n : settings_.emergency_numbers) {
    pr::emergency_number e;
    e.number = n.number;
    e.label_fr = n.label_fr;
    e.label_en = n.label_en;
    if (n.sms) e.sms = true;
    st.emergency_numbers.push_back(std::move(e));
  }
  st.contribution_url = settings_.contribution_url;
  return st;
}

void permanence::get_status(const std::shared_ptr<session>& s, const rid_t& rid) {
  pr::permanence_status st;
  {
    lock l(mu_);
    st = status_now(clock_.unix_ms());
    bool known = std::any_of(status_watchers_.begin(), status_watchers_.end(),
                             [&](const std::weak_ptr<session>& w) { return w.lock() == s; });
    if (!known) {
      if (status_watchers_.size() >= limits::max_status_watchers) {
        // Forget the connections that are gone before refusing a new watcher.
        std::erase_if(status_watchers_, [](const std::weak_ptr<session>& w) { return w.expired(); });
      }
      if (status_watchers_.size() < limits::max_status_watchers) status_watchers_.push_back(s);
    }
  }
  st.rid = rid;
  reply(s, st);
}

void permanence::push_status(effects& fx, unix_ms now) {
  if (now - last_status_round_ < limits::push_interval_ms) return;
  auto st = status_now(now);
  if (status_sent_ && *status_sent_ == st) return;
  last_status_round_ = now;
  bool first = !status_sent_;
  status_sent_ = st;
  if (first) return;  // nobody was told an older one by a push: replies carry the current one
  std::erase_if(status_watchers_, [](const std::weak_ptr<session>& w) { return w.expired(); });
  if (status_watchers_.empty()) return;
  auto f = frame(st);
  pushes_ += status_watchers_.size();
  fx.emplace_back([watchers = status_watchers_, f] {
    for (const auto& w : watchers) {
      if (auto s = w.lock()) s->deliver_push(f);
    }
  });
}

// ---------------------------------------------------------------- queue

std::vector<permanence::waiting_entry>::iterator permanence::find_ticket(queue_entry_id id) {
  return std::find_if(queue_.begin(), queue_.end(), [id](const waiting_entry& e) { return e.id == id; });
}

std::vector<permanence::waiting_entry>::iterator permanence::find_identity(const bytes& identity) {
  return std::find_if(queue_.begin(), queue_.end(), [&](const waiting_entry& e) { return e.identity == identity; });
}

void permanence::insert_waiting(waiting_entry e) {
  auto at = std::upper_bound(queue_.begin(), queue_.end(), e, [](const waiting_entry& a, const waiting_entry& b) {
    return serves_before(a.urgent, a.joined_at, a.id, b.urgent, b.joined_at, b.id);
  });
  queue_.insert(at, std::move(e));
  ++queue_version_;
  positions_dirty_ = true;
}

std::int64_t permanence::position_of(queue_entry_id id) const {
  auto it = std::find_if(queue_.begin(), queue_.end(), [id](const waiting_entry& e) { return e.id == id; });
  return it == queue_.end() ? 0 : static_cast<std::int64_t>(it - queue_.begin()) + 1;
}

void permanence::join(const std::shared_ptr<session>& s, const bytes& identity, const pr::queue_join& m) {
  auto now = clock_.unix_ms();
  {
    lock l(mu_);
    if (on_call_count() == 0) {
      l.unlock();
      return reply_error(s, pr::error::permanence_closed, m.rid);
    }
    if (find_identity(identity) != queue_.end() || joining_.contains(identity)) {
      l.unlock();
      return reply_error(s, pr::error::already_in_queue, m.rid);
    }
    if (queue_.size() + joining_.size() >= settings_.queue_max) {
      l.unlock();
      log::info("queue_full", {{"waiting", settings_.queue_max}});
      return reply_error(s, pr::error::queue_full, m.rid);
    }
    joining_.insert(identity);
  }
  queue_entry e;
  e.beneficiary_key = identity;
  e.level = m.urgent ? urgency::urgent : urgency::normal;
  if (m.prechat) e.prechat = m.prechat->decode();
  e.joined_at = now;
  std::weak_ptr<session> weak = s;
  store_.enqueue(e, [this, weak, e, rid = m.rid](std::error_code ec, queue_entry_id id) {
    auto s2 = weak.lock();
    if (ec) {
      {
        lock l(mu_);
        joining_.erase(e.beneficiary_key);
      }
      if (s2) reply_store_error(s2, ec, rid, pr::error::permanence_closed, pr::error::already_in_queue);
      return;
    }
    pr::queue_position out;
    {
      lock l(mu_);
      joining_.erase(e.beneficiary_key);
      waiting_entry w;
      w.id = id;
      w.identity = e.beneficiary_key;
      w.urgent = e.level == urgency::urgent;
      w.joined_at = e.joined_at;
      w.away_since = s2 ? 0 : clock_.unix_ms();
      insert_waiting(std::move(w));
      auto it = find_ticket(id);
      out.ticket_id = id;
      out.position = static_cast<std::int64_t>(it - queue_.begin()) + 1;
      out.estimated_wait_s = estimate_s(out.position);
      it->sent_position = out.position;
      it->sent_wait = out.estimated_wait_s;
    }
    log::info("queue_joined", {{"ticket", id}, {"urgent", e.level == urgency::urgent}});
    out.rid = rid;
    if (s2) reply(s2, out);
    // Continuity: who followed her before (the snapshot's `returning`, the hold for them).
    store_.list_followers(e.beneficiary_key, [this, id](std::error_code ec2, std::vector<worker_id> followers) {
      if (ec2 || followers.empty()) return;
      lock l(mu_);
      auto it = find_ticket(id);
      if (it == queue_.end()) return;
      it->followers = std::move(followers);
      ++queue_version_;
    });
  });
}

void permanence::leave(const std::shared_ptr<session>& s, const bytes& identity, const rid_t& rid) {
  queue_entry_id id = 0;
  {
    lock l(mu_);
    auto it = find_identity(identity);
    if (it == queue_.end() || it->taking) {
      l.unlock();
      return reply_error(s, pr::error::not_in_queue, rid);
    }
    id = it->id;
    queue_.erase(it);
    ++queue_version_;
    positions_dirty_ = true;
  }
  std::weak_ptr<session> weak = s;
  store_.finish_queue_entry(id, queue_state::left, clock_.unix_ms(), [this, weak, rid, id](std::error_code ec) {
    auto s2 = weak.lock();
    if (ec && ec != store_errc::conflict) log::error("queue_leave_not_saved", {{"ticket", id}, {"error", ec.message()}});
    log::info("queue_left", {{"ticket", id}});
    if (!s2) return;
    pr::ok ok;
    ok.rid = rid;
    reply(s2, ok);
  });
}

pr::queue_snapshot permanence::snapshot_for(worker_id w) const {
  pr::queue_snapshot out;
  out.total = static_cast<std::int64_t>(queue_.size());
  for (const auto& e : queue_) {
    if (out.entries.size() == pr::limits::max_snapshot_entries) break;
    if (e.taking) continue;
    bool returning = std::find(e.followers.begin(), e.followers.end(), w) != e.followers.end();
    out.entries.push_back({e.id, e.urgent, e.joined_at, returning});
  }
  return out;
}

void permanence::list(const std::shared_ptr<session>& s, worker_id w, const rid_t& rid) {
  pr::queue_snapshot out;
  {
    lock l(mu_);
    out = snapshot_for(w);
  }
  out.rid = rid;
  reply(s, out);
}

std::vector<permanence::waiting_entry>::iterator permanence::next_for(const worker_info& w, unix_ms now) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->taking) continue;
    if (!it->followers.empty() && it->followers.front() != w.id && now - it->joined_at < limits::continuity_hold_ms) {
      const auto* follower = worker_ptr(it->followers.front());
      if (follower != nullptr && follower->on_call) continue;  // kept a moment for her
    }
    return it;
  }
  return queue_.end();
}

void permanence::take(const std::shared_ptr<session>& s, worker_id w, const bytes& worker_key, const pr::queue_take& m) {
  effects fx;
  {
    lock l(mu_);
    auto* info = worker_ptr(w);
    if (info == nullptr || !info->on_call) {
      l.unlock();
      return reply_error(s, pr::error::off_shift, m.rid);
    }
    auto now = clock_.unix_ms();
    auto it = queue_.end();
    if (m.ticket_id) {
      it = find_ticket(*m.ticket_id);
      if (it == queue_.end()) {
        // A colleague's take may have completed between her click and this frame.
        bool taken = std::find(recently_taken_.begin(), recently_taken_.end(), *m.ticket_id) != recently_taken_.end();
        l.unlock();
        return reply_error(s, taken ? pr::error::already_taken : pr::error::ticket_not_found, m.rid);
      }
      if (it->taking) {
        l.unlock();
        return reply_error(s, pr::error::already_taken, m.rid);
      }
    } else {
      it = next_for(*info, now);
      if (it == queue_.end()) {
        l.unlock();
        return reply_error(s, pr::error::queue_empty, m.rid);
      }
    }
    start_take(fx, s, w, worker_key, it->id, m.rid);
  }
  run(fx);
}

void permanence::start_take(effects& fx, const std::shared_ptr<session>& requester, worker_id w, bytes worker_key,
                            queue_entry_id ticket, rid_t rid) {
  auto it = find_ticket(ticket);
  it->taking = true;
  bool urgent = it->urgent;
  bool returning = std::find(it->followers.begin(), it->followers.end(), w) != it->followers.end();
  ++queue_version_;
  take_request t;
  t.entry = ticket;
  t.worker = w;
  t.worker_key = std::move(worker_key);
  t.at = clock_.unix_ms();
  std::weak_ptr<session> weak = requester;
  bool automatic = requester == nullptr;
  fx.emplace_back([this, t, weak, rid, urgent, returning, automatic] {
    store_.take_queue_entry(t, [this, t, weak, rid, urgent, returning, automatic](std::error_code ec, queue_entry taken) {
      auto s = weak.lock();
      std::string name;
      {
        lock l(mu_);
        auto* info = worker_ptr(t.worker);
        if (automatic && info != nullptr) --info->assigning;
        auto entry = find_ticket(t.entry);
        if (ec) {
          if (entry != queue_.end()) entry->taking = false;
          // The store says someone else has her (or she left): the live view follows it.
          if (ec == store_errc::conflict && entry != queue_.end()) {
            queue_.erase(entry);
            positions_dirty_ = true;
          }
          ++queue_version_;
        } else {
          if (entry != queue_.end()) queue_.erase(entry);
          if (recently_taken_.size() == limits::recently_taken_tickets) recently_taken_.pop_front();
          recently_taken_.push_back(t.entry);
          ++queue_version_;
          positions_dirty_ = true;
          open_[taken.conversation] = open_conversation{t.worker, taken.beneficiary_key, t.at};
          if (info != nullptr) {
            info->open.insert(taken.conversation);
            name = info->display_name;
          }
        }
      }
      if (ec) {
        if (s) reply_store_error(s, ec, rid, pr::error::ticket_not_found, pr::error::already_taken);
        return;
      }
      log::info("queue_taken", {{"worker", t.worker}, {"conversation", taken.conversation}, {"ticket", t.entry},
                                {"automatic", automatic}});
      pr::conversation_assigned out;
      out.conversation_id = taken.conversation;
      out.beneficiary_key = pr::encoded_bytes::from_bytes(taken.beneficiary_key);
      out.urgent = urgent;
      out.returning = returning;
      if (!taken.prechat.empty()) out.prechat = pr::encoded_bytes::from_bytes(taken.prechat);
      auto push = frame(out);
      out.rid = rid;
      auto answer = frame(out);
      // The worker's connections follow the new conversation live from its first message.
      directory_.for_each("w:" + std::to_string(t.worker), [&](const std::shared_ptr<session>& o) {
        o->deliver_event(taken.conversation, o == s ? answer : push, true, false);
      });
      pr::conversation_opened opened;
      opened.conversation_id = taken.conversation;
      opened.worker_id = t.worker;
      opened.display_name = name.empty() ? std::string("Relais") : name;
      auto f = frame(opened);
      directory_.for_each("b:" + taken.beneficiary_key, [&](const std::shared_ptr<session>& o) {
        o->deliver_event(taken.conversation, f, true, false);
      });
    });
  });
}

void permanence::beneficiary_connected(const std::shared_ptr<session>& s, const bytes& identity) {
  pr::queue_position out;
  {
    lock l(mu_);
    auto it = find_identity(identity);
    if (it == queue_.end()) return;
    it->away_since = 0;
    out.ticket_id = it->id;
    out.position = static_cast<std::int64_t>(it - queue_.begin()) + 1;
    out.estimated_wait_s = estimate_s(out.position);
    it->sent_position = out.position;
    it->sent_wait = out.estimated_wait_s;
  }
  log::info("queue_reconnected", {{"ticket", out.ticket_id}});
  reply(s, out);
}

void permanence::beneficiary_disconnected(const bytes& identity) {
  lock l(mu_);
  auto it = find_identity(identity);
  if (it != queue_.end() && it->away_since == 0) it->away_since = clock_.unix_ms();
}

void permanence::tick_waiting(effects& fx, unix_ms now) {
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.grace).count();
  auto long_wait = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.long_wait).count();
  auto wait_limit = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.wait_limit).count();
  auto notice = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.closing_notice).count();
  // The permanence closes soon when every worker on call is on a scheduled slot ending within
  // the notice (a manual shift has no announced end).
  bool closing = false;
  if (notice > 0 && !queue_.empty()) {
    unix_ms closes_at = 0;
    bool open_ended = false;
    for (const auto& [id, w] : workers_) {
      if (!w.on_call) continue;
      if (w.mode != shift_mode::scheduled || !settings_.on_call) {
        open_ended = true;
        break;
      }
      auto win = settings_.on_call->window_at(w.username, now);
      if (!win) {
        open_ended = true;
        break;
      }
      closes_at = std::max(closes_at, win->end);
    }
    closing = !open_ended && closes_at != 0 && closes_at - now <= notice;
  }
  std::vector<waiting_entry> gone;
  std::vector<waiting_entry> timed_out;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->taking) {
      ++it;
      continue;
    }
    if (it->away_since != 0 && now - it->away_since >= grace) {
      gone.push_back(std::move(*it));
      it = queue_.erase(it);
      continue;
    }
    if (now - it->joined_at >= wait_limit) {
      timed_out.push_back(std::move(*it));
      it = queue_.erase(it);
      continue;
    }
    if (!it->offered_long_wait && now - it->joined_at >= long_wait) {
      it->offered_long_wait = true;
      fx.emplace_back([this, identity = it->identity] {
        to_beneficiary(identity, frame(pr::queue_inbox_offer{.rid = {}, .reason = pr::offer_reason::long_wait}));
      });
    }
    if (closing && !it->offered_closing) {
      it->offered_closing = true;
      fx.emplace_back([this, identity = it->identity] {
        to_beneficiary(identity, frame(pr::queue_inbox_offer{.rid = {}, .reason = pr::offer_reason::closing}));
      });
    }
    ++it;
  }
  if (gone.empty() && timed_out.empty()) return;
  ++queue_version_;
  positions_dirty_ = true;
  bool inbox = std::any_of(workers_.begin(), workers_.end(),
                           [](const auto& kv) { return !kv.second.disabled && !kv.second.identity.empty(); });
  fx.emplace_back([this, gone = std::move(gone), timed_out = std::move(timed_out), inbox, now] {
    for (const auto& e : gone) {
      log::info("queue_grace_expired", {{"ticket", e.id}});
      store_.finish_queue_entry(e.id, queue_state::left, now, [](std::error_code) {});
    }
    auto f = frame(pr::queue_timeout{.rid = {}, .reason = pr::timeout_reason::wait_limit, .inbox_available = inbox});
    for (const auto& e : timed_out) {
      log::info("queue_wait_limit", {{"ticket", e.id}});
      store_.finish_queue_entry(e.id, queue_state::timed_out, now, [](std::error_code) {});
      to_beneficiary(e.identity, f);
    }
  });
}

void permanence::push_positions(effects& fx, unix_ms now) {
  if (now - last_position_round_ < limits::push_interval_ms) return;
  last_position_round_ = now;
  // One pass over the queue; a frame only where the position or the estimate changed. The
  // estimate moves with the workers on call and the handling times, so compare it too.
  std::vector<std::pair<bytes, std::shared_ptr<const std::string>>> out;
  std::int64_t position = 0;
  for (auto& e : queue_) {
    ++position;
    if (e.away_since != 0) continue;  // told on reconnection
    auto wait = estimate_s(position);
    if (e.sent_position == position && e.sent_wait == wait) continue;
    e.sent_position = position;
    e.sent_wait = wait;
    pr::queue_position p;
    p.ticket_id = e.id;
    p.position = position;
    p.estimated_wait_s = wait;
    out.emplace_back(e.identity, frame(p));
  }
  positions_dirty_ = false;
  if (out.empty()) return;
  pushes_ += out.size();
  fx.emplace_back([this, out = std::move(out)] {
    for (const auto& [identity, f] : out) to_beneficiary(identity, f);
  });
}

void permanence::push_snapshots(effects& fx, unix_ms now) {
  if (snapshot_version_sent_ == queue_version_ || now - last_snapshot_round_ < limits::push_interval_ms) return;
  last_snapshot_round_ = now;
  snapshot_version_sent_ = queue_version_;
  for (const auto& [id, w] : workers_) {
    if (!w.on_call) continue;  // off means off: no pushes
    auto f = frame(snapshot_for(id));
    ++pushes_;
    fx.emplace_back([this, id = id, f] { to_worker(id, f); });
  }
}

void permanence::auto_assign(effects& fx, unix_ms now) {
  if (!settings_.auto_assign) return;
  for (auto& [id, w] : workers_) {
    if (!w.on_call || w.busy || w.identity.empty() || w.capacity <= 0) continue;
    while (static_cast<std::int32_t>(w.open.size()) + w.assigning < w.capacity) {
      // Only to a worker whose console is there to answer.
      bool connected = false;
      directory_.for_each("w:" + std::to_string(id), [&](const std::shared_ptr<session>&) { connected = true; });
      if (!connected) break;
      auto it = next_for(w, now);
      if (it == queue_.end()) return;
      ++w.assigning;
      start_take(fx, nullptr, id, w.identity, it->id, std::nullopt);
    }
  }
}

void permanence::tick() {
  effects fx;
  bool refresh = false;
  {
    lock l(mu_);
    if (!started_) return;
    auto now = clock_.unix_ms();
    tick_worker_shifts(fx, now);
    tick_waiting(fx, now);
    auto_assign(fx, now);
    push_positions(fx, now);
    push_snapshots(fx, now);
    push_status(fx, now);
    if (now - last_worker_refresh_ >= limits::worker_refresh_ms) {
      last_worker_refresh_ = now;
      refresh = true;
    }
  }
  run(fx);
  if (refresh) refresh_workers();
}

// ---------------------------------------------------------------- conversations

void permanence::conversation_ended(conversation_id id) {
  lock l(mu_);
  auto it = open_.find(id);
  if (it == open_.end()) return;
  auto took = clock_.unix_ms() - it->second.started_at;
  took = std::clamp<std::int64_t>(took, limits::min_handling_ms, limits::max_handling_ms);
  if (handled_ms_.size() < limits::handling_samples) {
    handled_ms_.push_back(took);
  } else {
    handled_ms_[handled_next_] = took;
  }
  handled_next_ = (handled_next_ + 1) % limits::handling_samples;
  if (auto* w = worker_ptr(it->second.worker)) w->open.erase(id);
  open_.erase(it);
  positions_dirty_ = true;  // the estimate changed
}

void permanence::transfer(const std::shared_ptr<session>& s, worker_id from, const bytes& from_key,
                          const pr::conversation_transfer& m) {
  bytes to_key;
  std::string to_name;
  {
    lock l(mu_);
    const auto* to = worker_ptr(m.to_worker_id);
    if (to == nullptr || to->disabled || to->identity.empty()) {
      l.unlock();
      return reply_error(s, pr::error::worker_not_found, m.rid);
    }
    if (!to->on_call) {
      l.unlock();
      return reply_error(s, pr::error::off_shift, m.rid, "the colleague is off shift");
    }
    to_key = to->identity;
    to_name = to->display_name;
  }
  if (m.to_worker_id == from) return reply_error(s, pr::error::invalid_value, m.rid, "transfer to oneself");
  // The signed control message of CRYPTO.md §8: by the current worker, naming this
  // conversation and the target's identity key.
  crypto::public_key current{};
  std::copy(from_key.begin(), from_key.end(), reinterpret_cast<char*>(current.data()));
  auto control = m.control.decode();
  crypto::transfer_message parsed;
  auto ec = crypto::verify_transfer(
      crypto::bytes_view(reinterpret_cast<const std::uint8_t*>(control.data()), control.size()), current, parsed);
  if (ec || parsed.conversation_id != std::to_string(m.conversation_id) ||
      !std::equal(parsed.to_worker.begin(), parsed.to_worker.end(), reinterpret_cast<const std::uint8_t*>(to_key.data()))) {
    return reply_error(s, pr::error::invalid_signature, m.rid, "transfer control does not verify");
  }
  transfer_request t;
  t.conversation = m.conversation_id;
  t.from_worker = from;
  t.to = participant{to_key, participant_role::worker, m.to_worker_id, clock_.unix_ms()};
  t.at = clock_.unix_ms();
  std::weak_ptr<session> weak = s;
  store_.transfer_conversation(t, [this, weak, m, from, to_name](std::error_code ec2) {
    auto s2 = weak.lock();
    if (ec2) {
      if (s2) reply_store_error(s2, ec2, m.rid, pr::error::conversation_not_found, pr::error::conversation_ended);
      return;
    }
    bytes beneficiary;
    bool urgent = false;
    {
      lock l(mu_);
      auto it = open_.find(m.conversation_id);
      if (it != open_.end()) {
        it->second.worker = m.to_worker_id;
        beneficiary = it->second.beneficiary;
      }
      if (auto* w = worker_ptr(from)) w->open.erase(m.conversation_id);
      if (auto* w = worker_ptr(m.to_worker_id)) w->open.insert(m.conversation_id);
    }
    log::info("conversation_transferred", {{"conversation", m.conversation_id}, {"from", from}, {"to", m.to_worker_id}});
    if (s2) {
      pr::ok ok;
      ok.rid = m.rid;
      reply(s2, ok);
    }
    pr::conversation_transferred moved;
    moved.conversation_id = m.conversation_id;
    moved.from_worker_id = from;
    moved.to_worker_id = m.to_worker_id;
    moved.to_display_name = to_name.empty() ? std::string("Relais") : to_name;
    moved.control = m.control;
    auto moved_frame = frame(moved);
    auto deliver_moved = [&](const std::string& key) {
      directory_.for_each(key, [&](const std::shared_ptr<session>& o) {
        o->deliver_event(m.conversation_id, moved_frame, false, false, true);
      });
    };
    if (!beneficiary.empty()) deliver_moved("b:" + beneficiary);
    deliver_moved("w:" + std::to_string(from));
    // The new worker learns the beneficiary key from the store's conversation (her session
    // reloads it); the assigned push names it.
    store_.get_conversation(m.conversation_id, [this, m, from, urgent](std::error_code ec3, conversation c) {
      if (ec3) return;
      pr::conversation_assigned out;
      out.conversation_id = m.conversation_id;
      out.beneficiary_key = pr::encoded_bytes::from_bytes(c.beneficiary_key);
      out.urgent = urgent;
      out.returning = std::any_of(c.participants.begin(), c.participants.end(), [&](const participant& p) {
        return p.worker == m.to_worker_id && p.left_at != 0;
      });
      out.transferred_from = from;
      auto f = frame(out);
      directory_.for_each("w:" + std::to_string(m.to_worker_id), [&](const std::shared_ptr<session>& o) {
        o->deliver_event(m.conversation_id, f, true, false, true);
      });
    });
  });
}

// ---------------------------------------------------------------- inbox

void permanence::inbox_recipients(const std::shared_ptr<session>& s, const rid_t& rid) {
  pr::inbox_recipients out;
  {
    lock l(mu_);
    std::vector<const worker_info*> ws;
    for (const auto& [id, w] : workers_) {
      if (!w.disabled && !w.identity.empty()) ws.push_back(&w);
    }
    std::sort(ws.begin(), ws.end(), [](const worker_info* a, const worker_info* b) { return a->id < b->id; });
    for (const auto* w : ws) {
      if (out.workers.size() == limits::max_inbox_recipients) break;
      out.workers.push_back({w->id, w->display_name.empty() ? std::string("Relais") : w->display_name});
    }
  }
  out.rid = rid;
  reply(s, out);
}

void permanence::inbox_send(const std::shared_ptr<session>& s, const bytes& identity, const pr::inbox_send& m) {
  inbox_entry e;
  e.beneficiary_key = identity;
  e.envelope = m.ciphertext.decode();
  e.client_msg_id = m.client_msg_id;
  e.created_at = clock_.unix_ms();
  {
    lock l(mu_);
    for (const auto& r : m.recipients) {
      const auto* w = worker_ptr(r.worker_id);
      if (w == nullptr || w->disabled || w->identity.empty()) {
        l.unlock();
        return reply_error(s, pr::error::worker_not_found, m.rid);
      }
      if (std::any_of(e.recipients.begin(), e.recipients.end(),
                      [&](const inbox_recipient& x) { return x.worker == r.worker_id; })) {
        l.unlock();
        return reply_error(s, pr::error::invalid_value, m.rid, "a recipient is named twice");
      }
      e.recipients.push_back({r.worker_id, r.wrapped_key.decode()});
    }
  }
  std::weak_ptr<session> weak = s;
  store_.add_inbox_entry(e, [this, weak, m, e](std::error_code ec, inbox_entry_id id) {
    auto s2 = weak.lock();
    if (ec) {
      if (s2) reply_store_error(s2, ec, m.rid, pr::error::inbox_not_found, pr::error::inbox_not_found);
      return;
    }
    log::info("inbox_received", {{"inbox", id}, {"recipients", e.recipients.size()}});
    if (s2) {
      pr::inbox_ack ack;
      ack.rid = m.rid;
      ack.client_msg_id = m.client_msg_id;
      ack.inbox_id = id;
      reply(s2, ack);
    }
    // Workers on shift see the count move (off means off: nothing for the others).
    for (const auto& r : e.recipients) {
      if (!on_call(r.worker)) continue;
      store_.count_unread_inbox(r.worker, [this, w = r.worker](std::error_code ec2, std::int64_t n) {
        if (ec2) return;
        pr::inbox_count c;
        c.unread = n;
        to_worker(w, frame(c));
      });
    }
  });
}

void permanence::inbox_list(const std::shared_ptr<session>& s, worker_id w, const pr::inbox_list& m) {
  inbox_query q;
  q.worker = w;
  q.after_id = m.after_id.value_or(0);
  q.limit = static_cast<std::size_t>(m.limit.value_or(static_cast<std::int64_t>(pr::limits::max_inbox_items)));
  std::weak_ptr<session> weak = s;
  store_.list_inbox_for_worker(q, [this, weak, m, w](std::error_code ec, std::vector<inbox_entry> entries) {
    auto s2 = weak.lock();
    if (!s2) return;
    if (ec) return reply_store_error(s2, ec, m.rid, pr::error::inbox_not_found, pr::error::inbox_not_found);
    pr::inbox_messages out;
    out.rid = m.rid;
    out.more = false;
    // As many items as fit in one frame (PROTOCOL.md inbox.messages).
    std::size_t size = pr::encode(out).size();
    for (const auto& e : entries) {
      pr::inbox_item item;
      item.inbox_id = e.id;
      item.beneficiary_key = pr::encoded_bytes::from_bytes(e.beneficiary_key);
      item.ciphertext = pr::encoded_bytes::from_bytes(e.envelope);
      for (const auto& r : e.recipients) {
        if (r.worker == w) item.wrapped_key = pr::encoded_bytes::from_bytes(r.wrapped_key);
      }
      item.received_at = e.created_at;
      auto item_size = item.ciphertext.text().size() + item.wrapped_key.text().size() +
                       item.beneficiary_key.text().size() + 128;
      if (!out.items.empty() && size + item_size > pr::limits::max_frame_bytes) {
        out.more = true;
        break;
      }
      size += item_size;
      out.items.push_back(std::move(item));
    }
    if (!out.more && entries.size() == static_cast<std::size_t>(m.limit.value_or(
                                           static_cast<std::int64_t>(pr::limits::max_inbox_items)))) {
      out.more = true;  // a full page: there may be more
    }
    reply(s2, out);
  });
}

void permanence::inbox_answer(const std::shared_ptr<session>& s, worker_id w, const bytes& worker_key,
                              const pr::inbox_answer& m) {
  std::string name;
  {
    lock l(mu_);
    const auto* info = worker_ptr(w);
    if (info == nullptr || !info->on_call) {
      l.unlock();
      return reply_error(s, pr::error::off_shift, m.rid);
    }
    name = info->display_name;
  }
  inbox_take_request t;
  t.entry = m.inbox_id;
  t.worker = w;
  t.worker_key = worker_key;
  t.at = clock_.unix_ms();
  std::weak_ptr<session> weak = s;
  store_.take_inbox_entry(t, [this, weak, m, w, name](std::error_code ec, inbox_entry taken) {
    auto s2 = weak.lock();
    if (ec) {
      if (s2) reply_store_error(s2, ec, m.rid, pr::error::inbox_not_found, pr::error::already_taken);
      return;
    }
    {
      lock l(mu_);
      open_[taken.conversation] = open_conversation{w, taken.beneficiary_key, clock_.unix_ms()};
      if (auto* info = worker_ptr(w)) info->open.insert(taken.conversation);
    }
    log::info("inbox_answered", {{"inbox", m.inbox_id}, {"worker", w}, {"conversation", taken.conversation}});
    pr::conversation_assigned out;
    out.conversation_id = taken.conversation;
    out.beneficiary_key = pr::encoded_bytes::from_bytes(taken.beneficiary_key);
    out.urgent = false;
    out.returning = true;  // she wrote to the workers: this one answers her
    out.inbox_id = m.inbox_id;
    auto push = frame(out);
    out.rid = m.rid;
    auto answer = frame(out);
    directory_.for_each("w:" + std::to_string(w), [&](const std::shared_ptr<session>& o) {
      o->deliver_event(taken.conversation, o == s2 ? answer : push, true, false);
    });
    // Connected now: told now; otherwise at her next authentication (session_queue.cpp).
    pr::conversation_opened opened;
    opened.conversation_id = taken.conversation;
    opened.worker_id = w;
    opened.display_name = name.empty() ? std::string("Relais") : name;
    auto f = frame(opened);
    directory_.for_each("b:" + taken.beneficiary_key, [&](const std::shared_ptr<session>& o) {
      o->deliver_event(taken.conversation, f, true, false);
    });
    store_.count_unread_inbox(w, [this, w](std::error_code ec2, std::int64_t n) {
      if (ec2) return;
      pr::inbox_count c;
      c.unread = n;
      to_worker(w, frame(c));
    });
  });
}

void permanence::schedule_week(const std::shared_ptr<session>& s, worker_id w, const pr::shift_schedule& m) {
  std::string username;
  {
    lock l(mu_);
    const auto* info = worker_ptr(w);
    if (info == nullptr) {
      l.unlock();
      return reply_error(s, pr::error::worker_not_found, m.rid);
    }
    username = info->username;
  }
  const auto& sched = settings_.on_call ? settings_.on_call : schedule::none();
  pr::shift_week out;
  out.rid = m.rid;
  out.time_zone = settings_.on_call ? sched->time_zone() : std::string("UTC");
  out.span_from = clock_.unix_ms();
  out.span_to = out.span_from + m.days.value_or(7) * 86'400'000;
  // Each list walks window to window: at most max_week_windows schedule queries, each bounded
  // by the schedule's own look-ahead (schedule.hpp), so a request costs microseconds.
  auto collect = [&](std::vector<pr::time_window>& list, auto first, auto next) {
    auto win = first();
    if (!win) win = next(out.span_from);
    while (win && win->start < out.span_to && list.size() < pr::limits::max_week_windows) {
      list.push_back({win->start, win->end});
      win = next(win->end);
    }
  };
  collect(out.mine, [&] { return sched->window_at(username, out.span_from); },
          [&](unix_ms t) { return sched->next_window(username, t); });
  collect(out.open, [&] { return sched->any_window_at(out.span_from); },
          [&](unix_ms t) -> std::optional<on_call_window> {
            auto start = sched->next_opening(t);
            if (!start) return std::nullopt;
            return sched->any_window_at(*start);
          });
  for (const auto& d : sched->closed_days(out.span_from, out.span_to, pr::limits::max_week_windows)) {
    out.closed.push_back({d.start, d.end});
  }
  reply(s, out);
}

void permanence::inbox_dismiss(const std::shared_ptr<session>& s, worker_id w, const pr::inbox_dismiss& m) {
  if (!on_call(w)) return reply_error(s, pr::error::off_shift, m.rid);
  // Only a recipient may dismiss: her own unread list from just before the entry says so
  // (an index range read of one row), then the claim is a compare-and-set on the entry.
  inbox_query q;
  q.worker = w;
  q.after_id = m.inbox_id - 1;
  q.limit = 1;
  std::weak_ptr<session> weak = s;
  store_.list_inbox_for_worker(q, [this, weak, m, w](std::error_code ec, std::vector<inbox_entry> entries) {
    auto s2 = weak.lock();
    if (!s2) return;
    if (ec) return reply_store_error(s2, ec, m.rid, pr::error::inbox_not_found, pr::error::inbox_not_found);
    if (entries.empty() || entries.front().id != m.inbox_id) {
      // Not hers, gone, or no longer unread: which one is not told to a non-recipient.
      return reply_error(s2, pr::error::inbox_not_found, m.rid);
    }
    store_.claim_inbox_entry(m.inbox_id, w, clock_.unix_ms(), [this, weak, m, w](std::error_code ec2) {
      auto s3 = weak.lock();
      if (ec2) {
        if (s3) reply_store_error(s3, ec2, m.rid, pr::error::inbox_not_found, pr::error::already_taken);
        return;
      }
      log::info("inbox_dismissed", {{"inbox", m.inbox_id}, {"worker", w}});
      if (s3) {
        pr::ok ok;
        ok.rid = m.rid;
        reply(s3, ok);
      }
      // The other recipients' counts moved too; those on shift are told (off means off).
      std::vector<worker_id> on;
      {
        lock l(mu_);
        for (const auto& [id, info] : workers_) {
          if (info.on_call) on.push_back(id);
        }
      }
      for (auto r : on) {
        store_.count_unread_inbox(r, [this, r](std::error_code ec3, std::int64_t n) {
          if (ec3) return;
          pr::inbox_count c;
          c.unread = n;
          to_worker(r, frame(c));
        });
      }
    });
  });
}

// ---------------------------------------------------------------- facts

std::size_t permanence::waiting_count() const {
  lock l(mu_);
  return queue_.size();
}

std::uint64_t permanence::pushes() const {
  lock l(mu_);
  return pushes_;
}

// ---------------------------------------------------------------- sending

void permanence::to_worker(worker_id w, const std::shared_ptr<const std::string>& f) {
  directory_.for_each("w:" + std::to_string(w), [&](const std::shared_ptr<session>& o) { o->deliver_push(f); });
}

void permanence::to_beneficiary(const bytes& identity, const std::shared_ptr<const std::string>& f) {
  directory_.for_each("b:" + identity, [&](const std::shared_ptr<session>& o) { o->deliver_push(f); });
}

template <typename T>
void permanence::reply(const std::shared_ptr<session>& s, const T& message) {
  s->deliver_push(frame(message));
}

void permanence::reply_error(const std::shared_ptr<session>& s, pr::error code, const rid_t& rid,
                             std::optional<std::string> text) {
  reply(s, pr::make_error(code, rid, std::move(text)));
}

void permanence::reply_store_error(const std::shared_ptr<session>& s, std::error_code ec, const rid_t& rid,
                                   pr::error not_found, pr::error conflict) {
  if (ec == store_errc::not_found) return reply_error(s, not_found, rid);
  if (ec == store_errc::conflict || ec == store_errc::already_exists) return reply_error(s, conflict, rid);
  if (is_transient_store_failure(ec) || ec == store_errc::busy || ec == store_errc::closed) {
    auto e = pr::make_error(pr::error::server_busy, rid, std::string("storage unavailable, retry"));
    e.retry_after_ms = 1000;
    return reply(s, e);
  }
  log::error("store_failure", {{"error", ec.message()}});
  reply_error(s, pr::error::internal_error, rid);
}

}  // namespace relais::core
