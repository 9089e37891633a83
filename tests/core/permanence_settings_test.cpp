#include "relais/core/permanence_settings.hpp"

#include <gtest/gtest.h>

#include "relais/protocol/limits.hpp"

namespace relais::core {
namespace {

std::vector<std::string> numbers(const std::vector<emergency_number>& list) {
  std::vector<std::string> out;
  for (const auto& n : list) out.push_back(n.number);
  return out;
}

// Every entry fits the wire's limits (PROTOCOL.md §6.4), so a status built from the defaults
// is always valid.
void expect_within_protocol_limits(const std::vector<emergency_number>& list) {
  EXPECT_LE(list.size(), protocol::limits::max_emergency_numbers);
  for (const auto& n : list) {
    EXPECT_FALSE(n.number.empty());
    EXPECT_LE(n.number.size(), protocol::limits::max_phone_number_bytes) << n.number;
    EXPECT_FALSE(n.label_fr.empty()) << n.number;
    EXPECT_FALSE(n.label_en.empty()) << n.number;
    EXPECT_LE(n.label_fr.size(), protocol::limits::max_emergency_label_bytes) << n.number;
    EXPECT_LE(n.label_en.size(), protocol::limits::max_emergency_label_bytes) << n.number;
    for (const auto* text : {&n.number, &n.label_fr, &n.label_en}) {
      for (char ch : *text) EXPECT_FALSE(static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) << *text;
    }
  }
}

TEST(DefaultEmergencyNumbers, France) {
  const auto fr = default_emergency_numbers("FR");
  EXPECT_EQ(numbers(fr), (std::vector<std::string>{"112", "15", "3114", "119", "3919", "114"}));
  expect_within_protocol_limits(fr);
  for (const auto& n : fr) EXPECT_EQ(n.sms, n.number == "114") << n.number;  // 114 is by SMS only
  EXPECT_EQ(fr[2].label_fr, "Prévention du suicide, 24h/24");
  EXPECT_EQ(fr[2].label_en, "Suicide prevention, 24/7");
}

TEST(DefaultEmergencyNumbers, Belgium) {
  const auto be = default_emergency_numbers("BE");
  EXPECT_EQ(numbers(be), (std::vector<std::string>{"112", "107", "0800 32 123"}));
  expect_within_protocol_limits(be);
  for (const auto& n : be) EXPECT_FALSE(n.sms) << n.number;
  EXPECT_EQ(be[2].label_en, "Suicide prevention centre");
}

TEST(DefaultEmergencyNumbers, OtherCountriesHaveNone) {
  EXPECT_TRUE(default_emergency_numbers("").empty());
  EXPECT_TRUE(default_emergency_numbers("fr").empty());  // codes are upper case, as in ISO 3166
  EXPECT_TRUE(default_emergency_numbers("CH").empty());
}

TEST(PermanenceSettings, DefaultsMatchTheConfigReference) {
  const permanence_settings s;
  EXPECT_EQ(s.on_call, nullptr);
  EXPECT_TRUE(s.emergency_numbers.empty());
  EXPECT_EQ(s.queue_max, 200u);
  EXPECT_EQ(s.grace, std::chrono::seconds(120));
  EXPECT_EQ(s.long_wait, std::chrono::minutes(20));
  EXPECT_EQ(s.wait_limit, std::chrono::minutes(90));
  EXPECT_EQ(s.handover, shift_end_handover::colleague);
  EXPECT_EQ(s.default_capacity, 1);
}

}  // namespace
}  // namespace relais::core
