#include "relais/protocol/codec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "json_tree.hpp"
#include "relais/protocol/limits.hpp"

// The codec is table-driven: each message struct has a `schema` listing its members (JSON
// name, member pointer, rule). One generic reader and one generic writer walk those tables,
// so that a rule is written once, in the order of PROTOCOL.md §6, and both directions agree.

namespace relais::protocol {
namespace {

using detail::json_kind;
using detail::json_node;
using detail::json_tree;

// ---------------------------------------------------------------- rules

enum class charset : std::uint8_t { text, token, digits };

/// A string: length bounds (bytes) and allowed characters.
struct text_rule {
  std::size_t min;
  std::size_t max;
  charset chars;
};
/// An integer and its inclusive range.
struct int_rule {
  std::int64_t min;
  std::int64_t max;
};
/// A base64url byte string and its decoded length bounds (bytes).
struct bytes_rule {
  std::size_t min;
  std::size_t max;
};
struct bool_rule {};
struct enum_rule {};
struct error_code_rule {};
struct object_rule {};
/// An array: item count bounds and the rule of each item.
template <class R>
struct array_rule {
  std::size_t min;
  std::size_t max;
  R item;
};

/// One member of a schema.
template <class T, class M, class R>
struct field {
  std::string_view name;
  M T::*member;
  R rule;
};

template <class T, class M, class R>
constexpr field<T, M, R> f(std::string_view name, M T::*member, R rule) {
  return {name, member, rule};
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

constexpr std::int64_t max_int = limits::max_safe_integer;

constexpr text_rule rid_r{1, limits::max_rid_chars, charset::token};
constexpr text_rule label_r{1, limits::max_label_bytes, charset::text};
constexpr text_rule msg_id_r{limits::min_client_msg_id_chars, limits::max_client_msg_id_chars,
                             charset::token};
constexpr text_rule password_r{1, limits::max_password_bytes, charset::text};
constexpr text_rule totp_r{limits::min_totp_digits, limits::max_totp_digits, charset::digits};
constexpr text_rule uri_r{1, limits::max_uri_bytes, charset::text};
constexpr text_rule error_text_r{1, limits::max_error_message_bytes, charset::text};
constexpr text_rule error_name_r{1, 64, charset::token};
constexpr text_rule phone_r{1, limits::max_phone_number_bytes, charset::text};
constexpr text_rule emergency_label_r{1, limits::max_emergency_label_bytes, charset::text};

constexpr int_rule id_r{1, max_int};
constexpr int_rule time_r{0, max_int};
constexpr int_rule seq_r{1, max_int};
constexpr int_rule seq0_r{0, max_int};
constexpr int_rule version_r{1, limits::max_version_number};
constexpr int_rule count_r{0, limits::max_count};
constexpr int_rule position_r{1, limits::max_count};
constexpr int_rule wait_r{0, limits::max_wait_seconds};
constexpr int_rule retry_r{0, limits::max_retry_after_ms};
constexpr int_rule workers_r{0, limits::max_workers_on_call};
constexpr int_rule capacity_r{0, limits::max_capacity};
constexpr int_rule spk_id_r{0, limits::max_spk_id};
constexpr int_rule opk_id_r{0, limits::max_opk_id};
constexpr int_rule history_limit_r{1, static_cast<std::int64_t>(limits::max_history_messages)};
constexpr int_rule inbox_limit_r{1, static_cast<std::int64_t>(limits::max_inbox_items)};
constexpr int_rule backup_version_r{1, max_int};

constexpr bytes_rule key_r{limits::key_bytes, limits::key_bytes};
constexpr bytes_rule challenge_r{limits::challenge_bytes, limits::challenge_bytes};
constexpr bytes_rule token_r{limits::token_bytes, limits::token_bytes};
constexpr bytes_rule lookup_r{limits::lookup_bytes, limits::lookup_bytes};
constexpr bytes_rule sig_r{limits::signature_bytes, limits::signature_bytes};
constexpr bytes_rule ciphertext_r{1, limits::max_ciphertext_bytes};
constexpr bytes_rule inbox_ciphertext_r{1, limits::max_inbox_ciphertext_bytes};
constexpr bytes_rule small_r{1, limits::max_small_blob_bytes};
constexpr bytes_rule prechat_r{1, limits::max_prechat_bytes};
constexpr bytes_rule backup_r{1, limits::max_backup_bytes};

constexpr array_rule<int_rule> versions_r{1, limits::max_versions, version_r};

// ---------------------------------------------------------------- schemas (PROTOCOL.md §6)

template <class T>
struct schema;

// Nested objects.
template <>
struct schema<one_time_prekey> {
  static constexpr auto fields = std::make_tuple(f("opk_id", &one_time_prekey::opk_id, opk_id_r),
                                                 f("opk_pub", &one_time_prekey::opk_pub, key_r));
};
template <>
struct schema<emergency_number> {
  static constexpr auto fields =
      std::make_tuple(f("number", &emergency_number::number, phone_r),
                      f("label_fr", &emergency_number::label_fr, emergency_label_r),
                      f("label_en", &emergency_number::label_en, emergency_label_r),
                      f("sms", &emergency_number::sms, bool_rule{}));
};
template <>
struct schema<queue_entry_summary> {
  static constexpr auto fields =
      std::make_tuple(f("ticket_id", &queue_entry_summary::ticket_id, id_r),
                      f("urgent", &queue_entry_summary::urgent, bool_rule{}),
                      f("joined_at", &queue_entry_summary::joined_at, time_r),
                      f("returning", &queue_entry_summary::returning, bool_rule{}));
};
template <>
struct schema<history_message> {
  static constexpr auto fields =
      std::make_tuple(f("seq", &history_message::seq, seq_r),
                      f("sender", &history_message::sender, enum_rule{}),
                      f("client_msg_id", &history_message::client_msg_id, msg_id_r),
                      f("ciphertext", &history_message::ciphertext, ciphertext_r),
                      f("sent_at", &history_message::sent_at, time_r));
};
template <>
struct schema<sync_cursor> {
  static constexpr auto fields =
      std::make_tuple(f("conversation_id", &sync_cursor::conversation_id, id_r),
                      f("last_seq", &sync_cursor::last_seq, seq0_r));
};
template <>
struct schema<sync_conversation> {
  static constexpr auto fields =
      std::make_tuple(f("conversation_id", &sync_conversation::conversation_id, id_r),
                      f("last_seq", &sync_conversation::last_seq, seq0_r),
                      f("open", &sync_conversation::open, bool_rule{}));
};
template <>
struct schema<recipient_worker> {
  static constexpr auto fields =
      std::make_tuple(f("worker_id", &recipient_worker::worker_id, id_r),
                      f("display_name", &recipient_worker::display_name, label_r));
};
template <>
struct schema<inbox_recipient> {
  static constexpr auto fields =
      std::make_tuple(f("worker_id", &inbox_recipient::worker_id, id_r),
                      f("wrapped_key", &inbox_recipient::wrapped_key, small_r));
};
template <>
struct schema<inbox_item> {
  static constexpr auto fields =
      std::make_tuple(f("inbox_id", &inbox_item::inbox_id, id_r),
                      f("beneficiary_key", &inbox_item::beneficiary_key, key_r),
                      f("ciphertext", &inbox_item::ciphertext, inbox_ciphertext_r),
                      f("wrapped_key", &inbox_item::wrapped_key, small_r),
                      f("received_at", &inbox_item::received_at, time_r));
};

// 6.1
template <>
struct schema<hello> {
  static constexpr bool ignore_unknown = true;  // the one extensible message (PROTOCOL.md §2)
  static constexpr auto fields = std::make_tuple(f("rid", &hello::rid, rid_r),
                                                 f("versions", &hello::versions, versions_r),
                                                 f("role", &hello::role, enum_rule{}),
                                                 f("client", &hello::client, label_r));
};
template <>
struct schema<welcome> {
  static constexpr auto fields = std::make_tuple(f("rid", &welcome::rid, rid_r),
                                                 f("version", &welcome::version, version_r),
                                                 f("challenge", &welcome::challenge, challenge_r),
                                                 f("server", &welcome::server, label_r));
};
template <>
struct schema<ok> {
  static constexpr auto fields = std::make_tuple(f("rid", &ok::rid, rid_r));
};
template <>
struct schema<error_message> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &error_message::rid, rid_r),
                      f("code", &error_message::code, error_code_rule{}),
                      f("name", &error_message::name, error_name_r),
                      f("message", &error_message::message, error_text_r),
                      f("retry_after_ms", &error_message::retry_after_ms, retry_r),
                      f("versions", &error_message::versions, versions_r));
};
// 6.2
template <>
struct schema<auth_login> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &auth_login::rid, rid_r),
                      f("username", &auth_login::username, label_r),
                      f("password", &auth_login::password, password_r),
                      f("totp", &auth_login::totp, totp_r),
                      f("device", &auth_login::device, label_r));
};
template <>
struct schema<auth_resume> {
  static constexpr auto fields = std::make_tuple(f("rid", &auth_resume::rid, rid_r),
                                                 f("token", &auth_resume::token, token_r));
};
template <>
struct schema<auth_beneficiary> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &auth_beneficiary::rid, rid_r),
                      f("identity_key", &auth_beneficiary::identity_key, key_r),
                      f("signature", &auth_beneficiary::signature, sig_r));
};
template <>
struct schema<auth_ok> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &auth_ok::rid, rid_r), f("role", &auth_ok::role, enum_rule{}),
                      f("worker_id", &auth_ok::worker_id, id_r),
                      f("display_name", &auth_ok::display_name, label_r),
                      f("token", &auth_ok::token, token_r),
                      f("token_expires_at", &auth_ok::token_expires_at, time_r),
                      f("totp_enrolled", &auth_ok::totp_enrolled, bool_rule{}));
};
template <>
struct schema<auth_logout> {
  static constexpr auto fields = std::make_tuple(f("rid", &auth_logout::rid, rid_r));
};
template <>
struct schema<auth_totp_setup> {
  static constexpr auto fields = std::make_tuple(f("rid", &auth_totp_setup::rid, rid_r));
};
template <>
struct schema<auth_totp_secret> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &auth_totp_secret::rid, rid_r),
                      f("otpauth_uri", &auth_totp_secret::otpauth_uri, uri_r));
};
template <>
struct schema<auth_totp_confirm> {
  static constexpr auto fields = std::make_tuple(f("rid", &auth_totp_confirm::rid, rid_r),
                                                 f("code", &auth_totp_confirm::code, totp_r));
};
// 6.3
template <>
struct schema<keys_publish> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &keys_publish::rid, rid_r),
      f("identity_key", &keys_publish::identity_key, key_r),
      f("spk_id", &keys_publish::spk_id, spk_id_r), f("spk_pub", &keys_publish::spk_pub, key_r),
      f("spk_signature", &keys_publish::spk_signature, sig_r),
      f("one_time_prekeys", &keys_publish::one_time_prekeys,
        array_rule<object_rule>{1, limits::max_one_time_prekeys, {}}),
      f("worker_certificate", &keys_publish::worker_certificate, small_r));
};
template <>
struct schema<keys_fetch> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &keys_fetch::rid, rid_r),
                      f("conversation_id", &keys_fetch::conversation_id, id_r),
                      f("worker_id", &keys_fetch::worker_id, id_r));
};
template <>
struct schema<keys_bundle> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &keys_bundle::rid, rid_r), f("identity_key", &keys_bundle::identity_key, key_r),
      f("spk_id", &keys_bundle::spk_id, spk_id_r), f("spk_pub", &keys_bundle::spk_pub, key_r),
      f("spk_signature", &keys_bundle::spk_signature, sig_r),
      f("opk_id", &keys_bundle::opk_id, opk_id_r), f("opk_pub", &keys_bundle::opk_pub, key_r),
      f("worker_certificate", &keys_bundle::worker_certificate, small_r));
};
template <>
struct schema<keys_low> {
  static constexpr auto fields = std::make_tuple(f("rid", &keys_low::rid, rid_r),
                                                 f("remaining", &keys_low::remaining, count_r));
};
// 6.4
template <>
struct schema<permanence_get> {
  static constexpr auto fields = std::make_tuple(f("rid", &permanence_get::rid, rid_r));
};
template <>
struct schema<permanence_status> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &permanence_status::rid, rid_r), f("open", &permanence_status::open, bool_rule{}),
      f("availability", &permanence_status::availability, enum_rule{}),
      f("queue_open", &permanence_status::queue_open, bool_rule{}),
      f("workers_on_call", &permanence_status::workers_on_call, workers_r),
      f("estimated_wait_s", &permanence_status::estimated_wait_s, wait_r),
      f("next_opening_at", &permanence_status::next_opening_at, time_r),
      f("emergency_numbers", &permanence_status::emergency_numbers,
        array_rule<object_rule>{0, limits::max_emergency_numbers, {}}),
      f("contribution_url", &permanence_status::contribution_url, uri_r));
};
// 6.5
template <>
struct schema<queue_join> {
  static constexpr auto fields = std::make_tuple(f("rid", &queue_join::rid, rid_r),
                                                 f("urgent", &queue_join::urgent, bool_rule{}),
                                                 f("prechat", &queue_join::prechat, prechat_r));
};
template <>
struct schema<queue_position> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &queue_position::rid, rid_r),
                      f("ticket_id", &queue_position::ticket_id, id_r),
                      f("position", &queue_position::position, position_r),
                      f("estimated_wait_s", &queue_position::estimated_wait_s, wait_r));
};
template <>
struct schema<queue_leave> {
  static constexpr auto fields = std::make_tuple(f("rid", &queue_leave::rid, rid_r));
};
template <>
struct schema<queue_timeout> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &queue_timeout::rid, rid_r),
                      f("reason", &queue_timeout::reason, enum_rule{}),
                      f("inbox_available", &queue_timeout::inbox_available, bool_rule{}));
};
template <>
struct schema<queue_inbox_offer> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &queue_inbox_offer::rid, rid_r),
                      f("reason", &queue_inbox_offer::reason, enum_rule{}));
};
template <>
struct schema<queue_list> {
  static constexpr auto fields = std::make_tuple(f("rid", &queue_list::rid, rid_r));
};
template <>
struct schema<queue_snapshot> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &queue_snapshot::rid, rid_r), f("total", &queue_snapshot::total, count_r),
      f("entries", &queue_snapshot::entries,
        array_rule<object_rule>{0, limits::max_snapshot_entries, {}}));
};
template <>
struct schema<queue_take> {
  static constexpr auto fields = std::make_tuple(f("rid", &queue_take::rid, rid_r),
                                                 f("ticket_id", &queue_take::ticket_id, id_r));
};
// 6.6
template <>
struct schema<shift_start> {
  static constexpr auto fields = std::make_tuple(f("rid", &shift_start::rid, rid_r));
};
template <>
struct schema<shift_stop> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &shift_stop::rid, rid_r), f("handover", &shift_stop::handover, enum_rule{}));
};
template <>
struct schema<shift_holiday> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &shift_holiday::rid, rid_r),
                      f("enabled", &shift_holiday::enabled, bool_rule{}),
                      f("until", &shift_holiday::until, time_r));
};
template <>
struct schema<shift_state> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &shift_state::rid, rid_r),
                      f("state", &shift_state::state, enum_rule{}),
                      f("mode", &shift_state::mode, enum_rule{}),
                      f("ends_at", &shift_state::ends_at, time_r),
                      f("next_start_at", &shift_state::next_start_at, time_r));
};
template <>
struct schema<time_window> {
  static constexpr auto fields =
      std::make_tuple(f("start", &time_window::start, time_r), f("end", &time_window::end, time_r));
};
template <>
struct schema<shift_schedule> {
  static constexpr auto fields = std::make_tuple(f("rid", &shift_schedule::rid, rid_r),
                                                 f("days", &shift_schedule::days, int_rule{1, limits::max_schedule_days}));
};
template <>
struct schema<shift_week> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &shift_week::rid, rid_r),
      f("time_zone", &shift_week::time_zone, text_rule{1, limits::max_time_zone_bytes, charset::text}),
      f("from", &shift_week::span_from, time_r), f("to", &shift_week::span_to, time_r),
      f("mine", &shift_week::mine, array_rule<object_rule>{0, limits::max_week_windows, {}}),
      f("open", &shift_week::open, array_rule<object_rule>{0, limits::max_week_windows, {}}),
      f("closed", &shift_week::closed, array_rule<object_rule>{0, limits::max_week_windows, {}}));
};
template <>
struct schema<presence_set> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &presence_set::rid, rid_r),
                      f("status", &presence_set::status, enum_rule{}),
                      f("capacity", &presence_set::capacity, capacity_r));
};
// 6.7
template <>
struct schema<conversation_assigned> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &conversation_assigned::rid, rid_r),
      f("conversation_id", &conversation_assigned::conversation_id, id_r),
      f("beneficiary_key", &conversation_assigned::beneficiary_key, key_r),
      f("urgent", &conversation_assigned::urgent, bool_rule{}),
      f("returning", &conversation_assigned::returning, bool_rule{}),
      f("prechat", &conversation_assigned::prechat, prechat_r),
      f("transferred_from", &conversation_assigned::transferred_from, id_r),
      f("inbox_id", &conversation_assigned::inbox_id, id_r));
};
template <>
struct schema<conversation_opened> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_opened::rid, rid_r),
                      f("conversation_id", &conversation_opened::conversation_id, id_r),
                      f("worker_id", &conversation_opened::worker_id, id_r),
                      f("display_name", &conversation_opened::display_name, label_r));
};
template <>
struct schema<conversation_send> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_send::rid, rid_r),
                      f("conversation_id", &conversation_send::conversation_id, id_r),
                      f("client_msg_id", &conversation_send::client_msg_id, msg_id_r),
                      f("ciphertext", &conversation_send::ciphertext, ciphertext_r));
};
template <>
struct schema<conversation_ack> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_ack::rid, rid_r),
                      f("conversation_id", &conversation_ack::conversation_id, id_r),
                      f("client_msg_id", &conversation_ack::client_msg_id, msg_id_r),
                      f("seq", &conversation_ack::seq, seq_r),
                      f("sent_at", &conversation_ack::sent_at, time_r));
};
template <>
struct schema<conversation_message> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_message::rid, rid_r),
                      f("conversation_id", &conversation_message::conversation_id, id_r),
                      f("seq", &conversation_message::seq, seq_r),
                      f("sender", &conversation_message::sender, enum_rule{}),
                      f("client_msg_id", &conversation_message::client_msg_id, msg_id_r),
                      f("ciphertext", &conversation_message::ciphertext, ciphertext_r),
                      f("sent_at", &conversation_message::sent_at, time_r));
};
template <>
struct schema<conversation_delivered> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_delivered::rid, rid_r),
                      f("conversation_id", &conversation_delivered::conversation_id, id_r),
                      f("up_to_seq", &conversation_delivered::up_to_seq, seq_r));
};
template <>
struct schema<conversation_read> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_read::rid, rid_r),
                      f("conversation_id", &conversation_read::conversation_id, id_r),
                      f("up_to_seq", &conversation_read::up_to_seq, seq_r));
};
template <>
struct schema<conversation_typing> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_typing::rid, rid_r),
                      f("conversation_id", &conversation_typing::conversation_id, id_r),
                      f("active", &conversation_typing::active, bool_rule{}));
};
template <>
struct schema<conversation_end> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_end::rid, rid_r),
                      f("conversation_id", &conversation_end::conversation_id, id_r));
};
template <>
struct schema<conversation_ended> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_ended::rid, rid_r),
                      f("conversation_id", &conversation_ended::conversation_id, id_r),
                      f("reason", &conversation_ended::reason, enum_rule{}));
};
template <>
struct schema<conversation_transfer> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_transfer::rid, rid_r),
                      f("conversation_id", &conversation_transfer::conversation_id, id_r),
                      f("to_worker_id", &conversation_transfer::to_worker_id, id_r),
                      f("control", &conversation_transfer::control, small_r));
};
template <>
struct schema<conversation_transferred> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &conversation_transferred::rid, rid_r),
                      f("conversation_id", &conversation_transferred::conversation_id, id_r),
                      f("from_worker_id", &conversation_transferred::from_worker_id, id_r),
                      f("to_worker_id", &conversation_transferred::to_worker_id, id_r),
                      f("to_display_name", &conversation_transferred::to_display_name, label_r),
                      f("control", &conversation_transferred::control, small_r));
};
// 6.8
template <>
struct schema<history_get> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &history_get::rid, rid_r),
                      f("conversation_id", &history_get::conversation_id, id_r),
                      f("after_seq", &history_get::after_seq, seq0_r),
                      f("limit", &history_get::limit, history_limit_r));
};
template <>
struct schema<history_page> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &history_page::rid, rid_r),
      f("conversation_id", &history_page::conversation_id, id_r),
      f("messages", &history_page::messages,
        array_rule<object_rule>{0, limits::max_history_messages, {}}),
      f("more", &history_page::more, bool_rule{}));
};
template <>
struct schema<sync> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &sync::rid, rid_r),
      f("cursors", &sync::cursors, array_rule<object_rule>{0, limits::max_sync_conversations, {}}));
};
template <>
struct schema<sync_done> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &sync_done::rid, rid_r),
                      f("conversations", &sync_done::conversations,
                        array_rule<object_rule>{0, limits::max_sync_conversations, {}}));
};
template <>
struct schema<inbox_list_recipients> {
  static constexpr auto fields = std::make_tuple(f("rid", &inbox_list_recipients::rid, rid_r));
};
template <>
struct schema<inbox_recipients> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &inbox_recipients::rid, rid_r),
                      f("workers", &inbox_recipients::workers,
                        array_rule<object_rule>{0, limits::max_recipient_workers, {}}));
};
template <>
struct schema<inbox_send> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &inbox_send::rid, rid_r),
      f("client_msg_id", &inbox_send::client_msg_id, msg_id_r),
      f("ciphertext", &inbox_send::ciphertext, inbox_ciphertext_r),
      f("recipients", &inbox_send::recipients,
        array_rule<object_rule>{1, limits::max_inbox_recipients, {}}));
};
template <>
struct schema<inbox_ack> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &inbox_ack::rid, rid_r),
                      f("client_msg_id", &inbox_ack::client_msg_id, msg_id_r),
                      f("inbox_id", &inbox_ack::inbox_id, id_r));
};
template <>
struct schema<inbox_list> {
  static constexpr auto fields = std::make_tuple(f("rid", &inbox_list::rid, rid_r),
                                                 f("after_id", &inbox_list::after_id, id_r),
                                                 f("limit", &inbox_list::limit, inbox_limit_r));
};
template <>
struct schema<inbox_messages> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &inbox_messages::rid, rid_r),
      f("items", &inbox_messages::items, array_rule<object_rule>{0, limits::max_inbox_items, {}}),
      f("more", &inbox_messages::more, bool_rule{}));
};
template <>
struct schema<inbox_answer> {
  static constexpr auto fields = std::make_tuple(f("rid", &inbox_answer::rid, rid_r),
                                                 f("inbox_id", &inbox_answer::inbox_id, id_r));
};
template <>
struct schema<inbox_dismiss> {
  static constexpr auto fields = std::make_tuple(f("rid", &inbox_dismiss::rid, rid_r),
                                                 f("inbox_id", &inbox_dismiss::inbox_id, id_r));
};
template <>
struct schema<inbox_count> {
  static constexpr auto fields = std::make_tuple(f("rid", &inbox_count::rid, rid_r),
                                                 f("unread", &inbox_count::unread, count_r));
};
// 6.9
template <>
struct schema<backup_put> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &backup_put::rid, rid_r), f("kind", &backup_put::kind, enum_rule{}),
      f("lookup", &backup_put::lookup, lookup_r), f("blob", &backup_put::blob, backup_r),
      f("version", &backup_put::version, backup_version_r));
};
template <>
struct schema<backup_get> {
  static constexpr auto fields =
      std::make_tuple(f("rid", &backup_get::rid, rid_r), f("kind", &backup_get::kind, enum_rule{}),
                      f("lookup", &backup_get::lookup, lookup_r));
};
template <>
struct schema<backup_blob> {
  static constexpr auto fields = std::make_tuple(
      f("rid", &backup_blob::rid, rid_r), f("kind", &backup_blob::kind, enum_rule{}),
      f("blob", &backup_blob::blob, backup_r),
      f("version", &backup_blob::version, backup_version_r));
};
template <>
struct schema<backup_delete> {
  static constexpr auto fields = std::make_tuple(f("rid", &backup_delete::rid, rid_r),
                                                 f("kind", &backup_delete::kind, enum_rule{}),
                                                 f("lookup", &backup_delete::lookup, lookup_r));
};

