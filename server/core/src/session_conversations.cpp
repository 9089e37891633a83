// Conversations (PROTOCOL.md §6.7, §6.8, §7): the relay of ciphertext envelopes with durable
// acks, receipts, typing, the end of a conversation, history pages and the resume (`sync`).
//
// Ordering: the store's writer completes appends in commit order and, from that thread,
// hands each new message to the live sessions of the conversation's participants; each
// session posts it to its strand, so every connection sees a conversation's messages in seq
// order. A connection follows a conversation live once it synced it or was given it
// (queue.take / conversation.opened); a gap (a replay still running) is filled from the
// store, a repeat is dropped, so the client gets every message once, in order.
#include <algorithm>
#include <chrono>

#include "relais/core/session.hpp"
#include "relais/core/permanence.hpp"
#include "relais/log/log.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace {

/// What an encoded frame may hold besides its messages (type, ids, `more`): a safe margin.
constexpr std::size_t page_overhead_bytes = 512;
/// Messages read per replay step; a replay waits for the connection to drain between steps.
constexpr std::size_t replay_page_messages = 100;
/// Bytes a replay step queues at most before waiting for the connection to drain (at least
/// one message): well under the smallest outgoing queue bound (64 KiB), so a replay alone
/// never makes a reading client look slow.
constexpr std::size_t replay_step_bytes = 32 * 1024;
/// Appends one connection may have waiting for the store; beyond, server_busy.
constexpr std::size_t max_appends_in_flight = 1024;

pr::peer_role sender_role(const bytes& beneficiary_key, const bytes& sender_key) {
  return sender_key == beneficiary_key ? pr::peer_role::beneficiary : pr::peer_role::worker;
}

}  // namespace

bool session::is_current_participant(const tracked_conversation& c) const {
  return std::any_of(c.participants.begin(), c.participants.end(), [this](const participant& p) {
    if (p.left_at != 0) return false;
    return role_ == pr::peer_role::worker ? p.role == participant_role::worker && p.worker == worker_
                                          : p.role == participant_role::beneficiary && p.identity_key == identity_;
  });
}

bool session::was_participant(const tracked_conversation& c) const {
  return std::any_of(c.participants.begin(), c.participants.end(), [this](const participant& p) {
    return role_ == pr::peer_role::worker ? p.role == participant_role::worker && p.worker == worker_
                                          : p.role == participant_role::beneficiary && p.identity_key == identity_;
  });
}

std::vector<std::string> session::recipients(const tracked_conversation& c) const {
  std::vector<std::string> keys;
  for (const auto& p : c.participants) {
    if (p.left_at == 0) keys.push_back(key_of(p));
  }
  return keys;
}

sequence_number session::joined_seq_of(const std::vector<participant>& participants) const {
  // A worker who joined by a transfer was not a recipient of the messages before it (they
  // were encrypted for someone else, CRYPTO.md §8): nothing up to joined_seq is hers to get.
  sequence_number joined = 0;
  for (const auto& p : participants) {
    bool me = role_ == pr::peer_role::worker ? p.role == participant_role::worker && p.worker == worker_
                                             : p.role == participant_role::beneficiary && p.identity_key == identity_;
    if (me) joined = std::max(joined, p.joined_seq);
  }
  return joined;
}

session::tracked_conversation& session::track(const conversation& c) {
  auto& t = conversations_[c.id];
  t.beneficiary_key = c.beneficiary_key;
  t.participants = c.participants;
  t.ended = c.ended_at != 0;
  t.last_seq_seen = std::max(t.last_seq_seen, c.last_seq);
  t.known = std::max(t.known, joined_seq_of(c.participants));
  return t;
}

