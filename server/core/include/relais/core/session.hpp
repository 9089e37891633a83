#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "relais/core/rate_limiter.hpp"
#include "relais/core/relay.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/error.hpp"
#include "relais/protocol/limits.hpp"
#include "relais/protocol/messages.hpp"

namespace relais::core {

/// The protocol state of one WebSocket connection and the relay decisions it makes
/// (PROTOCOL.md §4-§7): version negotiation, authentication of both roles, access rules, the
/// key directory, conversations with durable acks, receipts, resumable delivery, and the
/// bad-input policy. Sans-I/O: frames in, frames out through its session_port; time,
/// randomness, the store and credentials are injected.
///
/// Threading: the transport calls open/on_frame/on_timer/on_closed on the connection's strand.
/// The deliver_* and revoke calls may come from any thread (the store's writer, other
/// sessions): they post to the strand. Store completions post back to the strand too, so all
/// state below is touched on the strand only.
class session : public std::enable_shared_from_this<session> {
 public:
  session(relay_services& services, std::shared_ptr<session_port> port, std::string remote_address);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // ---- from the transport, strand-only
  /// The connection was accepted: arms the authentication timer.
  void open();
  /// One text frame from the client.
  void on_frame(std::string_view frame);
  /// The timer armed through the port fired.
  void on_timer();
  /// The connection is gone: leaves the directory.
  void on_closed();

  // ---- from anywhere (they post to the strand)
  /// A stored message of a conversation (seq order per conversation is the caller's duty:
  /// the store's writer calls these in commit order). Sent only if this connection follows
  /// the conversation live; a gap triggers a read from the store, a repeat is dropped.
  void deliver_message(conversation_id conversation, sequence_number seq,
                       std::shared_ptr<const std::string> frame);
  /// A push about a conversation (receipt, typing, end, opening): sent as is. `ended` marks
  /// the conversation as over for this connection; `opened` makes it followed live;
  /// `refresh` re-reads its participants before the next use (a transfer changed them).
  void deliver_event(conversation_id conversation, std::shared_ptr<const std::string> frame,
                     bool opened = false, bool ended = false, bool refresh = false);
  /// A push not tied to a conversation (keys.low, the permanence's pushes and replies).
  /// Thread-safe: the port queues it.
  void deliver_push(std::shared_ptr<const std::string> frame);
  /// Closes this connection with `code` (the end of the worker's shift: 4004).
  void end_connection(std::uint16_t code, std::string reason);
  /// Closes this connection with `code` if it is authenticated with the session token whose
  /// hash is `token_hash` (logout elsewhere, revocation by an admin, a newer connection).
  void revoke(bytes token_hash, std::uint16_t code, std::string reason);

  // ---- facts, strand-only
  [[nodiscard]] bool welcomed() const noexcept { return version_ != 0; }
  [[nodiscard]] bool authenticated() const noexcept { return authenticated_; }
  [[nodiscard]] protocol::peer_role role() const noexcept { return role_; }
  /// The identity key (beneficiary: proven; worker: as published), raw 32 bytes or empty.
  [[nodiscard]] const bytes& identity_key() const noexcept { return identity_; }
  [[nodiscard]] worker_id worker() const noexcept { return worker_; }

 private:
  /// What this connection knows of a conversation it takes part in.
  struct tracked_conversation {
    bytes beneficiary_key;
    std::vector<participant> participants;
    sequence_number last_seq_seen = 0;  ///< from the store when loaded (for sync.done)
    bool ended = false;
    bool live = false;                 ///< messages are pushed to this connection
    sequence_number known = 0;         ///< highest seq this connection was sent (or acked)
    bool reading = false;              ///< a catch-up read is in flight
    bool dirty = false;                ///< a gap was seen while reading: read again
    bool loading = false;              ///< its participants are being read from the store
    /// Requests that arrived while loading, run in arrival order once loaded (so that a
    /// client's pipelined messages are stored in the order it sent them).
    std::vector<std::function<void(tracked_conversation*, std::error_code)>> waiting;
  };
  using error = protocol::error;
  using rid_t = std::optional<std::string>;

  // session.cpp: lifecycle, dispatch, replies, timers
  void handle(const protocol::message& m);
  void on_hello(const protocol::hello& h);
  void on_auth_beneficiary(const protocol::auth_beneficiary& a);
  void fail_auth(error code, const rid_t& rid, std::optional<std::int64_t> retry_after_ms = {});
  void became_authenticated();
  void send_frame(std::string frame);
  template <typename T>
  void reply(const T& message) {
    send_frame(protocol::encode(message));
  }
  void reply_error(error code, const rid_t& rid, std::optional<std::string> text = {},
                   std::optional<std::int64_t> retry_after_ms = {});
  void reply_store_error(std::error_code ec, const rid_t& rid, error not_found, error conflict);
  void count_error();
  void close_with(protocol::close_code code, std::string reason);
  void after(duration d, std::function<void()> fn);
  void arm_timer();
  /// Wraps a store completion: `fn(session&, results...)` runs later on the strand, and only
  /// if the session still exists and is not closing (completions arrive on store threads).
  template <typename F>
  auto on_strand(F fn) {
    return [weak = weak_from_this(), port = port_, fn = std::move(fn)](auto... args) {
      port->post([weak, fn, args...]() mutable {
        if (auto self = weak.lock(); self && !self->closing_) fn(*self, std::move(args)...);
      });
    };
  }
  [[nodiscard]] std::string directory_key() const;
  [[nodiscard]] static std::string key_of(const participant& p);

