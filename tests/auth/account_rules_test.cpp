#include "relais/auth/account_rules.hpp"

#include <gtest/gtest.h>

#include "relais/auth/error.hpp"

namespace {

using relais::auth::check_display_name;
using relais::auth::check_new_password;
using relais::auth::check_username;
using relais::auth::errc;

TEST(AccountRules, AcceptsUsernamesOfTheAllowedCharacters) {
  EXPECT_FALSE(check_username("camille"));
  EXPECT_FALSE(check_username("a"));
  EXPECT_FALSE(check_username("j.dupont-2_x"));
  EXPECT_FALSE(check_username(std::string(64, 'z')));
}

TEST(AccountRules, RefusesUsernamesOutsideTheRules) {
  EXPECT_EQ(check_username(""), errc::too_short);
  EXPECT_EQ(check_username(std::string(65, 'z')), errc::too_long);
  for (const char* bad : {"Camille", "ca mille", "camille@x", "caméra", "a/b", "a:b", "tab\t"}) {
    EXPECT_EQ(check_username(bad), errc::invalid_input) << bad;
  }
  EXPECT_EQ(check_username(std::string("a\0b", 3)), errc::invalid_input);
}

TEST(AccountRules, AcceptsDisplayNamesInUtf8) {
  EXPECT_FALSE(check_display_name("Camille"));
  EXPECT_FALSE(check_display_name("Hélène Dupont-Moreau"));
  EXPECT_FALSE(check_display_name("\xe6\x97\xa5\xe6\x9c\xac"));        // 日本
  EXPECT_FALSE(check_display_name("\xf0\x9f\x99\x82"));                // U+1F642
  EXPECT_FALSE(check_display_name(std::string(64, 'x')));
}

TEST(AccountRules, RefusesDisplayNamesOutsideTheRules) {
  EXPECT_EQ(check_display_name(""), errc::too_short);
  EXPECT_EQ(check_display_name(std::string(65, 'x')), errc::too_long);
  // 32 two-byte characters are 64 bytes; 33 are too many.
  std::string e_acute;
  for (int i = 0; i < 33; ++i) e_acute += "\xc3\xa9";
  EXPECT_EQ(check_display_name(e_acute), errc::too_long);
  for (const std::string& bad : {
           std::string("a\nb"), std::string("a\tb"), std::string("a\x7f"), std::string("a\0b", 3),
           std::string("\xc2\x85"),          // NEL, a C1 control
           std::string("\xc3"),              // truncated sequence
           std::string("\xc3\x28"),          // bad continuation
           std::string("\xc0\xaf"),          // overlong '/'
           std::string("\xed\xa0\x80"),      // surrogate
           std::string("\xf4\x90\x80\x80"),  // beyond U+10FFFF
           std::string("\xff"),              // never valid
           std::string("\x80"),              // lone continuation
       }) {
    EXPECT_EQ(check_display_name(bad), errc::invalid_input) << bad;
  }
}

TEST(AccountRules, BoundsNewPasswords) {
  EXPECT_EQ(check_new_password(std::string(11, 'p')), errc::too_short);
  EXPECT_FALSE(check_new_password(std::string(12, 'p')));
  EXPECT_FALSE(check_new_password(std::string(1024, 'p')));
  EXPECT_EQ(check_new_password(std::string(1025, 'p')), errc::too_long);
}

}  // namespace
