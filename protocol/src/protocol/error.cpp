#include "relais/protocol/error.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace relais::protocol {
namespace {

using enum error;
using c = condition;

// The meanings are those of PROTOCOL.md §8; the test compares names and conditions.
constexpr auto errors = std::to_array<error_info>({
    {malformed_json, "malformed_json", c::malformed, "not valid JSON", std::nullopt},
    {not_an_object, "not_an_object", c::malformed, "the frame is not a JSON object", std::nullopt},
    {missing_type, "missing_type", c::malformed, "no type member, or not a string", std::nullopt},
    {unknown_type, "unknown_type", c::malformed, "type names no v1 message", std::nullopt},
    {wrong_type, "wrong_type", c::malformed, "a member has the wrong JSON type", std::nullopt},
    {missing_field, "missing_field", c::malformed, "a required member is absent", std::nullopt},
    {unknown_field, "unknown_field", c::malformed, "a member the message does not define",
     std::nullopt},
    {duplicate_field, "duplicate_field", c::malformed, "the same member twice in one object",
     std::nullopt},
    {invalid_value, "invalid_value", c::malformed, "a value outside its allowed set",
     std::nullopt},
    {invalid_base64, "invalid_base64", c::malformed, "not canonical unpadded base64url",
     std::nullopt},
    {wrong_direction, "wrong_direction", c::malformed,
     "a message type the sender's side never sends", std::nullopt},
    {unexpected_message, "unexpected_message", c::malformed,
     "a valid message not allowed in this state", std::nullopt},
    {binary_frame, "binary_frame", c::malformed, "a binary WebSocket frame",
     close_code::unsupported_data},
    {auth_required, "auth_required", c::unauthorized, "authentication required", std::nullopt},
    {invalid_credentials, "invalid_credentials", c::unauthorized,
     "wrong username, password or TOTP code", std::nullopt},
    {totp_required, "totp_required", c::unauthorized, "a TOTP code is required", std::nullopt},
    {invalid_token, "invalid_token", c::unauthorized, "unknown, expired or revoked token",
     std::nullopt},
    {invalid_signature, "invalid_signature", c::unauthorized, "a signature does not verify",
     std::nullopt},
    {forbidden, "forbidden", c::unauthorized, "not allowed for this role or participant",
     std::nullopt},
    {account_locked, "account_locked", c::unauthorized, "too many failed logins", std::nullopt},
    {frame_too_large, "frame_too_large", c::limit_exceeded, "the frame exceeds 65,536 bytes",
     close_code::message_too_big},
    {too_long, "too_long", c::limit_exceeded, "a string or byte string over its limit",
     std::nullopt},
    {too_deep, "too_deep", c::limit_exceeded, "JSON nesting too deep", std::nullopt},
    {out_of_range, "out_of_range", c::limit_exceeded, "an integer outside its range",
     std::nullopt},
    {too_many_items, "too_many_items", c::limit_exceeded, "an array or frame with too many items",
     std::nullopt},
    {rate_limited, "rate_limited", c::limit_exceeded, "too many requests", std::nullopt},
    {queue_full, "queue_full", c::limit_exceeded, "the queue is full", std::nullopt},
    {unsupported_version, "unsupported_version", c::unsupported_version,
     "no common protocol version", close_code::unsupported_version},
    {already_in_queue, "already_in_queue", c::conflict, "already waiting", std::nullopt},
    {already_taken, "already_taken", c::conflict, "another worker took it first", std::nullopt},
    {version_conflict, "version_conflict", c::conflict, "the backup version changed",
     std::nullopt},
    {conversation_ended, "conversation_ended", c::conflict, "the conversation is over",
     std::nullopt},
    {off_shift, "off_shift", c::conflict, "the worker is off shift", std::nullopt},
    {sequence_ahead, "sequence_ahead", c::conflict, "a sequence number from the future",
     std::nullopt},
    {not_in_queue, "not_in_queue", c::conflict, "not waiting in the queue", std::nullopt},
    {conversation_not_found, "conversation_not_found", c::not_found, "no such conversation",
     std::nullopt},
    {worker_not_found, "worker_not_found", c::not_found, "no such worker", std::nullopt},
    {ticket_not_found, "ticket_not_found", c::not_found, "no such waiting beneficiary",
     std::nullopt},
    {inbox_not_found, "inbox_not_found", c::not_found, "no such inbox entry", std::nullopt},
    {backup_not_found, "backup_not_found", c::not_found, "no such backup", std::nullopt},
    {keys_not_found, "keys_not_found", c::not_found, "no prekey bundle published", std::nullopt},
    {queue_empty, "queue_empty", c::not_found, "nobody is waiting", std::nullopt},
    {permanence_closed, "permanence_closed", c::unavailable, "no shift is running",
     std::nullopt},
    {server_busy, "server_busy", c::unavailable, "the server is overloaded", std::nullopt},
    {shutting_down, "shutting_down", c::unavailable, "the server is stopping", std::nullopt},
    {internal_error, "internal_error", c::unavailable, "internal server error", std::nullopt},
});

constexpr auto close_codes = std::to_array<close_code_info>({
    {close_code::normal, "normal", "logout or normal end"},
    {close_code::going_away, "going_away", "server shutdown"},
    {close_code::unsupported_data, "unsupported_data", "a binary frame was received"},
    {close_code::invalid_payload, "invalid_payload", "a text frame that is not UTF-8"},
    {close_code::policy_violation, "policy_violation", "repeated protocol errors or abuse"},
    {close_code::message_too_big, "message_too_big", "a frame over 65,536 bytes"},
    {close_code::internal_error, "internal_error", "unexpected server failure"},
    {close_code::try_again_later, "try_again_later", "slow consumer or overload"},
    {close_code::auth_timeout, "auth_timeout", "not authenticated in time"},
    {close_code::unsupported_version, "unsupported_version", "no common protocol version"},
    {close_code::auth_failed, "auth_failed", "too many failed authentication attempts"},
    {close_code::session_revoked, "session_revoked", "the session token was revoked"},
    {close_code::shift_ended, "shift_ended", "the worker's shift ended"},
    {close_code::replaced, "replaced", "a newer connection of the same device took over"},
});

static_assert(std::is_sorted(errors.begin(), errors.end(),
                             [](const error_info& a, const error_info& b) {
                               return a.code < b.code;
                             }),
              "the error table is in numeric order (find_error searches it)");

static_assert([] {
  for (const auto& row : errors) {
    if (static_cast<int>(row.condition) != static_cast<int>(row.code) / 100) {
      return false;
    }
  }
  return true;
}(), "a code's hundreds are its condition");

class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "relais.protocol"; }

  std::string message(int ev) const override {
    const error_info* row = find_error(ev);
    return row != nullptr ? std::string(row->meaning) : "unknown relais.protocol error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    const error_info* row = find_error(ev);
    if (row == nullptr) {
      return {ev, *this};
    }
    return make_error_condition(row->condition);
  }
};