template <class T>
constexpr bool ignores_unknown() {
  if constexpr (requires { schema<T>::ignore_unknown; }) {
    return schema<T>::ignore_unknown;
  } else {
    return false;
  }
}

// ---------------------------------------------------------------- reading

/// Decoding state: the tree, the first error, and the path to it (built while unwinding).
struct ctx {
  const json_tree& tree;
  std::error_code ec;
  std::string path;
  bool want_path = false;
};

bool fail(ctx& c, error e) {
  c.ec = e;
  return false;
}

void prepend_path(ctx& c, std::string_view part) {
  if (!c.want_path) {
    return;
  }
  // "a" + "[0]" -> "a[0]"; "[0]" + "b" -> "[0].b"; "a" + "b" -> "a.b".
  if (!c.path.empty() && c.path.front() != '[') {
    c.path.insert(0, ".");
  }
  c.path.insert(0, part);
}

// Character classes: bit 0 text (no C0 control, no DEL; bytes >= 0x80 are valid UTF-8 here
// since the parser checked), bit 1 token [A-Za-z0-9_-], bit 2 digit.
constexpr std::array<std::uint8_t, 256> char_classes = [] {
  std::array<std::uint8_t, 256> t{};
  for (std::size_t c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    if (c >= 0x20 && c != 0x7F) {
      v |= 1U;
    }
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '_' || c == '-') {
      v |= 2U;
    }
    if (c >= '0' && c <= '9') {
      v |= 4U;
    }
    t[c] = v;
  }
  return t;
}();