  // session_auth.cpp: workers
  void on_login(const protocol::auth_login& m);
  void login_checked(protocol::auth_login m, std::optional<worker_account> account, password_check check);
  void login_failed(const rid_t& rid, std::optional<worker_account> account);
  void login_succeeded(const rid_t& rid, worker_account account, std::string device);
  void on_resume(const protocol::auth_resume& m);
  void on_logout(const protocol::auth_logout& m);
  void on_totp_setup(const protocol::auth_totp_setup& m);
  void on_totp_confirm(const protocol::auth_totp_confirm& m);
  /// Runs `fn` once this worker's identity key is known: another device of the account may
  /// have published it after this one logged in. keys_not_found if none is published.
  void with_identity(const rid_t& rid, std::function<void(session&)> fn);
  void worker_authenticated(const worker_account& account, bytes token_hash, std::string device);
  /// After auth.ok: the worker's shift state (the console shows "on" or "off" at once).
  void after_worker_auth();

  // session_keys.cpp: key directory and backups
  void on_keys_publish(const protocol::keys_publish& m);
  void on_keys_fetch(const protocol::keys_fetch& m);
  void claim_for(const rid_t& rid, bytes identity, std::string owner_key);
  void notify_low(const std::string& owner_key, std::int64_t remaining);
  void on_backup_put(const protocol::backup_put& m);
  void on_backup_get(const protocol::backup_get& m);
  void on_backup_delete(const protocol::backup_delete& m);
  [[nodiscard]] std::optional<bytes> backup_id(protocol::backup_kind kind,
                                               const std::optional<protocol::encoded_bytes>& lookup,
                                               const rid_t& rid);

  // session_queue.cpp: the permanence's messages, checked here and decided by `permanence`
  void dispatch_permanence(const protocol::message& m);
  void on_queue_join(const protocol::queue_join& m);
  void on_transfer(const protocol::conversation_transfer& m);
  /// A beneficiary authenticated: its place in the queue, and conversations opened for it
  /// while it was away (an inbox answer) are announced again.
  void after_beneficiary_auth();

  // session_conversations.cpp: relay, receipts, resume
  void with_conversation(conversation_id id, const rid_t& rid, bool allow_past,
                         std::function<void(tracked_conversation&)> fn);
  [[nodiscard]] bool is_current_participant(const tracked_conversation& c) const;
  [[nodiscard]] bool was_participant(const tracked_conversation& c) const;
  [[nodiscard]] std::vector<std::string> recipients(const tracked_conversation& c) const;
  tracked_conversation& track(const conversation& c);
  /// The conversation's last seq when this connection's participant joined (0 unless by a
  /// transfer): replays and history start after it.
  [[nodiscard]] sequence_number joined_seq_of(const std::vector<participant>& participants) const;
  void on_send(const protocol::conversation_send& m);
  void send_acked(protocol::conversation_send m, append_result result, unix_ms sent_at);
  void on_receipt(conversation_id id, sequence_number up_to, bool read, const rid_t& rid);
  void on_typing(const protocol::conversation_typing& m);
  void on_end(const protocol::conversation_end& m);
  void on_history(const protocol::history_get& m);
  void on_sync(const protocol::sync& m);
  void sync_listed(protocol::sync m, std::vector<conversation> list);
  void pump(conversation_id id);
  void pumped(conversation_id id, std::vector<stored_message> rows, std::size_t asked);
  void finish_replay(conversation_id id);
  void wait_drained(std::function<void(session&)> fn);
  [[nodiscard]] std::string message_frame(const tracked_conversation& c, const stored_message& m) const;

  relay_services& services_;
  std::shared_ptr<session_port> port_;
  std::string remote_address_;  // memory only, for per-address limits; never stored or logged
  rate_limiter errors_;
  rate_limiter messages_;
  rate_limiter typing_;
  time_point opened_at_{};
  std::vector<std::pair<time_point, std::function<void()>>> timers_;
  std::int64_t version_ = 0;
  protocol::peer_role role_ = protocol::peer_role::beneficiary;
  bool authenticated_ = false;
  bool auth_pending_ = false;      // a login or resume is being checked
  bool closing_ = false;
  bool registered_ = false;        // in the directory
  int failed_auth_ = 0;
  std::array<std::uint8_t, 32> challenge_{};
  bytes identity_;
  // workers
  worker_id worker_ = 0;
  std::string username_;
  std::string display_name_;
  bytes token_hash_;
  bool totp_enrolled_ = false;
  bytes pending_totp_secret_;      // auth.totp_setup until confirmed
  // conversations
  std::unordered_map<conversation_id, tracked_conversation> conversations_;
  std::size_t appends_in_flight_ = 0;
  bool sync_running_ = false;
  rid_t sync_rid_;
  std::unordered_set<conversation_id> sync_pending_;
  std::vector<conversation_id> sync_order_;
  std::vector<std::function<void(session&)>> drained_waiters_;
};

}  // namespace relais::core