void session::with_conversation(conversation_id id, const rid_t& rid, bool allow_past,
                                std::function<void(tracked_conversation&)> fn) {
  // Runs `fn` if this connection may act on the conversation; `c` null: the read failed.
  auto checked = [this, rid, allow_past, fn = std::move(fn)](tracked_conversation* c, std::error_code ec) {
    if (c == nullptr) return reply_store_error(ec, rid, error::conversation_not_found, error::conversation_not_found);
    if (allow_past ? !was_participant(*c) : !is_current_participant(*c)) {
      reply_error(error::forbidden, rid, "not a participant of this conversation");
      count_error();
      return;
    }
    fn(*c);
  };
  auto it = conversations_.find(id);
  if (it != conversations_.end() && !it->second.participants.empty() && !it->second.loading) return checked(&it->second, {});
  if (it == conversations_.end()) {
    if (conversations_.size() >= services_.settings.max_tracked_conversations) {
      // Too many followed: answer from a fresh read without remembering the conversation.
      services_.store.get_conversation(id, on_strand([checked](session&, std::error_code ec, conversation c) {
        if (ec) return checked(nullptr, ec);
        tracked_conversation temporary;
        temporary.beneficiary_key = c.beneficiary_key;
        temporary.participants = c.participants;
        temporary.ended = c.ended_at != 0;
        checked(&temporary, {});
      }));
      return;
    }
    it = conversations_.emplace(id, tracked_conversation{}).first;
  }
  it->second.waiting.push_back(std::move(checked));
  if (it->second.loading) return;
  it->second.loading = true;
  services_.store.get_conversation(id, on_strand([id](session& s, std::error_code ec, conversation c) {
    auto found = s.conversations_.find(id);
    if (found == s.conversations_.end()) return;
    auto waiting = std::move(found->second.waiting);
    found->second.waiting.clear();
    found->second.loading = false;
    if (ec) {
      if (!found->second.live) s.conversations_.erase(found);
      for (auto& w : waiting) w(nullptr, ec);  // each request gets its own answer
      return;
    }
    auto& t = s.track(c);
    for (auto& w : waiting) w(&t, {});
  }));
}

// ---------------------------------------------------------------- send and ack

void session::on_send(const pr::conversation_send& m) {
  if (!messages_.try_take(services_.clock.now())) {
    auto wait_ms = static_cast<std::int64_t>(1000.0 / std::max(services_.settings.messages_per_second, 0.001));
    reply_error(error::rate_limited, m.rid, "too many messages", wait_ms);
    count_error();
    return;
  }
  if (appends_in_flight_ >= max_appends_in_flight) {
    reply_error(error::server_busy, m.rid, "too many messages waiting for storage", 1000);
    return;
  }
  with_conversation(m.conversation_id, m.rid, false, [this, m](tracked_conversation& c) {
    if (c.ended) return reply_error(error::conversation_ended, m.rid);
    append_request req;
    req.conversation = m.conversation_id;
    req.client_message_id = m.client_msg_id;
    req.sender_key = identity_;
    req.envelope = m.ciphertext.decode();
    req.received_at = services_.clock.unix_ms();
    const auto received_at = req.received_at;
    if (req.sender_key.empty()) return reply_error(error::keys_not_found, m.rid, "publish your keys first");
    ++appends_in_flight_;
    // Runs on the store's writer after the commit's fsync, in commit order: the relay to the
    // other sessions happens here so that every recipient sees seq order; the ack hops to
    // this session's strand.
    services_.store.append_message(
        std::move(req), [weak = weak_from_this(), port = port_, directory = &services_.directory,
                         keys = recipients(c), role = role_, m, sent_at = received_at](
                            std::error_code ec, append_result result) {
          if (!ec && !result.duplicate) {
            pr::conversation_message out;
            out.conversation_id = m.conversation_id;
            out.seq = result.seq;
            out.sender = role;
            out.client_msg_id = m.client_msg_id;
            out.ciphertext = m.ciphertext;
            out.sent_at = sent_at;
            auto frame = std::make_shared<const std::string>(pr::encode(out));
            auto sender = weak.lock();
            for (const auto& key : keys) {
              directory->for_each(key, [&](const std::shared_ptr<session>& s) {
                if (s != sender) s->deliver_message(m.conversation_id, result.seq, frame);
              });
            }
          }
          port->post([weak, ec, result, m, sent_at]() mutable {
            auto self = weak.lock();
            if (!self) return;
            --self->appends_in_flight_;
            if (self->closing_) return;
            if (ec == store_errc::conflict) {
              if (auto it = self->conversations_.find(m.conversation_id); it != self->conversations_.end()) {
                it->second.ended = true;
              }
              return self->reply_error(error::conversation_ended, m.rid);
            }
            if (ec == store_errc::too_large) return self->reply_error(error::too_long, m.rid, "ciphertext");
            if (ec) return self->reply_store_error(ec, m.rid, error::conversation_not_found, error::conversation_ended);
            self->send_acked(std::move(m), result, sent_at);
          });
        });
  });
}