bool chars_ok(std::string_view s, charset cs) noexcept {
  const std::uint8_t bit = cs == charset::text ? 1U : cs == charset::token ? 2U : 4U;
  std::uint8_t all = bit;
  for (char ch : s) {
    all &= char_classes[static_cast<unsigned char>(ch)];
  }
  return all != 0;
}

bool read(ctx& c, const json_node& n, std::string& out, const text_rule& r) {
  if (n.kind != json_kind::string) {
    return fail(c, error::wrong_type);
  }
  if (n.text.size() > r.max) {
    return fail(c, error::too_long);
  }
  if (n.text.size() < r.min || !chars_ok(n.text, r.chars)) {
    return fail(c, error::invalid_value);
  }
  out.assign(n.text);
  return true;
}

bool read_integer(ctx& c, const json_node& n, std::int64_t& out) {
  if (n.kind == json_kind::big_integer) {
    return fail(c, error::out_of_range);
  }
  if (n.kind != json_kind::integer) {
    return fail(c, error::wrong_type);
  }
  out = n.integer;
  return true;
}

bool read(ctx& c, const json_node& n, std::int64_t& out, const int_rule& r) {
  std::int64_t v = 0;
  if (!read_integer(c, n, v)) {
    return false;
  }
  if (v < r.min || v > r.max) {
    return fail(c, error::out_of_range);
  }
  out = v;
  return true;
}

