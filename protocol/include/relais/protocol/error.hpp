#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

// The stable error codes and WebSocket close codes of protocol v1 (PROTOCOL.md §8, §9), as an
// error-code enum with its category and a few conditions, in the manner of
// boost/beast/websocket/error.hpp. tests/protocol checks these tables against PROTOCOL.md.

namespace relais::protocol {

/// A wire error code: the value is the number sent in an `error` message's `code`.
enum class error : std::uint16_t {
  // malformed (1xx): the frame is not a valid v1 message
  malformed_json = 100,
  not_an_object = 101,
  missing_type = 102,
  unknown_type = 103,
  wrong_type = 104,
  missing_field = 105,
  unknown_field = 106,
  duplicate_field = 107,
  invalid_value = 108,
  invalid_base64 = 109,
  wrong_direction = 110,
  unexpected_message = 111,
  binary_frame = 112,
  // unauthorized (2xx)
  auth_required = 200,
  invalid_credentials = 201,
  totp_required = 202,
  invalid_token = 203,
  invalid_signature = 204,
  forbidden = 205,
  account_locked = 206,
  // limit_exceeded (3xx)
  frame_too_large = 300,
  too_long = 301,
  too_deep = 302,
  out_of_range = 303,
  too_many_items = 304,
  rate_limited = 305,
  queue_full = 306,
  // unsupported_version (4xx)
  unsupported_version = 400,
  // conflict (5xx)
  already_in_queue = 500,
  already_taken = 501,
  version_conflict = 502,
  conversation_ended = 503,
  off_shift = 504,
  sequence_ahead = 505,
  not_in_queue = 506,
  // not_found (6xx)
  conversation_not_found = 600,
  worker_not_found = 601,
  ticket_not_found = 602,
  inbox_not_found = 603,
  backup_not_found = 604,
  keys_not_found = 605,
  queue_empty = 606,
  // unavailable (7xx)
  permanence_closed = 700,
  server_busy = 701,
  shutting_down = 702,
  internal_error = 703,
};

/// What a client can do about an error: the groups of PROTOCOL.md §8 (one per hundred).
enum class condition : std::uint8_t {
  malformed = 1,
  unauthorized,
  limit_exceeded,
  unsupported_version,
  conflict,
  not_found,
  unavailable,
};

/// A WebSocket close code used by relaisd (PROTOCOL.md §9); 4xxx are Relais's own.
enum class close_code : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  unsupported_data = 1003,
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  internal_error = 1011,
  try_again_later = 1013,
  auth_timeout = 4000,
  unsupported_version = 4001,
  auth_failed = 4002,
  session_revoked = 4003,
  shift_ended = 4004,
  replaced = 4005,
};

/// One row of the error table: number, snake_case name, condition, meaning, and the close
/// code the server sends right after the error, if it always closes.
struct error_info {
  error code;
  std::string_view name;
  enum condition condition;
  std::string_view meaning;
  std::optional<close_code> closes;
};

/// One row of the close-code table.
struct close_code_info {
  close_code code;
  std::string_view name;
  std::string_view meaning;
};

/// Every error code, in numeric order.
[[nodiscard]] std::span<const error_info> error_table() noexcept;

/// Every close code, in numeric order.
[[nodiscard]] std::span<const close_code_info> close_code_table() noexcept;

/// The row for a wire number, or nullptr if v1 defines no such code.
[[nodiscard]] const error_info* find_error(std::int64_t code) noexcept;

/// The row for a name, or nullptr.
[[nodiscard]] const error_info* find_error(std::string_view name) noexcept;

/// The row of an enumerator (always found for a valid enumerator).
[[nodiscard]] const error_info& info(error e) noexcept;

/// The snake_case name of an error ("malformed_json").
[[nodiscard]] std::string_view name(error e) noexcept;

/// The snake_case name of a close code ("going_away").
[[nodiscard]] std::string_view name(close_code c) noexcept;

/// The condition of an error code (its hundreds).
[[nodiscard]] condition condition_of(error e) noexcept;

/// The category of relais::protocol::error ("relais.protocol").
[[nodiscard]] const std::error_category& error_category() noexcept;

/// The category of relais::protocol::condition ("relais.protocol.condition").
[[nodiscard]] const std::error_category& condition_category() noexcept;

[[nodiscard]] std::error_code make_error_code(error e) noexcept;
[[nodiscard]] std::error_condition make_error_condition(condition c) noexcept;

}  // namespace relais::protocol

template <>
struct std::is_error_code_enum<relais::protocol::error> : std::true_type {};

template <>
struct std::is_error_condition_enum<relais::protocol::condition> : std::true_type {};