void session::send_acked(pr::conversation_send m, append_result result, unix_ms sent_at) {
  auto ack = [this](const pr::conversation_send& msg, sequence_number seq, unix_ms at) {
    pr::conversation_ack out;
    out.rid = msg.rid;
    out.conversation_id = msg.conversation_id;
    out.client_msg_id = msg.client_msg_id;
    out.seq = seq;
    out.sent_at = at;
    reply(out);
  };
  if (result.duplicate) {
    // A resend after a lost ack: acknowledged again with the original seq and time, never
    // relayed twice.
    message_page_query q{m.conversation_id, result.seq - 1, 1};
    services_.store.read_messages(q, on_strand([m, result, ack](session& s, std::error_code ec,
                                                                std::vector<stored_message> rows) {
      (void)s;
      if (ec || rows.empty() || rows.front().seq != result.seq) {
        return s.reply_store_error(ec ? ec : make_error_code(store_errc::internal), m.rid,
                                   error::conversation_not_found, error::conversation_ended);
      }
      ack(m, result.seq, rows.front().received_at);
    }));
    return;
  }
  ack(m, result.seq, sent_at);
  auto it = conversations_.find(m.conversation_id);
  if (it == conversations_.end() || !it->second.live) return;
  auto& c = it->second;
  if (result.seq == c.known + 1) {
    c.known = result.seq;  // the sender has its own message: nothing to replay
  } else if (result.seq > c.known + 1) {
    c.dirty = true;  // the other side's messages in between are still on their way
    pump(m.conversation_id);
  }
}

// ---------------------------------------------------------------- receipts, typing, end

void session::on_receipt(conversation_id id, sequence_number up_to, bool read, const rid_t& rid) {
  if (!messages_.try_take(services_.clock.now())) {
    reply_error(error::rate_limited, rid, "too many receipts", 1000);
    count_error();
    return;
  }
  with_conversation(id, rid, false, [this, id, up_to, read, rid](tracked_conversation& c) {
    cursor_update u;
    u.conversation = id;
    u.identity_key = identity_;
    (read ? u.read_seq : u.delivered_seq) = up_to;
    auto keys = recipients(c);
    services_.store.update_cursor(u, on_strand([id, up_to, read, rid, keys](session& s, std::error_code ec) {
      if (ec == store_errc::invalid_argument) return s.reply_error(error::sequence_ahead, rid);
      if (ec) return s.reply_store_error(ec, rid, error::conversation_not_found, error::conversation_ended);
      // Remembered (the delivery cursor), then relayed to the other side.
      std::string frame;
      if (read) {
        pr::conversation_read out;
        out.conversation_id = id;
        out.up_to_seq = up_to;
        frame = pr::encode(out);
      } else {
        pr::conversation_delivered out;
        out.conversation_id = id;
        out.up_to_seq = up_to;
        frame = pr::encode(out);
      }
      auto shared = std::make_shared<const std::string>(std::move(frame));
      auto own = s.directory_key();
      for (const auto& key : keys) {
        if (key == own) continue;
        s.services_.directory.for_each(key, [&](const std::shared_ptr<session>& o) { o->deliver_event(id, shared); });
      }
    }));
  });
}

void session::on_typing(const pr::conversation_typing& m) {
  if (!typing_.try_take(services_.clock.now())) return;  // indicators beyond the rate are dropped
  with_conversation(m.conversation_id, m.rid, false, [this, m](tracked_conversation& c) {
    if (c.ended) return;
    pr::conversation_typing out;
    out.conversation_id = m.conversation_id;
    out.active = m.active;
    auto frame = std::make_shared<const std::string>(pr::encode(out));
    auto own = directory_key();
    for (const auto& key : recipients(c)) {
      if (key == own) continue;  // relayed to connected peers only, never stored
      services_.directory.for_each(key, [&](const std::shared_ptr<session>& o) {
        o->deliver_event(m.conversation_id, frame);
      });
    }
  });
}

void session::on_end(const pr::conversation_end& m) {
  with_conversation(m.conversation_id, m.rid, false, [this, m](tracked_conversation& c) {
    auto keys = recipients(c);
    services_.store.end_conversation(
        m.conversation_id, services_.clock.unix_ms(), on_strand([m, keys](session& s, std::error_code ec) {
          if (ec) return s.reply_store_error(ec, m.rid, error::conversation_not_found, error::conversation_ended);
          log::info("conversation_ended", {{"conversation", m.conversation_id}});
          s.services_.permanence.conversation_ended(m.conversation_id);
          pr::ok ok;
          ok.rid = m.rid;
          s.reply(ok);
          pr::conversation_ended ended;
          ended.conversation_id = m.conversation_id;
          ended.reason = s.role_ == pr::peer_role::worker ? pr::end_reason::worker : pr::end_reason::beneficiary;
          auto frame = std::make_shared<const std::string>(pr::encode(ended));
          for (const auto& key : keys) {
            s.services_.directory.for_each(key, [&](const std::shared_ptr<session>& o) {
              o->deliver_event(m.conversation_id, frame, false, true);
            });
          }
        }));
  });
}

