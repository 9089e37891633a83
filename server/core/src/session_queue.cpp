// The permanence's messages as a session sees them: who may send what, per-address limits,
// and the identity checks; the decisions (queue order, shifts, assignment, inbox) are the
// permanence's (permanence.cpp), which answers through this session's deliver_push.
#include <algorithm>
#include <chrono>

#include "relais/core/permanence.hpp"
#include "relais/core/session.hpp"
#include "relais/log/log.hpp"

namespace relais::core {

namespace pr = relais::protocol;

void session::dispatch_permanence(const pr::message& m) {
  auto self = shared_from_this();
  auto& p = services_.permanence;
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, pr::permanence_get>) p.get_status(self, msg.rid);
        else if constexpr (std::is_same_v<T, pr::shift_start>) p.start_shift(self, worker_, msg.rid);
        else if constexpr (std::is_same_v<T, pr::shift_stop>) p.stop_shift(self, worker_, msg.handover, msg.rid);
        else if constexpr (std::is_same_v<T, pr::shift_holiday>) p.set_holiday(self, worker_, msg);
        else if constexpr (std::is_same_v<T, pr::presence_set>) p.set_presence(self, worker_, msg);
        else if constexpr (std::is_same_v<T, pr::queue_join>) on_queue_join(msg);
        else if constexpr (std::is_same_v<T, pr::queue_leave>) p.leave(self, identity_, msg.rid);
        else if constexpr (std::is_same_v<T, pr::queue_list>) p.list(self, worker_, msg.rid);
        else if constexpr (std::is_same_v<T, pr::queue_take>) {
          // The beneficiary starts X3DH with the worker's bundle: no keys, no conversation.
          with_identity(msg.rid, [msg](session& s) { s.services_.permanence.take(s.shared_from_this(), s.worker_, s.identity_, msg); });
        } else if constexpr (std::is_same_v<T, pr::conversation_transfer>) on_transfer(msg);
        else if constexpr (std::is_same_v<T, pr::inbox_list_recipients>) p.inbox_recipients(self, msg.rid);
        else if constexpr (std::is_same_v<T, pr::inbox_send>) p.inbox_send(self, identity_, msg);
        else if constexpr (std::is_same_v<T, pr::inbox_list>) p.inbox_list(self, worker_, msg);
        else if constexpr (std::is_same_v<T, pr::inbox_dismiss>) p.inbox_dismiss(self, worker_, msg);
        else if constexpr (std::is_same_v<T, pr::shift_schedule>) p.schedule_week(self, worker_, msg);
        else if constexpr (std::is_same_v<T, pr::inbox_answer>) {
          with_identity(msg.rid, [msg](session& s) {
            s.services_.permanence.inbox_answer(s.shared_from_this(), s.worker_, s.identity_, msg);
          });
        } else {
          // Every client message type is handled above or in session.cpp; a new one added to
          // the protocol without a handler is a server bug, said plainly.
          log::error("unhandled_message", {{"type", std::string(T::type)}});
          reply_error(error::internal_error, msg.rid, "not served by this relaisd version");
        }
      },
      m);
}

void session::on_queue_join(const pr::queue_join& m) {
  if (auto wait = services_.addresses.try_take(remote_address_, address_action::queue_join)) {
    reply_error(error::rate_limited, m.rid, "too many queue joins",
                std::chrono::duration_cast<std::chrono::milliseconds>(*wait).count());
    return;
  }
  services_.permanence.join(shared_from_this(), identity_, m);
}

void session::on_transfer(const pr::conversation_transfer& m) {
  with_conversation(m.conversation_id, m.rid, false, [this, m](tracked_conversation& c) {
    if (c.ended) return reply_error(error::conversation_ended, m.rid);
    with_identity(m.rid, [m](session& s) {
      s.services_.permanence.transfer(s.shared_from_this(), s.worker_, s.identity_, m);
    });
  });
}

void session::after_worker_auth() {
  // Not while she must enrol TOTP first: she can do nothing else yet (PROTOCOL.md §5).
  if (services_.settings.totp_required && !totp_enrolled_) return;
  services_.permanence.send_shift_state(shared_from_this(), worker_, std::nullopt);
}

void session::after_beneficiary_auth() {
  services_.permanence.beneficiary_connected(shared_from_this(), identity_);
  // Conversations opened for it while it was away (an inbox answer, a take during the grace
  // period) are announced again; a client ignores one it already knows (PROTOCOL.md §6.7).
  services_.store.list_conversations(identity_, false, on_strand([](session& s, std::error_code ec,
                                                                     std::vector<conversation> list) {
    if (ec) return;  // the client's sync finds them as well
    for (const auto& c : list) {
      auto current = std::find_if(c.participants.begin(), c.participants.end(), [](const participant& p) {
        return p.role == participant_role::worker && p.left_at == 0;
      });
      if (current == c.participants.end()) continue;
      pr::conversation_opened opened;
      opened.conversation_id = c.id;
      opened.worker_id = current->worker;
      auto name = s.services_.permanence.display_name(current->worker);
      opened.display_name = name.empty() ? std::string("Relais") : name;
      s.deliver_event(c.id, std::make_shared<const std::string>(pr::encode(opened)), true, false);
    }
  }));
}

}  // namespace relais::core
