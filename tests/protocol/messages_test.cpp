#include "relais/protocol/messages.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace relais::protocol {
namespace {

// Dotted lower case (STYLE.md §4): [a-z_]+ segments separated by single dots.
bool dotted_lower_case(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_.") == std::string_view::npos;
}

TEST(Messages, TypeNamesAreUniqueAndDottedLowerCase) {
  EXPECT_FALSE(dotted_lower_case("Conversation.send"));
  EXPECT_FALSE(dotted_lower_case("conversation..send"));
  std::set<std::string_view> seen;
  for (const std::string_view name : message_type_names()) {
    EXPECT_TRUE(dotted_lower_case(name)) << name;
    EXPECT_TRUE(seen.insert(name).second) << name;
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<message>);
}

TEST(Messages, OriginAndAccessAgree) {
  for (std::size_t i = 0; i < std::variant_size_v<message>; ++i) {
    message m;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((i == I ? (void)m.emplace<I>() : (void)0), ...);
    }(std::make_index_sequence<std::variant_size_v<message>>{});
    const origin o = origin_of(m);
    const access a = access_of(m);
    SCOPED_TRACE(std::string(type_name(m)));
    EXPECT_EQ(o == origin::server, a == access::server);
    EXPECT_EQ(a == access::handshake, type_name(m) == "hello");
    const std::string_view name = type_name(m);
    EXPECT_EQ(a == access::pre_auth,
              name == "auth.login" || name == "auth.resume" || name == "auth.beneficiary");
  }
}

TEST(Messages, RidCanBeReadAndSet) {
  message m = conversation_end{};
  EXPECT_EQ(rid_of(m), std::nullopt);
  set_rid(m, "abc");
  EXPECT_EQ(rid_of(m), "abc");
  EXPECT_EQ(std::get<conversation_end>(m).rid, "abc");
  set_rid(m, std::nullopt);
  EXPECT_EQ(rid_of(m), std::nullopt);
}

TEST(Messages, EnumsHaveWireNames) {
  EXPECT_EQ(wire_name(peer_role::beneficiary), "beneficiary");
  EXPECT_EQ(wire_name(availability_state::busy), "busy");
  EXPECT_EQ(wire_name(end_reason::shift_end), "shift_end");
  EXPECT_EQ(wire_name(backup_kind::keystore), "keystore");
  EXPECT_EQ(wire_name(static_cast<backup_kind>(9)), "");
}

TEST(Messages, StructsCompareByValue) {
  conversation_send a;
  a.conversation_id = 1;
  conversation_send b = a;
  EXPECT_EQ(a, b);
  b.client_msg_id = "x";
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace relais::protocol