// ---------------------------------------------------------------- history

void session::on_history(const pr::history_get& m) {
  // Always read fresh: the page's `more` and `sequence_ahead` need the current last seq.
  services_.store.get_conversation(m.conversation_id, on_strand([m](session& s, std::error_code ec, conversation c) {
    if (ec) return s.reply_store_error(ec, m.rid, error::conversation_not_found, error::conversation_not_found);
    tracked_conversation t;
    t.beneficiary_key = c.beneficiary_key;
    t.participants = c.participants;
    if (!s.was_participant(t)) {
      s.reply_error(error::forbidden, m.rid, "not a participant of this conversation");
      s.count_error();
      return;
    }
    if (m.after_seq > c.last_seq) return s.reply_error(error::sequence_ahead, m.rid);
    auto limit = static_cast<std::size_t>(m.limit.value_or(static_cast<std::int64_t>(pr::limits::max_history_messages)));
    auto from = std::max(m.after_seq, s.joined_seq_of(c.participants));
    message_page_query q{m.conversation_id, from, limit};
    s.services_.store.read_messages(q, s.on_strand([m, t, from, last = c.last_seq](session& s2, std::error_code ec2,
                                                                                  std::vector<stored_message> rows) {
      if (ec2) return s2.reply_store_error(ec2, m.rid, error::conversation_not_found, error::conversation_not_found);
      pr::history_page page;
      page.rid = m.rid;
      page.conversation_id = m.conversation_id;
      std::size_t bytes_used = page_overhead_bytes;
      sequence_number last_sent = from;
      for (const auto& row : rows) {
        auto size = (row.envelope.size() + 2) / 3 * 4 + row.client_message_id.size() + 96;
        if (!page.messages.empty() && bytes_used + size > pr::limits::max_frame_bytes) break;
        bytes_used += size;
        page.messages.push_back({row.seq, sender_role(t.beneficiary_key, row.sender_key), row.client_message_id,
                                 pr::encoded_bytes::from_bytes(row.envelope), row.received_at});
        last_sent = row.seq;
      }
      page.more = last_sent < last;
      s2.reply(page);
    }));
  }));
}

// ---------------------------------------------------------------- resume

void session::on_sync(const pr::sync& m) {
  if (sync_running_) {
    reply_error(error::unexpected_message, m.rid, "a sync is already running");
    count_error();
    return;
  }
  sync_running_ = true;
  if (identity_.empty() && role_ == pr::peer_role::worker) {
    // Keys published by another device since this one logged in count; none: no
    // conversation yet.
    services_.store.get_worker(worker_, on_strand([m](session& s, std::error_code ec, worker_account a) {
      if (!ec && !a.identity_key.empty()) {
        s.identity_ = a.identity_key;
        s.sync_running_ = false;
        return s.on_sync(m);
      }
      s.sync_listed(m, {});
    }));
    return;
  }
  services_.store.list_conversations(identity_, true,
                                     on_strand([m](session& s, std::error_code ec, std::vector<conversation> list) {
                                       if (ec) {
                                         s.sync_running_ = false;
                                         return s.reply_store_error(ec, m.rid, error::conversation_not_found,
                                                                    error::conversation_not_found);
                                       }
                                       s.sync_listed(m, std::move(list));
                                     }));
}

void session::sync_listed(pr::sync m, std::vector<conversation> list) {
  std::unordered_map<conversation_id, const conversation*> by_id;
  for (const auto& c : list) by_id.emplace(c.id, &c);
  std::unordered_map<conversation_id, sequence_number> cursors;
  for (const auto& cur : m.cursors) {
    auto it = by_id.find(cur.conversation_id);
    if (it == by_id.end()) {
      sync_running_ = false;
      reply_error(error::conversation_not_found, m.rid, "a cursor names a conversation of someone else or none");
      return;
    }
    if (cur.last_seq > it->second->last_seq) {
      // The client claims messages the server never stored: nothing is sent for this request.
      sync_running_ = false;
      reply_error(error::sequence_ahead, m.rid);
      return;
    }
    cursors[cur.conversation_id] = cur.last_seq;
  }
  // Open conversations, and ended ones the client still follows; newest first if too many.
  std::vector<const conversation*> selected;
  for (const auto& c : list) {
    if (c.ended_at == 0 || cursors.count(c.id)) selected.push_back(&c);
  }
  std::sort(selected.begin(), selected.end(), [](const conversation* a, const conversation* b) { return a->id > b->id; });
  auto cap = std::min(pr::limits::max_sync_conversations, services_.settings.max_tracked_conversations);
  if (selected.size() > cap) selected.resize(cap);
  sync_rid_ = m.rid;
  sync_order_.clear();
  sync_pending_.clear();
  for (const auto* c : selected) {
    auto& t = track(*c);
    t.live = true;
    auto cur = cursors.find(c->id);
    t.known = std::max(cur == cursors.end() ? 0 : cur->second, joined_seq_of(c->participants));
    t.dirty = false;
    sync_order_.push_back(c->id);
    sync_pending_.insert(c->id);
  }
  if (sync_order_.empty()) return finish_replay(0);
  for (auto id : sync_order_) pump(id);
}

