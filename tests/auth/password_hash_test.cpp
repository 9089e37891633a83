#include "relais/auth/password_hash.hpp"

#include <gtest/gtest.h>

#include "relais/auth/error.hpp"

namespace {

using relais::auth::argon2_params;
using relais::auth::errc;
using relais::auth::hash_password;
using relais::auth::is_well_formed_hash;
using relais::auth::needs_rehash;
using relais::auth::valid_params;
using relais::auth::verify_password_now;

std::string cheap_hash(std::string_view password) {
  std::error_code ec;
  auto h = hash_password(password, argon2_params::cheapest(), ec);
  EXPECT_FALSE(ec);
  return h;
}

TEST(PasswordHash, DefaultsAreArgon2idInteractive) {
  argon2_params p;
  EXPECT_EQ(p.opslimit, 2u);
  EXPECT_EQ(p.memlimit, 64u * 1024u * 1024u);
  EXPECT_TRUE(valid_params(p));
}

TEST(PasswordHash, HashesAsEncodedArgon2idWithItsParameters) {
  auto h = cheap_hash("correct horse battery staple");
  EXPECT_EQ(h.rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << h;
  EXPECT_TRUE(is_well_formed_hash(h));
  // A fresh salt each time.
  EXPECT_NE(h, cheap_hash("correct horse battery staple"));
}

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
  auto h = cheap_hash("correct horse battery staple");
  EXPECT_TRUE(verify_password_now(h, "correct horse battery staple"));
  EXPECT_FALSE(verify_password_now(h, "correct horse battery stapl"));
  EXPECT_FALSE(verify_password_now(h, "correct horse battery staple "));
  EXPECT_FALSE(verify_password_now(h, ""));
}

TEST(PasswordHash, HashesAndVerifiesAnEmptyPassword) {
  auto h = cheap_hash("");
  EXPECT_TRUE(verify_password_now(h, ""));
  EXPECT_FALSE(verify_password_now(h, "x"));
}

TEST(PasswordHash, TreatsMalformedHashesAsNotVerifiable) {
  auto good = cheap_hash("pw");
  std::string tampered_salt = good;
  tampered_salt[good.rfind('$') - 2] = '!';
  const std::string cases[] = {
      "",
      "not a hash",
      good.substr(0, good.size() / 2),                       // truncated
      "$argon2i$" + good.substr(std::string("$argon2id$").size()),  // another algorithm
      good + std::string(1, '\0') + "x",                     // embedded NUL
      tampered_salt,                                         // not base64 any more
      std::string(200, 'a'),                                 // longer than libsodium's buffer
      "$argon2id$v=19$m=8,t=1,p=1$$",                        // no salt, no hash
  };
  for (const auto& bad : cases) {
    EXPECT_FALSE(is_well_formed_hash(bad)) << bad;
    EXPECT_FALSE(verify_password_now(bad, "pw")) << bad;
    EXPECT_TRUE(needs_rehash(bad, argon2_params::cheapest())) << bad;
  }
}

TEST(PasswordHash, NeedsRehashWhenParametersDiffer) {
  auto h = cheap_hash("pw");
  EXPECT_FALSE(needs_rehash(h, argon2_params::cheapest()));
  EXPECT_TRUE(needs_rehash(h, argon2_params{}));
  auto more_passes = argon2_params::cheapest();
  more_passes.opslimit += 1;
  EXPECT_TRUE(needs_rehash(h, more_passes));
}

TEST(PasswordHash, RefusesParametersOutsideLibsodiumsBounds) {
  std::error_code ec;
  EXPECT_FALSE(valid_params({0, 64u * 1024u * 1024u}));
  EXPECT_FALSE(valid_params({2, 1024}));
  EXPECT_TRUE(hash_password("pw", {0, 8192}, ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
}

}  // namespace
