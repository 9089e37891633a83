// The session's lifecycle, dispatch, replies and timers; the handlers live in
// session_auth.cpp, session_keys.cpp, session_queue.cpp and session_conversations.cpp.
#include "relais/core/session.hpp"
#include "relais/core/permanence.hpp"

#include <algorithm>
#include <cstddef>

#include "relais/crypto/primitives.hpp"
#include "relais/log/log.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"

namespace relais::core {

namespace pr = relais::protocol;

namespace {

std::uint16_t code_of(pr::close_code c) { return static_cast<std::uint16_t>(c); }

}  // namespace

session::session(relay_services& services, std::shared_ptr<session_port> port, std::string remote_address)
    : services_(services), port_(std::move(port)), remote_address_(std::move(remote_address)),
      errors_(services.settings.max_errors_per_minute / 60.0, services.settings.max_errors_per_minute),
      messages_(services.settings.messages_per_second, services.settings.messages_burst),
      typing_(services.settings.typing_per_second, services.settings.typing_per_second * 5) {}

session::~session() = default;

void session::open() {
  opened_at_ = services_.clock.now();
  after(services_.settings.auth_timeout, [this] {
    if (!authenticated_ && !closing_) close_with(pr::close_code::auth_timeout, "authentication timeout");
  });
}

void session::on_closed() {
  closing_ = true;
  timers_.clear();
  if (registered_) {
    services_.directory.remove(directory_key(), this);
    registered_ = false;
    if (role_ == pr::peer_role::beneficiary) {
      // Its last connection gone, a waiting beneficiary keeps its place for the grace period.
      bool another = false;
      services_.directory.for_each(directory_key(), [&](const std::shared_ptr<session>&) { another = true; });
      if (!another) services_.permanence.beneficiary_disconnected(identity_);
    }
  }
}

// ---------------------------------------------------------------- timers

void session::after(duration d, std::function<void()> fn) {
  timers_.emplace_back(services_.clock.now() + d, std::move(fn));
  arm_timer();
}

void session::arm_timer() {
  if (timers_.empty()) return;
  auto earliest = std::min_element(timers_.begin(), timers_.end(),
                                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto wait = earliest->first - services_.clock.now();
  port_->set_timer(wait < duration::zero() ? duration::zero() : wait);
}

void session::on_timer() {
  auto now = services_.clock.now();
  std::vector<std::function<void()>> due;
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->first <= now) {
      due.push_back(std::move(it->second));
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : due) fn();
  arm_timer();
}

// ---------------------------------------------------------------- replies

void session::send_frame(std::string frame) {
  port_->send(std::make_shared<const std::string>(std::move(frame)));
}

void session::reply_error(error code, const rid_t& rid, std::optional<std::string> text,
                          std::optional<std::int64_t> retry_after_ms) {
  auto e = pr::make_error(code, rid, std::move(text));
  e.retry_after_ms = retry_after_ms;
  reply(e);
}

void session::reply_store_error(std::error_code ec, const rid_t& rid, error not_found, error conflict) {
  if (ec == store_errc::not_found) return reply_error(not_found, rid);
  if (ec == store_errc::conflict || ec == store_errc::already_exists) return reply_error(conflict, rid);
  if (is_transient_store_failure(ec) || ec == store_errc::busy || ec == store_errc::closed) {
    // A negative answer: nothing is promised; the client retries (idempotently) later.
    return reply_error(error::server_busy, rid, "storage unavailable, retry", 1000);
  }
  log::error("store_failure", {{"error", ec.message()}});
  reply_error(error::internal_error, rid);
}

void session::count_error() {
  // A buggy client is told what is wrong for each frame; a flood of bad frames is abuse.
  if (!errors_.try_take(services_.clock.now())) close_with(pr::close_code::policy_violation, "too many protocol errors");
}

void session::close_with(pr::close_code code, std::string reason) {
  if (closing_) return;
  closing_ = true;
  port_->close(code_of(code), std::move(reason));
}

std::string session::directory_key() const {
  if (role_ == pr::peer_role::worker) return "w:" + std::to_string(worker_);
  return "b:" + identity_;
}

std::string session::key_of(const participant& p) {
  if (p.role == participant_role::worker) return "w:" + std::to_string(p.worker);
  return "b:" + p.identity_key;
}

// ---------------------------------------------------------------- cross-session events

void session::deliver_message(conversation_id conversation, sequence_number seq,
                              std::shared_ptr<const std::string> frame) {
  port_->post([weak = weak_from_this(), conversation, seq, frame = std::move(frame)]() mutable {
    auto self = weak.lock();
    if (!self || self->closing_) return;
    auto it = self->conversations_.find(conversation);
    if (it == self->conversations_.end() || !it->second.live) return;  // replayed by sync
    auto& c = it->second;
    if (seq <= c.known) return;  // already sent (a replay got there first)
    if (seq == c.known + 1) {
      c.known = seq;
      self->port_->send(std::move(frame));
      return;
    }
    // A gap: a replay is behind the live stream. Read the missing ones from the store.
    c.dirty = true;
    self->pump(conversation);
  });
}

void session::deliver_event(conversation_id conversation, std::shared_ptr<const std::string> frame, bool opened,
                            bool ended, bool refresh) {
  port_->post([weak = weak_from_this(), conversation, frame = std::move(frame), opened, ended, refresh]() mutable {
    auto self = weak.lock();
    if (!self || self->closing_) return;
    auto it = self->conversations_.find(conversation);
    if (opened && it == self->conversations_.end() &&
        self->conversations_.size() < self->services_.settings.max_tracked_conversations) {
      // A new conversation (taken from the queue): followed live from its first message.
      it = self->conversations_.emplace(conversation, tracked_conversation{}).first;
    }
    // Given to this connection now (a take, a transfer): followed live even if it was looked
    // at before, when it was not yet this connection's.
    if (opened && it != self->conversations_.end()) it->second.live = true;
    if (ended && it != self->conversations_.end()) it->second.ended = true;
    if (refresh && it != self->conversations_.end() && !it->second.loading) it->second.participants.clear();
    self->port_->send(std::move(frame));
  });
}

void session::deliver_push(std::shared_ptr<const std::string> frame) { port_->send(std::move(frame)); }

void session::end_connection(std::uint16_t code, std::string reason) {
  port_->post([weak = weak_from_this(), code, reason = std::move(reason)]() mutable {
    auto self = weak.lock();
    if (!self || self->closing_) return;
    self->closing_ = true;
    self->port_->close(code, std::move(reason));
  });
}

void session::revoke(bytes token_hash, std::uint16_t code, std::string reason) {
  port_->post([weak = weak_from_this(), token_hash = std::move(token_hash), code, reason = std::move(reason)]() mutable {
    auto self = weak.lock();
    if (!self || self->closing_ || self->token_hash_.empty() || self->token_hash_ != token_hash) return;
    self->closing_ = true;
    self->port_->close(code, std::move(reason));
  });
}

// ---------------------------------------------------------------- frames

void session::on_frame(std::string_view frame) {
  if (closing_) return;
  std::error_code ec;
  pr::decode_diagnostics diag;
  auto m = pr::decode_from_client(frame, ec, &diag);
  if (ec) {
    reply(pr::make_decode_error(ec, &diag));
    if (!welcomed()) {
      // Nothing valid before `hello` deserves patience (PROTOCOL.md §4.1).
      close_with(pr::close_code::policy_violation, "first frame must be hello");
    } else {
      count_error();
    }
    return;
  }
  handle(m);
}

void session::handle(const pr::message& m) {
  const auto& rid = pr::rid_of(m);
  if (const auto* h = std::get_if<pr::hello>(&m)) {
    if (welcomed()) {
      reply_error(error::unexpected_message, rid);
      count_error();
      return;
    }
    on_hello(*h);
    return;
  }
  if (!welcomed()) {
    reply_error(error::unexpected_message, rid);
    close_with(pr::close_code::policy_violation, "first frame must be hello");
    return;
  }
  if (auto denied = pr::check_access(pr::access_of(m), welcomed(), authenticated_, role_)) {
    reply_error(static_cast<error>(denied.value()), rid);
    count_error();
    return;
  }
  if (auth_pending_ && !authenticated_) {
    // One authentication at a time: the answer to the previous one is on its way.
    reply_error(error::unexpected_message, rid, "authentication in progress");
    count_error();
    return;
  }
  // A worker who must enrol TOTP may do only that first (PROTOCOL.md §5).
  if (authenticated_ && role_ == pr::peer_role::worker && services_.settings.totp_required && !totp_enrolled_ &&
      !std::holds_alternative<pr::auth_totp_setup>(m) && !std::holds_alternative<pr::auth_totp_confirm>(m) &&
      !std::holds_alternative<pr::auth_logout>(m) && !std::holds_alternative<pr::permanence_get>(m)) {
    reply_error(error::totp_required, rid, "enrol TOTP first (auth.totp_setup)");
    return;
  }
  std::visit(
      [this, &rid, &m](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, pr::auth_beneficiary>) on_auth_beneficiary(msg);
        else if constexpr (std::is_same_v<T, pr::auth_login>) on_login(msg);
        else if constexpr (std::is_same_v<T, pr::auth_resume>) on_resume(msg);
        else if constexpr (std::is_same_v<T, pr::auth_logout>) on_logout(msg);
        else if constexpr (std::is_same_v<T, pr::auth_totp_setup>) on_totp_setup(msg);
        else if constexpr (std::is_same_v<T, pr::auth_totp_confirm>) on_totp_confirm(msg);
        else if constexpr (std::is_same_v<T, pr::keys_publish>) on_keys_publish(msg);
        else if constexpr (std::is_same_v<T, pr::keys_fetch>) on_keys_fetch(msg);
        else if constexpr (std::is_same_v<T, pr::backup_put>) on_backup_put(msg);
        else if constexpr (std::is_same_v<T, pr::backup_get>) on_backup_get(msg);
        else if constexpr (std::is_same_v<T, pr::backup_delete>) on_backup_delete(msg);
        else if constexpr (std::is_same_v<T, pr::conversation_send>) on_send(msg);
        else if constexpr (std::is_same_v<T, pr::conversation_delivered>)
          on_receipt(msg.conversation_id, msg.up_to_seq, false, rid);
        else if constexpr (std::is_same_v<T, pr::conversation_read>)
          on_receipt(msg.conversation_id, msg.up_to_seq, true, rid);
        else if constexpr (std::is_same_v<T, pr::conversation_typing>) on_typing(msg);
        else if constexpr (std::is_same_v<T, pr::conversation_end>) on_end(msg);
        else if constexpr (std::is_same_v<T, pr::history_get>) on_history(msg);
        else if constexpr (std::is_same_v<T, pr::sync>) on_sync(msg);
        else dispatch_permanence(m);  // status, shifts, queue, transfer, inbox
      },
      m);
}

