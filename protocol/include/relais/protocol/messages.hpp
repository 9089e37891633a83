#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "relais/protocol/base64url.hpp"
#include "relais/protocol/error.hpp"

// The typed messages of wire protocol v1, one struct per `type` (PROTOCOL.md §6). Field names
// are the JSON member names. Integers are std::int64_t (ids, sequence numbers, times in Unix
// milliseconds); byte strings are encoded_bytes; an absent optional member is std::nullopt.
// Every struct carries the optional request id `rid` (PROTOCOL.md §2). The codec (codec.hpp)
// validates every limit of limits.hpp on decode.

namespace relais::protocol {

// ---------------------------------------------------------------- routing metadata

/// Which side sends a message type.
enum class origin : std::uint8_t {
  client,  ///< client to server only
  server,  ///< server to client only
  both,    ///< sent by clients and relayed by the server (receipts, typing)
};

/// When a client may send a message type (PROTOCOL.md §4); `server` for server-only types.
enum class access : std::uint8_t {
  handshake,      ///< the first frame only (`hello`)
  pre_auth,       ///< after `welcome`, before authentication (`auth.login|resume|beneficiary`)
  any,            ///< after `welcome`, authenticated or not (`permanence.get`, `backup.get`)
  authenticated,  ///< any authenticated client
  worker,         ///< an authenticated worker
  beneficiary,    ///< an authenticated beneficiary
  server,         ///< never from a client
};

// ---------------------------------------------------------------- enumerations on the wire

/// The two kinds of clients; also the sender of a conversation message.
enum class peer_role : std::uint8_t { worker, beneficiary };

/// Whether a worker can answer now (`permanence.status.availability`).
enum class availability_state : std::uint8_t { available, busy, closed };

/// Why a beneficiary left the queue without being taken (`queue.timeout.reason`).
enum class timeout_reason : std::uint8_t { wait_limit, closed };

/// Why the inbox is offered (`queue.inbox_offer.reason`).
enum class offer_reason : std::uint8_t { long_wait, closing, queue_full };

/// What happens to open conversations when a shift stops (`shift.stop.handover`).
enum class handover_policy : std::uint8_t { colleague, end };

/// A worker's on-call state (`shift.state.state`).
enum class on_call_state : std::uint8_t { on, off, holiday };

/// How the on-call state was reached (`shift.state.mode`).
enum class shift_mode : std::uint8_t { scheduled, manual };

/// A worker's presence while on shift (`presence.set.status`).
enum class presence_status : std::uint8_t { available, busy };

/// Why a conversation ended (`conversation.ended.reason`).
enum class end_reason : std::uint8_t { worker, beneficiary, shift_end, inactivity };

/// Which encrypted backup (`backup.*.kind`, PROTOCOL.md §6.9).
enum class backup_kind : std::uint8_t { resume, recovery, keystore };

/// The wire names of an enumeration, indexed by its values.
template <class E>
struct enum_traits;

template <>
struct enum_traits<peer_role> {
  static constexpr std::array<std::string_view, 2> names{"worker", "beneficiary"};
};
template <>
struct enum_traits<availability_state> {
  static constexpr std::array<std::string_view, 3> names{"available", "busy", "closed"};
};
template <>
struct enum_traits<timeout_reason> {
  static constexpr std::array<std::string_view, 2> names{"wait_limit", "closed"};
};
template <>
struct enum_traits<offer_reason> {
  static constexpr std::array<std::string_view, 3> names{"long_wait", "closing", "queue_full"};
};
template <>
struct enum_traits<handover_policy> {
  static constexpr std::array<std::string_view, 2> names{"colleague", "end"};
};
template <>
struct enum_traits<on_call_state> {
  static constexpr std::array<std::string_view, 3> names{"on", "off", "holiday"};
};
template <>
struct enum_traits<shift_mode> {
  static constexpr std::array<std::string_view, 2> names{"scheduled", "manual"};
};
template <>
struct enum_traits<presence_status> {
  static constexpr std::array<std::string_view, 2> names{"available", "busy"};
};
template <>
struct enum_traits<end_reason> {
  static constexpr std::array<std::string_view, 4> names{"worker", "beneficiary", "shift_end",
                                                         "inactivity"};
};
template <>
struct enum_traits<backup_kind> {
  static constexpr std::array<std::string_view, 3> names{"resume", "recovery", "keystore"};
};

/// The wire name of an enumerator ("beneficiary").
template <class E>
[[nodiscard]] constexpr std::string_view wire_name(E e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < enum_traits<E>::names.size() ? enum_traits<E>::names[i] : std::string_view{};
}

// ---------------------------------------------------------------- nested objects

/// A one-time prekey in `keys.publish` (CRYPTO.md §2).
struct one_time_prekey {
  std::int64_t opk_id = 0;
  encoded_bytes opk_pub;
  friend bool operator==(const one_time_prekey&, const one_time_prekey&) = default;
};

/// An emergency number shown with the permanence status.
struct emergency_number {
  std::string number;
  std::string label_fr;
  std::string label_en;
  std::optional<bool> sms;
  friend bool operator==(const emergency_number&, const emergency_number&) = default;
};

/// One waiting beneficiary as a worker sees it in `queue.snapshot`.
struct queue_entry_summary {
  std::int64_t ticket_id = 0;
  bool urgent = false;
  std::int64_t joined_at = 0;
  bool returning = false;
  friend bool operator==(const queue_entry_summary&, const queue_entry_summary&) = default;
};

/// One stored message in a `history.page`.
struct history_message {
  std::int64_t seq = 0;
  peer_role sender = peer_role::worker;
  std::string client_msg_id;
  encoded_bytes ciphertext;
  std::int64_t sent_at = 0;
  friend bool operator==(const history_message&, const history_message&) = default;
};

/// The highest sequence number a client holds for a conversation (`sync.cursors`).
struct sync_cursor {
  std::int64_t conversation_id = 0;
  std::int64_t last_seq = 0;
  friend bool operator==(const sync_cursor&, const sync_cursor&) = default;
};

/// A conversation's state after a resume (`sync.done.conversations`).
struct sync_conversation {
  std::int64_t conversation_id = 0;
  std::int64_t last_seq = 0;
  bool open = false;
  friend bool operator==(const sync_conversation&, const sync_conversation&) = default;
};

/// A worker an inbox message can be addressed to (`inbox.recipients.workers`).
struct recipient_worker {
  std::int64_t worker_id = 0;
  std::string display_name;
  friend bool operator==(const recipient_worker&, const recipient_worker&) = default;
};

/// The content key of an inbox message wrapped for one worker (`inbox.send.recipients`).
struct inbox_recipient {
  std::int64_t worker_id = 0;
  encoded_bytes wrapped_key;
  friend bool operator==(const inbox_recipient&, const inbox_recipient&) = default;
};

/// One inbox entry as a worker receives it (`inbox.messages.items`).
struct inbox_item {
  std::int64_t inbox_id = 0;
  encoded_bytes beneficiary_key;
  encoded_bytes ciphertext;
  encoded_bytes wrapped_key;
  std::int64_t received_at = 0;
  friend bool operator==(const inbox_item&, const inbox_item&) = default;
};

// Each message struct declares its wire `type`, the side that sends it (`from`) and when a
// client may send it (`when`).
#define RELAIS_PROTOCOL_MESSAGE(wire_type, sender_side, client_access) \
  static constexpr std::string_view type = wire_type;                  \
  static constexpr origin from = origin::sender_side;                  \
  static constexpr access when = access::client_access;                \
  std::optional<std::string> rid

// ---------------------------------------------------------------- 6.1 handshake, replies

/// `hello`: the client's first frame, offering versions and stating its role.
struct hello {
  RELAIS_PROTOCOL_MESSAGE("hello", client, handshake);
  std::vector<std::int64_t> versions;
  peer_role role = peer_role::beneficiary;
  std::optional<std::string> client;
  friend bool operator==(const hello&, const hello&) = default;
};

/// `welcome`: the chosen version and the authentication challenge.
struct welcome {
  RELAIS_PROTOCOL_MESSAGE("welcome", server, server);
  std::int64_t version = 0;
  encoded_bytes challenge;
  std::optional<std::string> server;
  friend bool operator==(const welcome&, const welcome&) = default;
};

/// `ok`: success reply without data.
struct ok {
  RELAIS_PROTOCOL_MESSAGE("ok", server, server);
  friend bool operator==(const ok&, const ok&) = default;
};

/// `error`: a failure with its stable code (PROTOCOL.md §8); `name` must match `code`.
struct error_message {
  RELAIS_PROTOCOL_MESSAGE("error", server, server);
  error code = error::internal_error;
  std::string name;
  std::optional<std::string> message;
  std::optional<std::int64_t> retry_after_ms;
  std::optional<std::vector<std::int64_t>> versions;
  friend bool operator==(const error_message&, const error_message&) = default;
};

// ---------------------------------------------------------------- 6.2 authentication

/// `auth.login`: a worker's password (and TOTP) login.
struct auth_login {
  RELAIS_PROTOCOL_MESSAGE("auth.login", client, pre_auth);
  std::string username;
  std::string password;
  std::optional<std::string> totp;
  std::string device;
  friend bool operator==(const auth_login&, const auth_login&) = default;
};

/// `auth.resume`: a worker's login with an earlier session token.
struct auth_resume {
  RELAIS_PROTOCOL_MESSAGE("auth.resume", client, pre_auth);
  encoded_bytes token;
  friend bool operator==(const auth_resume&, const auth_resume&) = default;
};

/// `auth.beneficiary`: a beneficiary's signature of the challenge with its identity key.
struct auth_beneficiary {
  RELAIS_PROTOCOL_MESSAGE("auth.beneficiary", client, pre_auth);
  encoded_bytes identity_key;
  encoded_bytes signature;
  friend bool operator==(const auth_beneficiary&, const auth_beneficiary&) = default;
};

/// `auth.ok`: authentication succeeded.
struct auth_ok {
  RELAIS_PROTOCOL_MESSAGE("auth.ok", server, server);
  peer_role role = peer_role::beneficiary;
  std::optional<std::int64_t> worker_id;
  std::optional<std::string> display_name;
  std::optional<encoded_bytes> token;
  std::optional<std::int64_t> token_expires_at;
  std::optional<bool> totp_enrolled;
  friend bool operator==(const auth_ok&, const auth_ok&) = default;
};

/// `auth.logout`: revoke this session's token.
struct auth_logout {
  RELAIS_PROTOCOL_MESSAGE("auth.logout", client, worker);
  friend bool operator==(const auth_logout&, const auth_logout&) = default;
};

/// `auth.totp_setup`: start TOTP enrolment.
struct auth_totp_setup {
  RELAIS_PROTOCOL_MESSAGE("auth.totp_setup", client, worker);
  friend bool operator==(const auth_totp_setup&, const auth_totp_setup&) = default;
};

/// `auth.totp_secret`: the otpauth:// URI to show as a QR code.
struct auth_totp_secret {
  RELAIS_PROTOCOL_MESSAGE("auth.totp_secret", server, server);
  std::string otpauth_uri;
  friend bool operator==(const auth_totp_secret&, const auth_totp_secret&) = default;
};

/// `auth.totp_confirm`: activate TOTP with a first valid code.
struct auth_totp_confirm {
  RELAIS_PROTOCOL_MESSAGE("auth.totp_confirm", client, worker);
  std::string code;
  friend bool operator==(const auth_totp_confirm&, const auth_totp_confirm&) = default;
};

// ---------------------------------------------------------------- 6.3 key directory

/// `keys.publish`: publish or top up a prekey bundle (and a worker certificate).
struct keys_publish {
  RELAIS_PROTOCOL_MESSAGE("keys.publish", client, authenticated);
  encoded_bytes identity_key;
  std::optional<std::int64_t> spk_id;
  std::optional<encoded_bytes> spk_pub;
  std::optional<encoded_bytes> spk_signature;
  std::optional<std::vector<one_time_prekey>> one_time_prekeys;
  std::optional<encoded_bytes> worker_certificate;
  friend bool operator==(const keys_publish&, const keys_publish&) = default;
};

/// `keys.fetch`: fetch the bundle of a conversation's peer or of a worker (exactly one).
struct keys_fetch {
  RELAIS_PROTOCOL_MESSAGE("keys.fetch", client, authenticated);
  std::optional<std::int64_t> conversation_id;
  std::optional<std::int64_t> worker_id;
  friend bool operator==(const keys_fetch&, const keys_fetch&) = default;
};

/// `keys.bundle`: a prekey bundle with at most one one-time prekey.
struct keys_bundle {
  RELAIS_PROTOCOL_MESSAGE("keys.bundle", server, server);
  encoded_bytes identity_key;
  std::int64_t spk_id = 0;
  encoded_bytes spk_pub;
  encoded_bytes spk_signature;
  std::optional<std::int64_t> opk_id;
  std::optional<encoded_bytes> opk_pub;
  std::optional<encoded_bytes> worker_certificate;
  friend bool operator==(const keys_bundle&, const keys_bundle&) = default;
};

/// `keys.low`: the one-time prekey supply is running low.
struct keys_low {
  RELAIS_PROTOCOL_MESSAGE("keys.low", server, server);
  std::int64_t remaining = 0;
  friend bool operator==(const keys_low&, const keys_low&) = default;
};

// ---------------------------------------------------------------- 6.4 permanence

/// `permanence.get`: ask for the permanence status (and its later changes).
struct permanence_get {
  RELAIS_PROTOCOL_MESSAGE("permanence.get", client, any);
  friend bool operator==(const permanence_get&, const permanence_get&) = default;
};

/// `permanence.status`: open or closed, waits, emergency numbers.
struct permanence_status {
  RELAIS_PROTOCOL_MESSAGE("permanence.status", server, server);
  bool open = false;
  availability_state availability = availability_state::closed;
  bool queue_open = false;
  std::optional<std::int64_t> workers_on_call;
  std::optional<std::int64_t> estimated_wait_s;
  std::optional<std::int64_t> next_opening_at;
  std::vector<emergency_number> emergency_numbers;
  std::optional<std::string> contribution_url;
  friend bool operator==(const permanence_status&, const permanence_status&) = default;
};

// ---------------------------------------------------------------- 6.5 queue

/// `queue.join`: wait for a worker, with urgency and encrypted pre-chat answers.
struct queue_join {
  RELAIS_PROTOCOL_MESSAGE("queue.join", client, beneficiary);
  bool urgent = false;
  std::optional<encoded_bytes> prechat;
  friend bool operator==(const queue_join&, const queue_join&) = default;
};

/// `queue.position`: place in the queue and estimated wait.
struct queue_position {
  RELAIS_PROTOCOL_MESSAGE("queue.position", server, server);
  std::int64_t ticket_id = 0;
  std::int64_t position = 0;
  std::int64_t estimated_wait_s = 0;
  friend bool operator==(const queue_position&, const queue_position&) = default;
};

/// `queue.leave`: stop waiting.
struct queue_leave {
  RELAIS_PROTOCOL_MESSAGE("queue.leave", client, beneficiary);
  friend bool operator==(const queue_leave&, const queue_leave&) = default;
};

/// `queue.timeout`: removed from the queue without being taken.
struct queue_timeout {
  RELAIS_PROTOCOL_MESSAGE("queue.timeout", server, server);
  timeout_reason reason = timeout_reason::wait_limit;
  bool inbox_available = false;
  friend bool operator==(const queue_timeout&, const queue_timeout&) = default;
};

/// `queue.inbox_offer`: the inbox is offered instead of waiting.
struct queue_inbox_offer {
  RELAIS_PROTOCOL_MESSAGE("queue.inbox_offer", server, server);
  offer_reason reason = offer_reason::long_wait;
  friend bool operator==(const queue_inbox_offer&, const queue_inbox_offer&) = default;
};

/// `queue.list`: ask for a queue snapshot (workers).
struct queue_list {
  RELAIS_PROTOCOL_MESSAGE("queue.list", client, worker);
  friend bool operator==(const queue_list&, const queue_list&) = default;
};

/// `queue.snapshot`: the head of the queue in serving order.
struct queue_snapshot {
  RELAIS_PROTOCOL_MESSAGE("queue.snapshot", server, server);
  std::int64_t total = 0;
  std::vector<queue_entry_summary> entries;
  friend bool operator==(const queue_snapshot&, const queue_snapshot&) = default;
};

/// `queue.take`: take the next (or a chosen) waiting beneficiary.
struct queue_take {
  RELAIS_PROTOCOL_MESSAGE("queue.take", client, worker);
  std::optional<std::int64_t> ticket_id;
  friend bool operator==(const queue_take&, const queue_take&) = default;
};

// ---------------------------------------------------------------- 6.6 shifts and presence

/// `shift.start`: start a manual shift.
struct shift_start {
  RELAIS_PROTOCOL_MESSAGE("shift.start", client, worker);
  friend bool operator==(const shift_start&, const shift_start&) = default;
};

/// `shift.stop`: stop the shift ("off means off").
struct shift_stop {
  RELAIS_PROTOCOL_MESSAGE("shift.stop", client, worker);
  std::optional<handover_policy> handover;
  friend bool operator==(const shift_stop&, const shift_stop&) = default;
};

/// `shift.holiday`: enable or disable holiday mode.
struct shift_holiday {
  RELAIS_PROTOCOL_MESSAGE("shift.holiday", client, worker);
  bool enabled = false;
  std::optional<std::int64_t> until;
  friend bool operator==(const shift_holiday&, const shift_holiday&) = default;
};

/// `shift.state`: a worker's on-call state.
struct shift_state {
  RELAIS_PROTOCOL_MESSAGE("shift.state", server, server);
  on_call_state state = on_call_state::off;
  shift_mode mode = shift_mode::scheduled;
  std::optional<std::int64_t> ends_at;
  std::optional<std::int64_t> next_start_at;
  friend bool operator==(const shift_state&, const shift_state&) = default;
};

/// `shift.schedule`: the worker's own on-call windows and the permanence's opening hours for
/// the coming days, exceptions applied.
struct shift_schedule {
  RELAIS_PROTOCOL_MESSAGE("shift.schedule", client, worker);
  std::optional<std::int64_t> days;
  friend bool operator==(const shift_schedule&, const shift_schedule&) = default;
};

/// An interval of absolute time, [start, end).
struct time_window {
  std::int64_t start = 0;
  std::int64_t end = 0;
  friend bool operator==(const time_window&, const time_window&) = default;
};

/// `shift.week`: reply to `shift.schedule`.
struct shift_week {
  RELAIS_PROTOCOL_MESSAGE("shift.week", server, server);
  std::string time_zone;
  std::int64_t span_from = 0;  ///< wire name `from` (the macro's `from` is the sender side)
  std::int64_t span_to = 0;    ///< wire name `to`
  std::vector<time_window> mine;
  std::vector<time_window> open;
  std::vector<time_window> closed;
  friend bool operator==(const shift_week&, const shift_week&) = default;
};

/// `presence.set`: available or busy, and the capacity for automatic assignment.
struct presence_set {
  RELAIS_PROTOCOL_MESSAGE("presence.set", client, worker);
  presence_status status = presence_status::available;
  std::optional<std::int64_t> capacity;
  friend bool operator==(const presence_set&, const presence_set&) = default;
};

// ---------------------------------------------------------------- 6.7 conversations

/// `conversation.assigned`: a conversation given to a worker.
struct conversation_assigned {
  RELAIS_PROTOCOL_MESSAGE("conversation.assigned", server, server);
  std::int64_t conversation_id = 0;
  encoded_bytes beneficiary_key;
  bool urgent = false;
  bool returning = false;
  std::optional<encoded_bytes> prechat;
  std::optional<std::int64_t> transferred_from;
  std::optional<std::int64_t> inbox_id;
  friend bool operator==(const conversation_assigned&, const conversation_assigned&) = default;
};

/// `conversation.opened`: a worker took the beneficiary.
struct conversation_opened {
  RELAIS_PROTOCOL_MESSAGE("conversation.opened", server, server);
  std::int64_t conversation_id = 0;
  std::int64_t worker_id = 0;
  std::string display_name;
  friend bool operator==(const conversation_opened&, const conversation_opened&) = default;
};

/// `conversation.send`: a ciphertext envelope from a participant.
struct conversation_send {
  RELAIS_PROTOCOL_MESSAGE("conversation.send", client, authenticated);
  std::int64_t conversation_id = 0;
  std::string client_msg_id;
  encoded_bytes ciphertext;
  friend bool operator==(const conversation_send&, const conversation_send&) = default;
};

/// `conversation.ack`: the message is durable; its sequence number.
struct conversation_ack {
  RELAIS_PROTOCOL_MESSAGE("conversation.ack", server, server);
  std::int64_t conversation_id = 0;
  std::string client_msg_id;
  std::int64_t seq = 0;
  std::int64_t sent_at = 0;
  friend bool operator==(const conversation_ack&, const conversation_ack&) = default;
};

/// `conversation.message`: a stored message delivered to a participant.
struct conversation_message {
  RELAIS_PROTOCOL_MESSAGE("conversation.message", server, server);
  std::int64_t conversation_id = 0;
  std::int64_t seq = 0;
  peer_role sender = peer_role::worker;
  std::string client_msg_id;
  encoded_bytes ciphertext;
  std::int64_t sent_at = 0;
  friend bool operator==(const conversation_message&, const conversation_message&) = default;
};

/// `conversation.delivered`: cumulative delivery receipt.
struct conversation_delivered {
  RELAIS_PROTOCOL_MESSAGE("conversation.delivered", both, authenticated);
  std::int64_t conversation_id = 0;
  std::int64_t up_to_seq = 0;
  friend bool operator==(const conversation_delivered&, const conversation_delivered&) = default;
};

/// `conversation.read`: cumulative read receipt.
struct conversation_read {
  RELAIS_PROTOCOL_MESSAGE("conversation.read", both, authenticated);
  std::int64_t conversation_id = 0;
  std::int64_t up_to_seq = 0;
  friend bool operator==(const conversation_read&, const conversation_read&) = default;
};

/// `conversation.typing`: typing indicator, relayed and never stored.
struct conversation_typing {
  RELAIS_PROTOCOL_MESSAGE("conversation.typing", both, authenticated);
  std::int64_t conversation_id = 0;
  bool active = false;
  friend bool operator==(const conversation_typing&, const conversation_typing&) = default;
};

/// `conversation.end`: end a conversation.
struct conversation_end {
  RELAIS_PROTOCOL_MESSAGE("conversation.end", client, authenticated);
  std::int64_t conversation_id = 0;
  friend bool operator==(const conversation_end&, const conversation_end&) = default;
};

/// `conversation.ended`: the conversation is over.
struct conversation_ended {
  RELAIS_PROTOCOL_MESSAGE("conversation.ended", server, server);
  std::int64_t conversation_id = 0;
  end_reason reason = end_reason::worker;
  friend bool operator==(const conversation_ended&, const conversation_ended&) = default;
};

/// `conversation.transfer`: hand a conversation to a colleague, signed by the current worker.
struct conversation_transfer {
  RELAIS_PROTOCOL_MESSAGE("conversation.transfer", client, worker);
  std::int64_t conversation_id = 0;
  std::int64_t to_worker_id = 0;
  encoded_bytes control;
  friend bool operator==(const conversation_transfer&, const conversation_transfer&) = default;
};

/// `conversation.transferred`: the conversation changed worker.
struct conversation_transferred {
  RELAIS_PROTOCOL_MESSAGE("conversation.transferred", server, server);
  std::int64_t conversation_id = 0;
  std::int64_t from_worker_id = 0;
  std::int64_t to_worker_id = 0;
  std::string to_display_name;
  encoded_bytes control;
  friend bool operator==(const conversation_transferred&,
                         const conversation_transferred&) = default;
};

// ---------------------------------------------------------------- 6.8 history, resume, inbox

/// `history.get`: a page of a conversation's messages after a sequence number.
struct history_get {
  RELAIS_PROTOCOL_MESSAGE("history.get", client, authenticated);
  std::int64_t conversation_id = 0;
  std::int64_t after_seq = 0;
  std::optional<std::int64_t> limit;
  friend bool operator==(const history_get&, const history_get&) = default;
};

/// `history.page`: messages in sequence order.
struct history_page {
  RELAIS_PROTOCOL_MESSAGE("history.page", server, server);
  std::int64_t conversation_id = 0;
  std::vector<history_message> messages;
  bool more = false;
  friend bool operator==(const history_page&, const history_page&) = default;
};

/// `sync`: resume after a reconnection from the last seen sequence numbers.
struct sync {
  RELAIS_PROTOCOL_MESSAGE("sync", client, authenticated);
  std::vector<sync_cursor> cursors;
  friend bool operator==(const sync&, const sync&) = default;
};

/// `sync.done`: the replay is complete; the client's conversations.
struct sync_done {
  RELAIS_PROTOCOL_MESSAGE("sync.done", server, server);
  std::vector<sync_conversation> conversations;
  friend bool operator==(const sync_done&, const sync_done&) = default;
};

/// `inbox.list_recipients`: which workers an inbox message is for.
struct inbox_list_recipients {
  RELAIS_PROTOCOL_MESSAGE("inbox.list_recipients", client, beneficiary);
  friend bool operator==(const inbox_list_recipients&, const inbox_list_recipients&) = default;
};

/// `inbox.recipients`: the workers an inbox message is encrypted to.
struct inbox_recipients {
  RELAIS_PROTOCOL_MESSAGE("inbox.recipients", server, server);
  std::vector<recipient_worker> workers;
  friend bool operator==(const inbox_recipients&, const inbox_recipients&) = default;
};

/// `inbox.send`: leave an encrypted message for the workers.
struct inbox_send {
  RELAIS_PROTOCOL_MESSAGE("inbox.send", client, beneficiary);
  std::string client_msg_id;
  encoded_bytes ciphertext;
  std::vector<inbox_recipient> recipients;
  friend bool operator==(const inbox_send&, const inbox_send&) = default;
};

/// `inbox.ack`: the inbox message is durable.
struct inbox_ack {
  RELAIS_PROTOCOL_MESSAGE("inbox.ack", server, server);
  std::string client_msg_id;
  std::int64_t inbox_id = 0;
  friend bool operator==(const inbox_ack&, const inbox_ack&) = default;
};

/// `inbox.list`: a page of unanswered inbox entries (workers).
struct inbox_list {
  RELAIS_PROTOCOL_MESSAGE("inbox.list", client, worker);
  std::optional<std::int64_t> after_id;
  std::optional<std::int64_t> limit;
  friend bool operator==(const inbox_list&, const inbox_list&) = default;
};

/// `inbox.messages`: inbox entries for this worker.
struct inbox_messages {
  RELAIS_PROTOCOL_MESSAGE("inbox.messages", server, server);
  std::vector<inbox_item> items;
  bool more = false;
  friend bool operator==(const inbox_messages&, const inbox_messages&) = default;
};

/// `inbox.answer`: open a conversation from an inbox entry.
struct inbox_answer {
  RELAIS_PROTOCOL_MESSAGE("inbox.answer", client, worker);
  std::int64_t inbox_id = 0;
  friend bool operator==(const inbox_answer&, const inbox_answer&) = default;
};

/// `inbox.dismiss`: a recipient takes an entry out of every recipient's unread list without
/// answering it (a feedback, a message handled elsewhere).
struct inbox_dismiss {
  RELAIS_PROTOCOL_MESSAGE("inbox.dismiss", client, worker);
  std::int64_t inbox_id = 0;
  friend bool operator==(const inbox_dismiss&, const inbox_dismiss&) = default;
};

/// `inbox.count`: unanswered inbox entries.
struct inbox_count {
  RELAIS_PROTOCOL_MESSAGE("inbox.count", server, server);
  std::int64_t unread = 0;
  friend bool operator==(const inbox_count&, const inbox_count&) = default;
};

// ---------------------------------------------------------------- 6.9 backups

/// `backup.put`: store an encrypted backup blob (compare-and-set on `version`).
struct backup_put {
  RELAIS_PROTOCOL_MESSAGE("backup.put", client, authenticated);
  backup_kind kind = backup_kind::resume;
  std::optional<encoded_bytes> lookup;
  encoded_bytes blob;
  std::int64_t version = 0;
  friend bool operator==(const backup_put&, const backup_put&) = default;
};

/// `backup.get`: fetch an encrypted backup blob.
struct backup_get {
  RELAIS_PROTOCOL_MESSAGE("backup.get", client, any);
  backup_kind kind = backup_kind::resume;
  std::optional<encoded_bytes> lookup;
  friend bool operator==(const backup_get&, const backup_get&) = default;
};

/// `backup.blob`: an encrypted backup blob and its version.
struct backup_blob {
  RELAIS_PROTOCOL_MESSAGE("backup.blob", server, server);
  backup_kind kind = backup_kind::resume;
  encoded_bytes blob;
  std::int64_t version = 0;
  friend bool operator==(const backup_blob&, const backup_blob&) = default;
};

/// `backup.delete`: delete an encrypted backup blob (idempotent).
struct backup_delete {
  RELAIS_PROTOCOL_MESSAGE("backup.delete", client, authenticated);
  backup_kind kind = backup_kind::resume;
  std::optional<encoded_bytes> lookup;
  friend bool operator==(const backup_delete&, const backup_delete&) = default;
};

#undef RELAIS_PROTOCOL_MESSAGE

/// Any v1 message.
using message = std::variant<
    hello, welcome, ok, error_message,
    auth_login, auth_resume, auth_beneficiary, auth_ok, auth_logout, auth_totp_setup,
    auth_totp_secret, auth_totp_confirm,
    keys_publish, keys_fetch, keys_bundle, keys_low,
    permanence_get, permanence_status,
    queue_join, queue_position, queue_leave, queue_timeout, queue_inbox_offer, queue_list,
    queue_snapshot, queue_take,
    shift_start, shift_stop, shift_holiday, shift_state, shift_schedule, shift_week, presence_set,
    conversation_assigned, conversation_opened, conversation_send, conversation_ack,
    conversation_message, conversation_delivered, conversation_read, conversation_typing,
    conversation_end, conversation_ended, conversation_transfer, conversation_transferred,
    history_get, history_page, sync, sync_done,
    inbox_list_recipients, inbox_recipients, inbox_send, inbox_ack, inbox_list,
    inbox_messages, inbox_answer, inbox_dismiss, inbox_count,
    backup_put, backup_get, backup_blob, backup_delete>;

namespace detail {
template <class T, class V>
struct is_alternative;
template <class T, class... Ts>
struct is_alternative<T, std::variant<Ts...>> : std::disjunction<std::is_same<T, Ts>...> {};
}  // namespace detail
/// The alternatives of `message`: the types `encode` accepts directly.
template <class T>
concept message_type = detail::is_alternative<T, message>::value;

/// The wire `type` of a message ("conversation.send").
[[nodiscard]] std::string_view type_name(const message& m) noexcept;

/// Which side sends this message's type.
[[nodiscard]] origin origin_of(const message& m) noexcept;

/// When a client may send this message's type.
[[nodiscard]] access access_of(const message& m) noexcept;

/// The request id, if any.
[[nodiscard]] const std::optional<std::string>& rid_of(const message& m) noexcept;

/// Sets (or clears) the request id, e.g. to echo a request's `rid` in its reply.
void set_rid(message& m, std::optional<std::string> rid);

/// Every wire type name of v1, in the order of `message`'s alternatives.
[[nodiscard]] std::span<const std::string_view> message_type_names() noexcept;

}  // namespace relais::protocol