bool read(ctx& c, const json_node& n, bool& out, const bool_rule& /*rule*/) {
  if (n.kind != json_kind::boolean) {
    return fail(c, error::wrong_type);
  }
  out = n.boolean;
  return true;
}

bool read(ctx& c, const json_node& n, encoded_bytes& out, const bytes_rule& r) {
  if (n.kind != json_kind::string) {
    return fail(c, error::wrong_type);
  }
  const std::size_t size = base64url_decoded_size(n.text);
  if (n.text.size() % 4 == 1) {
    return fail(c, error::invalid_base64);
  }
  if (size > r.max) {
    return fail(c, error::too_long);
  }
  std::error_code ec;
  out = encoded_bytes::from_text(n.text, ec);
  if (ec) {
    return fail(c, error::invalid_base64);
  }
  if (size < r.min) {
    return fail(c, error::invalid_value);
  }
  return true;
}

bool read(ctx& c, const json_node& n, error& out, const error_code_rule& /*rule*/) {
  std::int64_t v = 0;
  if (n.kind == json_kind::big_integer) {
    return fail(c, error::invalid_value);
  }
  if (!read_integer(c, n, v)) {
    return false;
  }
  const error_info* row = find_error(v);
  if (row == nullptr) {
    return fail(c, error::invalid_value);
  }
  out = row->code;
  return true;
}