void session::pump(conversation_id id) {
  auto it = conversations_.find(id);
  if (it == conversations_.end()) return;
  auto& c = it->second;
  if (c.reading) return;  // the running read will see `dirty` and read again
  if (c.participants.empty()) {
    // Given to this connection by a push (a take, a transfer): who it is for, and from which
    // seq (joined_seq), comes from the store first.
    c.dirty = true;
    with_conversation(id, std::nullopt, true, [this, id](tracked_conversation&) { pump(id); });
    return;
  }
  c.reading = true;
  c.dirty = false;
  message_page_query q{id, c.known, replay_page_messages};
  services_.store.read_messages(q, on_strand([id](session& s, std::error_code ec, std::vector<stored_message> rows) {
    if (ec) {
      if (auto it2 = s.conversations_.find(id); it2 != s.conversations_.end()) it2->second.reading = false;
      log::warn("replay_read_failed", {{"conversation", id}, {"error", ec.message()}});
      // Nothing is lost: the client resumes with sync; tell it to come back.
      s.close_with(pr::close_code::try_again_later, "storage unavailable");
      return;
    }
    s.pumped(id, std::move(rows), replay_page_messages);
  }));
}

void session::pumped(conversation_id id, std::vector<stored_message> rows, std::size_t asked) {
  auto it = conversations_.find(id);
  if (it == conversations_.end()) return;
  auto& c = it->second;
  c.reading = false;
  std::size_t queued = 0;
  bool budget_spent = false;
  for (const auto& row : rows) {
    if (row.seq <= c.known) continue;  // sent live meanwhile
    if (row.seq != c.known + 1) break;  // cannot happen with gapless seqs; read again then
    if (queued >= replay_step_bytes) {
      budget_spent = true;  // the rest is read again after the drain
      break;
    }
    auto frame = message_frame(c, row);
    queued += frame.size();
    send_frame(std::move(frame));
    c.known = row.seq;
  }
  if (budget_spent || rows.size() == asked || c.dirty) {
    // More to send: wait until the connection has written this step, so that a long backlog
    // never overflows the outgoing queue of a client that reads.
    wait_drained([id](session& s) { s.pump(id); });
    return;
  }
  finish_replay(id);
}

void session::wait_drained(std::function<void(session&)> fn) {
  drained_waiters_.push_back(std::move(fn));
  if (drained_waiters_.size() > 1) return;
  port_->when_drained([weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || self->closing_) return;
    auto waiters = std::move(self->drained_waiters_);
    self->drained_waiters_.clear();
    for (auto& w : waiters) w(*self);
  });
}

void session::finish_replay(conversation_id id) {
  sync_pending_.erase(id);
  if (!sync_running_ || !sync_pending_.empty()) return;
  sync_running_ = false;
  pr::sync_done done;
  done.rid = sync_rid_;
  for (auto cid : sync_order_) {
    auto it = conversations_.find(cid);
    if (it == conversations_.end()) continue;
    done.conversations.push_back({cid, std::max(it->second.known, it->second.last_seq_seen), !it->second.ended});
  }
  reply(done);
}

std::string session::message_frame(const tracked_conversation& c, const stored_message& m) const {
  pr::conversation_message out;
  out.conversation_id = m.conversation;
  out.seq = m.seq;
  out.sender = sender_role(c.beneficiary_key, m.sender_key);
  out.client_msg_id = m.client_message_id;
  out.ciphertext = pr::encoded_bytes::from_bytes(m.envelope);
  out.sent_at = m.received_at;
  return pr::encode(out);
}

}  // namespace relais::core
