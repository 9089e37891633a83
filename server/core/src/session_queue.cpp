// Shifts and the queue, in their first form: a worker starts and stops her shift by hand, a
// beneficiary joins while someone is on call, and a worker takes the next (or a chosen)
// waiting beneficiary, which creates the conversation. The store is the single source of
// truth (its take is atomic, so of two workers racing exactly one wins). Schedules, live
// position pushes, grace periods and the inbox come with the permanence (issue 7).
#include <algorithm>
#include <chrono>

#include "relais/core/session.hpp"
#include "relais/log/log.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace {

std::int64_t workers_on_call(const std::vector<shift_state>& states) {
  return std::count_if(states.begin(), states.end(), [](const shift_state& s) { return s.on_call; });
}

}  // namespace

void session::on_shift_start(const pr::shift_start& m) {
  shift_state st;
  st.worker = worker_;
  st.mode = shift_mode::manual_on;
  st.on_call = true;
  st.since = services_.clock.unix_ms();
  services_.store.set_shift_state(st, on_strand([rid = m.rid](session& s, std::error_code ec) {
    if (ec) return s.reply_store_error(ec, rid, error::worker_not_found, error::off_shift);
    log::info("shift_started", {{"worker", s.worker_}});
    pr::shift_state out;
    out.rid = rid;
    out.state = pr::on_call_state::on;
    out.mode = pr::shift_mode::manual;
    s.reply(out);
  }));
}

void session::on_shift_stop(const pr::shift_stop& m) {
  shift_state st;
  st.worker = worker_;
  st.mode = shift_mode::manual_off;
  st.on_call = false;
  st.since = services_.clock.unix_ms();
  services_.store.set_shift_state(st, on_strand([rid = m.rid](session& s, std::error_code ec) {
    if (ec) return s.reply_store_error(ec, rid, error::worker_not_found, error::off_shift);
    log::info("shift_stopped", {{"worker", s.worker_}});
    pr::shift_state out;
    out.rid = rid;
    out.state = pr::on_call_state::off;
    out.mode = pr::shift_mode::manual;
    s.reply(out);
  }));
}

void session::on_queue_join(const pr::queue_join& m) {
  if (auto wait = services_.addresses.try_take(remote_address_, address_action::queue_join)) {
    reply_error(error::rate_limited, m.rid, "too many queue joins",
                std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count());
    return;
  }
  services_.store.list_shift_states(on_strand([m](session& s, std::error_code ec, std::vector<shift_state> states) {
    if (ec) return s.reply_store_error(ec, m.rid, error::permanence_closed, error::permanence_closed);
    auto on_call = workers_on_call(states);
    if (on_call == 0) return s.reply_error(error::permanence_closed, m.rid);
    queue_entry e;
    e.beneficiary_key = s.identity_;
    e.level = m.urgent ? urgency::urgent : urgency::normal;
    if (m.prechat) e.prechat = m.prechat->decode();
    e.joined_at = s.services_.clock.unix_ms();
    s.services_.store.enqueue(std::move(e), s.on_strand([rid = m.rid, on_call](session& s2, std::error_code ec2,
                                                                                 queue_entry_id id) {
      if (ec2 == store_errc::already_exists) return s2.reply_error(error::already_in_queue, rid);
      if (ec2) return s2.reply_store_error(ec2, rid, error::permanence_closed, error::already_in_queue);
      s2.services_.store.list_waiting(s2.on_strand([rid, id, on_call](session& s3, std::error_code ec3,
                                                                      std::vector<queue_entry> waiting) {
        if (ec3) return s3.reply_store_error(ec3, rid, error::ticket_not_found, error::ticket_not_found);
        auto it = std::find_if(waiting.begin(), waiting.end(), [id](const queue_entry& q) { return q.id == id; });
        std::int64_t position = it == waiting.end() ? 1 : (it - waiting.begin()) + 1;
        pr::queue_position out;
        out.rid = rid;
        out.ticket_id = id;
        out.position = position;
        // Provisional estimate: each worker on call handles one person per average handling
        // time (issue 7 replaces it with recent handling times).
        auto per_person = std::chrono::duration_cast<std::chrono::seconds>(s3.services_.settings.average_handling_time);
        out.estimated_wait_s = std::min<std::int64_t>((position - 1) * per_person.count() / std::max<std::int64_t>(1, on_call),
                                                      pr::limits::max_wait_seconds);
        s3.reply(out);
      }));
    }));
  }));
}