template <class E>
  requires std::is_enum_v<E>
bool read(ctx& c, const json_node& n, E& out, const enum_rule& /*rule*/) {
  if (n.kind != json_kind::string) {
    return fail(c, error::wrong_type);
  }
  const auto& names = enum_traits<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == n.text) {
      out = static_cast<E>(i);
      return true;
    }
  }
  return fail(c, error::invalid_value);
}

template <class T>
bool read_object(ctx& c, const json_node& obj, T& out, bool frame);

template <class T>
bool read(ctx& c, const json_node& n, T& out, const object_rule& /*rule*/) {
  return read_object(c, n, out, false);
}

template <class T, class R>
bool read(ctx& c, const json_node& n, std::vector<T>& out, const array_rule<R>& r) {
  if (n.kind != json_kind::array) {
    return fail(c, error::wrong_type);
  }
  if (n.size > r.max) {
    return fail(c, error::too_many_items);
  }
  if (n.size < r.min) {
    return fail(c, error::invalid_value);
  }
  out.clear();
  out.reserve(n.size);
  std::size_t i = 0;
  for (std::uint32_t k = n.first_child; k != 0; k = c.tree.node(k).next_sibling, ++i) {
    if (!read(c, c.tree.node(k), out.emplace_back(), r.item)) {
      if (c.want_path) {
        prepend_path(c, "[" + std::to_string(i) + "]");
      }
      return false;
    }
  }
  return true;
}