void session::on_hello(const pr::hello& h) {
  std::array<std::uint8_t, 32> challenge{};
  services_.random.fill(challenge);
  auto w = pr::make_welcome(h, challenge, std::string("relaisd"));
  if (!w) {
    reply(pr::make_unsupported_version(h.rid));
    close_with(pr::close_code::unsupported_version, "unsupported version");
    return;
  }
  challenge_ = challenge;
  version_ = w->version;
  role_ = h.role;
  reply(*w);
}

void session::on_auth_beneficiary(const pr::auth_beneficiary& a) {
  if (role_ != pr::peer_role::beneficiary) {
    reply_error(error::forbidden, a.rid);
    count_error();
    return;
  }
  crypto::public_key key{};
  crypto::signature sig{};
  if (a.identity_key.decode_into(key) || a.signature.decode_into(sig)) {
    fail_auth(error::invalid_signature, a.rid);
    return;
  }
  auto input = pr::beneficiary_auth_signing_input(challenge_);
  if (!crypto::ed25519_verify(key, input, sig)) {
    fail_auth(error::invalid_signature, a.rid);
    return;
  }
  if (auto wait = services_.addresses.try_take(remote_address_, address_action::connection)) {
    fail_auth(error::rate_limited, a.rid, std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count());
    return;
  }
  identity_.assign(reinterpret_cast<const char*>(key.data()), key.size());
  challenge_.fill(0);  // one proof per connection
  became_authenticated();
  pr::auth_ok ok;
  ok.rid = a.rid;
  ok.role = pr::peer_role::beneficiary;
  reply(ok);
  after_beneficiary_auth();
}

void session::became_authenticated() {
  authenticated_ = true;
  services_.directory.add(directory_key(), shared_from_this());
  registered_ = true;
}

void session::fail_auth(error code, const rid_t& rid, std::optional<std::int64_t> retry_after_ms) {
  reply_error(code, rid, {}, retry_after_ms);
  if (++failed_auth_ >= services_.settings.max_failed_auth) {
    close_with(pr::close_code::auth_failed, "too many failed authentications");
  }
}

}  // namespace relais::core
