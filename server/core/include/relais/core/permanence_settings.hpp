#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "relais/core/clock.hpp"
#include "relais/core/schedule.hpp"

// The permanence's tunables ([permanence] in config/README.md), read once at start.

namespace relais::core {

/// A number shown to beneficiaries, above all while the permanence is closed.
struct emergency_number {
  std::string number;    ///< 1-32 bytes, as dialled ("112", "0800 32 123")
  std::string label_fr;  ///< 1-128 bytes
  std::string label_en;  ///< 1-128 bytes
  bool sms = false;      ///< reachable by SMS only (114 in France)
};

/// What happens to a worker's open conversations when her shift ends.
enum class shift_end_handover : std::uint8_t {
  colleague = 0,  ///< handed to a colleague on call when there is one, else ended
  end = 1,        ///< ended with reason shift_end
};

/// The defaults for a country code ("FR", "BE"): the numbers of issue 7, in the order shown
/// (112 first). Empty for others.
[[nodiscard]] std::vector<emergency_number> default_emergency_numbers(const std::string& country);

/// The permanence's configuration.
struct permanence_settings {
  std::shared_ptr<const schedule> on_call;           ///< null: no slot, manual shifts only
  std::vector<emergency_number> emergency_numbers;   ///< config fills the country's defaults
  std::optional<std::string> contribution_url;       ///< https:// URL (prix libre)
  bool show_workers_on_call = true;                  ///< false: only available/busy/closed
  std::size_t queue_max = 200;                       ///< waiting beneficiaries; past it queue_full
  duration grace = std::chrono::seconds(120);        ///< a dropped beneficiary keeps its place
  duration long_wait = std::chrono::minutes(20);     ///< then queue.inbox_offer long_wait
  duration wait_limit = std::chrono::minutes(90);    ///< then queue.timeout wait_limit
  duration closing_notice = std::chrono::minutes(10);  ///< queue.inbox_offer closing before the last shift ends
  duration default_handling_time = std::chrono::minutes(15);  ///< estimate seed before any handled conversation
  shift_end_handover handover = shift_end_handover::colleague;
  bool close_sessions_at_shift_end = true;           ///< 4004: the worker switches off
  bool auto_assign = false;                          ///< offer the next waiting beneficiary to a worker with spare capacity
  std::int32_t default_capacity = 1;                 ///< conversations at once for automatic assignment
};

}  // namespace relais::core