template <class M, class R>
bool read_member(ctx& c, const json_node& n, M& m, const R& r) {
  if constexpr (is_optional<M>::value) {
    return read(c, n, m.emplace(), r);
  } else {
    return read(c, n, m, r);
  }
}

template <class T>
constexpr std::size_t field_count = std::tuple_size_v<std::remove_cvref_t<decltype(schema<T>::fields)>>;

// Reads member `m` into the field whose name matches; `matched` tells whether one did.
template <class T, std::size_t I = 0>
bool read_named(ctx& c, const json_node& m, T& out, std::uint64_t& seen, bool& matched) {
  if constexpr (I == field_count<T>) {
    return true;
  } else {
    constexpr const auto& fd = std::get<I>(schema<T>::fields);
    if (fd.name != m.key) {
      return read_named<T, I + 1>(c, m, out, seen, matched);
    }
    matched = true;
    if ((seen & (std::uint64_t{1} << I)) != 0) {
      prepend_path(c, fd.name);
      return fail(c, error::duplicate_field);
    }
    seen |= std::uint64_t{1} << I;
    if (!read_member(c, m, out.*(fd.member), fd.rule)) {
      prepend_path(c, fd.name);
      return false;
    }
    return true;
  }
}

template <class T, std::size_t I = 0>
bool check_required(ctx& c, std::uint64_t seen) {
  if constexpr (I == field_count<T>) {
    return true;
  } else {
    constexpr const auto& fd = std::get<I>(schema<T>::fields);
    using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*(fd.member))>;
    if (!is_optional<member_type>::value && (seen & (std::uint64_t{1} << I)) == 0) {
      prepend_path(c, fd.name);
      return fail(c, error::missing_field);
    }
    return check_required<T, I + 1>(c, seen);
  }
}

template <class T>
bool read_object(ctx& c, const json_node& obj, T& out, bool frame) {
  static_assert(field_count<T> <= 64, "the seen-set is a 64-bit mask");
  if (obj.kind != json_kind::object) {
    return fail(c, error::wrong_type);
  }
  std::uint64_t seen = 0;
  bool type_seen = false;
  for (std::uint32_t k = obj.first_child; k != 0; k = c.tree.node(k).next_sibling) {
    const json_node& m = c.tree.node(k);
    if (frame && m.key == "type") {
      if (type_seen) {
        prepend_path(c, "type");
        return fail(c, error::duplicate_field);
      }
      type_seen = true;
      continue;
    }
    bool matched = false;
    if (!read_named<T>(c, m, out, seen, matched)) {
      return false;
    }
    if (!matched && !ignores_unknown<T>()) {
      if (c.want_path) {
        // A peer-chosen name goes into diagnostics only if it is a plain short token.
        if (m.key.size() <= 64 && chars_ok(m.key, charset::token)) {
          prepend_path(c, m.key);
        }
      }
      return fail(c, error::unknown_field);
    }
  }
  return check_required<T>(c, seen);
}

// ---------------------------------------------------------------- cross-field rules

template <class T>
bool check(ctx& /*c*/, const T& /*m*/) {
  return true;
}

bool fail_at(ctx& c, error e, std::string_view path) {
  prepend_path(c, path);
  return fail(c, e);
}

bool check(ctx& c, const hello& m) {
  for (std::size_t i = 0; i < m.versions.size(); ++i) {
    for (std::size_t j = i + 1; j < m.versions.size(); ++j) {
      if (m.versions[i] == m.versions[j]) {
        return fail_at(c, error::invalid_value, "versions");
      }
    }
  }
  return true;
}

bool check(ctx& c, const error_message& m) {
  if (m.name != name(m.code)) {
    return fail_at(c, error::invalid_value, "name");
  }
  return true;
}

bool check(ctx& c, const keys_publish& m) {
  const int present = int{m.spk_id.has_value()} + int{m.spk_pub.has_value()} +
                      int{m.spk_signature.has_value()};
  if (present != 0 && present != 3) {
    return fail_at(c, error::missing_field,
                   !m.spk_id ? "spk_id" : !m.spk_pub ? "spk_pub" : "spk_signature");
  }
  return true;
}

bool check(ctx& c, const keys_fetch& m) {
  if (m.conversation_id && m.worker_id) {
    return fail_at(c, error::invalid_value, "worker_id");
  }
  if (!m.conversation_id && !m.worker_id) {
    return fail_at(c, error::missing_field, "conversation_id");
  }
  return true;
}

bool check(ctx& c, const keys_bundle& m) {
  if (m.opk_id.has_value() != m.opk_pub.has_value()) {
    return fail_at(c, error::missing_field, m.opk_id ? "opk_pub" : "opk_id");
  }
  return true;
}

bool check(ctx& c, const permanence_status& m) {
  if (m.contribution_url && !m.contribution_url->starts_with("https://")) {
    return fail_at(c, error::invalid_value, "contribution_url");
  }
  return true;
}

bool check(ctx& c, const auth_totp_secret& m) {
  if (!m.otpauth_uri.starts_with("otpauth://totp/")) {
    return fail_at(c, error::invalid_value, "otpauth_uri");
  }
  return true;
}

bool check(ctx& c, const inbox_send& m) {
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    for (std::size_t j = i + 1; j < m.recipients.size(); ++j) {
      if (m.recipients[i].worker_id == m.recipients[j].worker_id) {
        return fail_at(c, error::invalid_value, "recipients");
      }
    }
  }
  return true;
}

