#include "relais/auth/base32.hpp"

#include <gtest/gtest.h>

#include "relais/auth/error.hpp"

namespace {

using relais::auth::base32_decode;
using relais::auth::base32_encode;
using relais::auth::errc;

struct vector_case {
  const char* data;
  const char* text;
};

// RFC 4648 §10, with the '=' padding removed.
constexpr vector_case rfc4648[] = {
    {"", ""},           {"f", "MY"},           {"fo", "MZXQ"},         {"foo", "MZXW6"},
    {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
};

TEST(Base32, EncodesTheRfc4648VectorsWithoutPadding) {
  for (const auto& v : rfc4648) EXPECT_EQ(base32_encode(v.data), v.text) << v.data;
}

TEST(Base32, DecodesTheRfc4648Vectors) {
  for (const auto& v : rfc4648) {
    std::error_code ec;
    EXPECT_EQ(base32_decode(v.text, ec), v.data) << v.text;
    EXPECT_FALSE(ec) << v.text;
  }
}

TEST(Base32, RoundTripsEveryByteValueAndLength) {
  std::string data;
  for (int i = 0; i < 256; ++i) {
    data.push_back(static_cast<char>(i));
    std::error_code ec;
    auto text = base32_encode(data);
    EXPECT_EQ(text.size(), (data.size() * 8 + 4) / 5);
    EXPECT_EQ(base32_decode(text, ec), data);
    ASSERT_FALSE(ec) << i;
  }
}

TEST(Base32, EncodesATwentyByteSecretInThirtyTwoCharacters) {
  EXPECT_EQ(base32_encode(std::string(20, '\xff')), std::string(32, '7'));
  EXPECT_EQ(base32_encode(std::string(20, '\0')), std::string(32, 'A'));
}

TEST(Base32, RefusesCharactersOutsideTheAlphabet) {
  for (const char* bad : {"mzxw6", "MZXW1", "MZXW0", "MZXW8", "MZ=W6", "MZXW6===", "MZ W6", "MZ\xc3\x89W6"}) {
    std::error_code ec;
    EXPECT_TRUE(base32_decode(bad, ec).empty()) << bad;
    EXPECT_EQ(ec, errc::invalid_input) << bad;
  }
}

TEST(Base32, RefusesImpossibleLengths) {
  for (const char* bad : {"M", "MZX", "MZXW6Y", "MZXW6YTBM", "MZXW6YTBOIM"}) {
    std::error_code ec;
    EXPECT_TRUE(base32_decode(bad, ec).empty()) << bad;
    EXPECT_EQ(ec, errc::invalid_input) << bad;
  }
}

TEST(Base32, RefusesNonCanonicalTrailingBits) {
  // "MY" is "f"; "MZ" has a 1 in the two unused bits of its last character.
  std::error_code ec;
  EXPECT_TRUE(base32_decode("MZ", ec).empty());
  EXPECT_EQ(ec, errc::invalid_input);
  EXPECT_EQ(base32_decode("MY", ec), "f");
  EXPECT_FALSE(ec);
}

}  // namespace