void session::on_queue_leave(const pr::queue_leave& m) {
  services_.store.list_waiting(on_strand([rid = m.rid](session& s, std::error_code ec, std::vector<queue_entry> waiting) {
    if (ec) return s.reply_store_error(ec, rid, error::not_in_queue, error::not_in_queue);
    auto it = std::find_if(waiting.begin(), waiting.end(),
                           [&s](const queue_entry& q) { return q.beneficiary_key == s.identity_; });
    if (it == waiting.end()) return s.reply_error(error::not_in_queue, rid);
    s.services_.store.finish_queue_entry(it->id, queue_state::left, s.services_.clock.unix_ms(),
                                         s.on_strand([rid](session& s2, std::error_code ec2) {
                                           if (ec2) return s2.reply_store_error(ec2, rid, error::not_in_queue, error::not_in_queue);
                                           pr::ok ok;
                                           ok.rid = rid;
                                           s2.reply(ok);
                                         }));
  }));
}

void session::on_queue_list(const pr::queue_list& m) {
  services_.store.list_waiting(on_strand([rid = m.rid](session& s, std::error_code ec, std::vector<queue_entry> waiting) {
    if (ec) return s.reply_store_error(ec, rid, error::queue_empty, error::queue_empty);
    pr::queue_snapshot out;
    out.rid = rid;
    out.total = static_cast<std::int64_t>(waiting.size());
    for (const auto& q : waiting) {
      if (out.entries.size() == pr::limits::max_snapshot_entries) break;
      out.entries.push_back({q.id, q.level == urgency::urgent, q.joined_at, false});
    }
    s.reply(out);
  }));
}

void session::on_queue_take(const pr::queue_take& m) {
  // The beneficiary starts X3DH with the worker's bundle: no keys, no conversation.
  with_identity(m.rid, [m](session& self) { self.take_checked(m); });
}

void session::take_checked(const pr::queue_take& m) {
  services_.store.list_shift_states(on_strand([m](session& s, std::error_code ec, std::vector<shift_state> states) {
    if (ec) return s.reply_store_error(ec, m.rid, error::off_shift, error::off_shift);
    auto mine = std::find_if(states.begin(), states.end(), [&s](const shift_state& st) { return st.worker == s.worker_; });
    if (mine == states.end() || !mine->on_call) return s.reply_error(error::off_shift, m.rid);
    s.services_.store.list_waiting(s.on_strand([m](session& s2, std::error_code ec2, std::vector<queue_entry> waiting) {
      if (ec2) return s2.reply_store_error(ec2, m.rid, error::queue_empty, error::queue_empty);
      if (waiting.empty()) return s2.reply_error(error::queue_empty, m.rid);
      queue_entry_id id = waiting.front().id;
      if (m.ticket_id) {
        auto it = std::find_if(waiting.begin(), waiting.end(), [&m](const queue_entry& q) { return q.id == *m.ticket_id; });
        if (it == waiting.end()) return s2.reply_error(error::ticket_not_found, m.rid);
        id = it->id;
      }
      take_request t;
      t.entry = id;
      t.worker = s2.worker_;
      t.worker_key = s2.identity_;
      t.at = s2.services_.clock.unix_ms();
      s2.services_.store.take_queue_entry(t, s2.on_strand([rid = m.rid](session& s3, std::error_code ec3, queue_entry taken) {
        if (ec3 == store_errc::conflict) return s3.reply_error(error::already_taken, rid);
        if (ec3) return s3.reply_store_error(ec3, rid, error::ticket_not_found, error::already_taken);
        log::info("queue_taken", {{"worker", s3.worker_}, {"conversation", taken.conversation}});
        // The worker follows the new conversation live from its first message.
        auto& c = s3.conversations_[taken.conversation];
        c.beneficiary_key = taken.beneficiary_key;
        c.participants = {participant{taken.beneficiary_key, participant_role::beneficiary, 0, taken.updated_at},
                          participant{s3.identity_, participant_role::worker, s3.worker_, taken.updated_at}};
        c.live = true;
        pr::conversation_assigned out;
        out.rid = rid;
        out.conversation_id = taken.conversation;
        out.beneficiary_key = pr::encoded_bytes::from_bytes(taken.beneficiary_key);
        out.urgent = taken.level == urgency::urgent;
        out.returning = false;
        if (!taken.prechat.empty()) out.prechat = pr::encoded_bytes::from_bytes(taken.prechat);
        s3.reply(out);
        pr::conversation_opened opened;
        opened.conversation_id = taken.conversation;
        opened.worker_id = s3.worker_;
        opened.display_name = s3.display_name_;
        auto frame = std::make_shared<const std::string>(pr::encode(opened));
        s3.services_.directory.for_each("b:" + taken.beneficiary_key, [&](const std::shared_ptr<session>& o) {
          o->deliver_event(taken.conversation, frame, true, false);
        });
      }));
    }));
  }));
}

}  // namespace relais::core