bool check_lookup(ctx& c, backup_kind kind, const std::optional<encoded_bytes>& lookup) {
  if (kind == backup_kind::keystore && lookup) {
    return fail_at(c, error::invalid_value, "lookup");  // one keystore per account
  }
  if (kind != backup_kind::keystore && !lookup) {
    return fail_at(c, error::missing_field, "lookup");
  }
  return true;
}

bool check(ctx& c, const backup_put& m) { return check_lookup(c, m.kind, m.lookup); }
bool check(ctx& c, const backup_get& m) { return check_lookup(c, m.kind, m.lookup); }
bool check(ctx& c, const backup_delete& m) { return check_lookup(c, m.kind, m.lookup); }

// ---------------------------------------------------------------- dispatch by type

constexpr std::size_t message_count = std::variant_size_v<message>;

using decoder_fn = bool (*)(ctx&, const json_node&, message&);

template <std::size_t I>
bool decode_alternative(ctx& c, const json_node& root, message& out) {
  auto& m = out.emplace<I>();
  return read_object(c, root, m, true) && check(c, m);
}

constexpr auto decoders = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<decoder_fn, message_count>{&decode_alternative<I>...};
}(std::make_index_sequence<message_count>{});

constexpr auto origins = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<origin, message_count>{std::variant_alternative_t<I, message>::from...};
}(std::make_index_sequence<message_count>{});

struct type_entry {
  std::string_view name;
  std::size_t index;
};

// Type names sorted for binary search.
constexpr auto types_by_name = []<std::size_t... I>(std::index_sequence<I...>) {
  std::array<type_entry, message_count> a{
      type_entry{std::variant_alternative_t<I, message>::type, I}...};
  std::sort(a.begin(), a.end(),
            [](const type_entry& x, const type_entry& y) { return x.name < y.name; });
  return a;
}(std::make_index_sequence<message_count>{});

static_assert(std::adjacent_find(types_by_name.begin(), types_by_name.end(),
                                 [](const type_entry& x, const type_entry& y) {
                                   return x.name == y.name;
                                 }) == types_by_name.end(),
              "wire type names are unique");

const type_entry* find_type(std::string_view name) noexcept {
  const auto* it = std::lower_bound(
      types_by_name.begin(), types_by_name.end(), name,
      [](const type_entry& e, std::string_view n) { return e.name < n; });
  return it != types_by_name.end() && it->name == name ? &*it : nullptr;
}

enum class receiver : std::uint8_t { any, server, client };

message decode_impl(std::string_view frame, std::error_code& ec, decode_diagnostics* diag,
                    receiver at) {
  ec.clear();
  if (diag != nullptr) {
    *diag = decode_diagnostics{};
  }
  if (frame.size() > limits::max_frame_bytes) {
    ec = error::frame_too_large;
    return {};
  }
  // Reused per thread: the node array and the unescape buffer keep their capacity, so a
  // decode allocates only the strings of its result.
  thread_local json_tree tree;
  if (const std::error_code parse_ec =
          tree.parse(frame, limits::max_depth, limits::max_json_values)) {
    ec = parse_ec;
    return {};
  }
  const json_node& root = tree.root();
  if (root.kind != json_kind::object) {
    ec = error::not_an_object;
    return {};
  }
  const json_node* type_node = nullptr;
  for (std::uint32_t k = root.first_child; k != 0; k = tree.node(k).next_sibling) {
    const json_node& m = tree.node(k);
    if (m.key == "type" && type_node == nullptr) {
      type_node = &m;
    } else if (m.key == "rid" && diag != nullptr && diag->rid.empty() &&
               m.kind == json_kind::string && !m.text.empty() &&
               m.text.size() <= limits::max_rid_chars && chars_ok(m.text, charset::token)) {
      diag->rid.assign(m.text);
    }
  }
  if (type_node == nullptr || type_node->kind != json_kind::string) {
    ec = error::missing_type;
    if (diag != nullptr) {
      diag->field = "type";
    }
    return {};
  }
  const type_entry* entry = find_type(type_node->text);
  if (entry == nullptr) {
    ec = error::unknown_type;
    if (diag != nullptr) {
      diag->field = "type";
    }
    return {};
  }
  if (diag != nullptr) {
    diag->type.assign(entry->name);
  }
  const origin from = origins[entry->index];
  if ((at == receiver::server && from == origin::server) ||
      (at == receiver::client && from == origin::client)) {
    ec = error::wrong_direction;
    if (diag != nullptr) {
      diag->field = "type";
    }
    return {};
  }
  message out;
  ctx c{tree, {}, {}, diag != nullptr};
  if (!decoders[entry->index](c, root, out)) {
    ec = c.ec;
    if (diag != nullptr) {
      diag->field = std::move(c.path);
    }
    return {};
  }
  return out;
}

// ---------------------------------------------------------------- writing

void write_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes copied as they are
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = detail::utf8_sequence_length(
          reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i);
      if (n != 0) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4U];
          out += hex[c & 0xFU];
        } else {
          out += "\xEF\xBF\xBD";  // invalid UTF-8 byte: U+FFFD keeps the frame valid JSON
        }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void write_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void write(std::string& out, const std::string& v, const text_rule& /*rule*/) {
  write_string(out, v);
}
void write(std::string& out, std::int64_t v, const int_rule& /*rule*/) { write_int(out, v); }
void write(std::string& out, bool v, const bool_rule& /*rule*/) { out += v ? "true" : "false"; }
void write(std::string& out, const encoded_bytes& v, const bytes_rule& /*rule*/) {
  out += '"';
  out += v.text();  // canonical base64url by construction: nothing to escape
  out += '"';
}
void write(std::string& out, error v, const error_code_rule& /*rule*/) {
  write_int(out, static_cast<std::int64_t>(v));
}
template <class E>
  requires std::is_enum_v<E>
void write(std::string& out, E v, const enum_rule& /*rule*/) {
  out += '"';
  out += wire_name(v);
  out += '"';
}

template <bool Frame, class T>
void write_object(std::string& out, const T& v);

template <class T>
void write(std::string& out, const T& v, const object_rule& /*rule*/) {
  write_object<false>(out, v);
}