class condition_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "relais.protocol.condition"; }

  std::string message(int ev) const override {
    switch (static_cast<condition>(ev)) {
      case condition::malformed: return "malformed message";
      case condition::unauthorized: return "unauthorized";
      case condition::limit_exceeded: return "limit exceeded";
      case condition::unsupported_version: return "unsupported protocol version";
      case condition::conflict: return "conflict";
      case condition::not_found: return "not found";
      case condition::unavailable: return "unavailable";
    }
    return "unknown relais.protocol condition";
  }
};

}  // namespace

std::span<const error_info> error_table() noexcept { return errors; }

std::span<const close_code_info> close_code_table() noexcept { return close_codes; }

const error_info* find_error(std::int64_t code) noexcept {
  const auto* it = std::lower_bound(
      errors.begin(), errors.end(), code,
      [](const error_info& row, std::int64_t v) { return static_cast<std::int64_t>(row.code) < v; });
  if (it == errors.end() || static_cast<std::int64_t>(it->code) != code) {
    return nullptr;
  }
  return &*it;
}

const error_info* find_error(std::string_view error_name) noexcept {
  const auto* it = std::find_if(errors.begin(), errors.end(),
                                [&](const error_info& row) { return row.name == error_name; });
  return it == errors.end() ? nullptr : &*it;
}

const error_info& info(error e) noexcept {
  const error_info* row = find_error(static_cast<std::int64_t>(e));
  // Every enumerator has a row (checked by the tests); an invalid cast falls back safely.
  return row != nullptr ? *row : errors.back();
}

std::string_view name(error e) noexcept { return info(e).name; }

std::string_view name(close_code c) noexcept {
  for (const auto& row : close_codes) {
    if (row.code == c) {
      return row.name;
    }
  }
  return "unknown";
}

condition condition_of(error e) noexcept { return info(e).condition; }

const std::error_category& error_category() noexcept {
  static const error_category_impl instance;
  return instance;
}

const std::error_category& condition_category() noexcept {
  static const condition_category_impl instance;
  return instance;
}

std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

std::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

}  // namespace relais::protocol