template <class T, class R>
void write(std::string& out, const std::vector<T>& v, const array_rule<R>& r) {
  out += '[';
  bool first = true;
  for (const T& item : v) {
    if (!first) {
      out += ',';
    }
    first = false;
    write(out, item, r.item);
  }
  out += ']';
}

template <class T, class M, class R>
void write_field(std::string& out, const T& v, const field<T, M, R>& fd, bool& first) {
  const M& m = v.*(fd.member);
  if constexpr (is_optional<M>::value) {
    if (!m) {
      return;
    }
  }
  if (!first) {
    out += ',';
  }
  first = false;
  out += '"';
  out += fd.name;  // member names are plain ASCII constants
  out += "\":";
  if constexpr (is_optional<M>::value) {
    write(out, *m, fd.rule);
  } else {
    write(out, m, fd.rule);
  }
}

template <bool Frame, class T>
void write_object(std::string& out, const T& v) {
  out += '{';
  bool first = true;
  if constexpr (Frame) {
    out += "\"type\":\"";
    out += T::type;
    out += '"';
    first = false;
  }
  std::apply([&](const auto&... fd) { (write_field(out, v, fd, first), ...); }, schema<T>::fields);
  out += '}';
}

template <class T>
void encode_into(std::string& out, const T& m) {
  write_object<true>(out, m);
}

}  // namespace

message decode(std::string_view frame, std::error_code& ec, decode_diagnostics* diagnostics) {
  return decode_impl(frame, ec, diagnostics, receiver::any);
}

message decode_from_client(std::string_view frame, std::error_code& ec,
                           decode_diagnostics* diagnostics) {
  return decode_impl(frame, ec, diagnostics, receiver::server);
}

message decode_from_server(std::string_view frame, std::error_code& ec,
                           decode_diagnostics* diagnostics) {
  return decode_impl(frame, ec, diagnostics, receiver::client);
}

void encode_to(std::string& out, const message& m) {
  std::visit([&](const auto& v) { encode_into(out, v); }, m);
}

std::string encode(const message& m) {
  std::string out;
  out.reserve(256);
  encode_to(out, m);
  return out;
}

template <message_type T>
std::string encode(const T& m) {
  std::string out;
  out.reserve(256);
  encode_into(out, m);
  return out;
}

// Explicit instantiations, one per alternative of `message` (the static_assert keeps the list
// complete), so that encode<T> links from any translation unit while the schemas stay here.
template std::string encode<hello>(const hello&);
template std::string encode<welcome>(const welcome&);
template std::string encode<ok>(const ok&);
template std::string encode<error_message>(const error_message&);
template std::string encode<auth_login>(const auth_login&);
template std::string encode<auth_resume>(const auth_resume&);
template std::string encode<auth_beneficiary>(const auth_beneficiary&);
template std::string encode<auth_ok>(const auth_ok&);
template std::string encode<auth_logout>(const auth_logout&);
template std::string encode<auth_totp_setup>(const auth_totp_setup&);
template std::string encode<auth_totp_secret>(const auth_totp_secret&);
template std::string encode<auth_totp_confirm>(const auth_totp_confirm&);
template std::string encode<keys_publish>(const keys_publish&);
template std::string encode<keys_fetch>(const keys_fetch&);
template std::string encode<keys_bundle>(const keys_bundle&);
template std::string encode<keys_low>(const keys_low&);
template std::string encode<permanence_get>(const permanence_get&);
template std::string encode<permanence_status>(const permanence_status&);
template std::string encode<queue_join>(const queue_join&);
template std::string encode<queue_position>(const queue_position&);
template std::string encode<queue_leave>(const queue_leave&);
template std::string encode<queue_timeout>(const queue_timeout&);
template std::string encode<queue_inbox_offer>(const queue_inbox_offer&);
template std::string encode<queue_list>(const queue_list&);
template std::string encode<queue_snapshot>(const queue_snapshot&);
template std::string encode<queue_take>(const queue_take&);
template std::string encode<shift_start>(const shift_start&);
template std::string encode<shift_stop>(const shift_stop&);
template std::string encode<shift_holiday>(const shift_holiday&);
template std::string encode<shift_state>(const shift_state&);
template std::string encode<presence_set>(const presence_set&);
template std::string encode<conversation_assigned>(const conversation_assigned&);
template std::string encode<conversation_opened>(const conversation_opened&);
template std::string encode<conversation_send>(const conversation_send&);
template std::string encode<conversation_ack>(const conversation_ack&);
template std::string encode<conversation_message>(const conversation_message&);
template std::string encode<conversation_delivered>(const conversation_delivered&);
template std::string encode<conversation_read>(const conversation_read&);
template std::string encode<conversation_typing>(const conversation_typing&);
template std::string encode<conversation_end>(const conversation_end&);
template std::string encode<conversation_ended>(const conversation_ended&);
template std::string encode<conversation_transfer>(const conversation_transfer&);
template std::string encode<conversation_transferred>(const conversation_transferred&);
template std::string encode<history_get>(const history_get&);
template std::string encode<history_page>(const history_page&);
template std::string encode<sync>(const sync&);
template std::string encode<sync_done>(const sync_done&);
template std::string encode<inbox_list_recipients>(const inbox_list_recipients&);
template std::string encode<inbox_recipients>(const inbox_recipients&);
template std::string encode<inbox_send>(const inbox_send&);
template std::string encode<inbox_ack>(const inbox_ack&);
template std::string encode<inbox_list>(const inbox_list&);
template std::string encode<inbox_messages>(const inbox_messages&);
template std::string encode<inbox_answer>(const inbox_answer&);
template std::string encode<inbox_dismiss>(const inbox_dismiss&);
template std::string encode<shift_schedule>(const shift_schedule&);
template std::string encode<shift_week>(const shift_week&);
template std::string encode<inbox_count>(const inbox_count&);
template std::string encode<backup_put>(const backup_put&);
template std::string encode<backup_get>(const backup_get&);
template std::string encode<backup_blob>(const backup_blob&);
template std::string encode<backup_delete>(const backup_delete&);
static_assert(std::variant_size_v<message> == 62, "instantiate encode<T> for new messages");

}  // namespace relais::protocol
