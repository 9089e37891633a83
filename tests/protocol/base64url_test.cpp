#include "relais/protocol/base64url.hpp"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "relais/protocol/error.hpp"

namespace relais::protocol {
namespace {

struct vector_case {
  std::string_view bytes;
  std::string_view text;
};

// RFC 4648 §10 test vectors, with the padding removed (our variant has none).
constexpr std::array<vector_case, 7> rfc4648{{{"", ""},
                                              {"f", "Zg"},
                                              {"fo", "Zm8"},
                                              {"foo", "Zm9v"},
                                              {"foob", "Zm9vYg"},
                                              {"fooba", "Zm9vYmE"},
                                              {"foobar", "Zm9vYmFy"}}};

TEST(Base64url, EncodesRfc4648Vectors) {
  for (const auto& v : rfc4648) {
    EXPECT_EQ(base64url_encode(v.bytes), v.text);
  }
}

TEST(Base64url, DecodesRfc4648Vectors) {
  for (const auto& v : rfc4648) {
    std::error_code ec = error::internal_error;
    EXPECT_EQ(base64url_decode(v.text, ec), v.bytes);
    EXPECT_FALSE(ec);
    EXPECT_EQ(base64url_decoded_size(v.text), v.bytes.size());
  }
}

TEST(Base64url, UsesTheUrlSafeAlphabet) {
  const std::array<std::uint8_t, 3> bytes{0xFB, 0xFF, 0xBF};
  EXPECT_EQ(base64url_encode(bytes), "-_-_");  // standard base64: "+/+/"
  const std::array<std::uint8_t, 2> two{0xFB, 0xFF};
  EXPECT_EQ(base64url_encode(two), "-_8");  // standard base64: "+/8="
}

TEST(Base64url, RoundTripsEveryByteValueAtEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
    const std::string text = base64url_encode(bytes);
    EXPECT_TRUE(base64url_valid(text));
    std::error_code ec;
    EXPECT_EQ(base64url_decode(text, ec), bytes);
    EXPECT_FALSE(ec);
  }
}

void expect_invalid(std::string_view text) {
  SCOPED_TRACE(std::string(text));
  EXPECT_FALSE(base64url_valid(text));
  std::error_code ec;
  EXPECT_EQ(base64url_decode(text, ec), "");
  EXPECT_EQ(ec, error::invalid_base64);
}

TEST(Base64url, RejectsPadding) {
  expect_invalid("Zg==");
  expect_invalid("Zm8=");
}

TEST(Base64url, RejectsTheStandardAlphabet) {
  expect_invalid("+/8");
  expect_invalid("ab/c");
}

TEST(Base64url, RejectsWhitespaceAndOtherBytes) {
  expect_invalid("Zm9v\n");
  expect_invalid("Zm 9v");
  expect_invalid(std::string_view("Zm\0v", 4));
  expect_invalid("Zm9\xC3\xA9");
}

TEST(Base64url, RejectsLengthOneModuloFour) {
  expect_invalid("Z");
  expect_invalid("Zm9vY");
  EXPECT_EQ(base64url_decoded_size("Zm9vY"), SIZE_MAX);
}

TEST(Base64url, RejectsNonZeroUnusedBits) {
  expect_invalid("Zh");   // "Zg" is the canonical form of "f"
  expect_invalid("Zm9");  // "Zm8" is the canonical form of "fo"
  expect_invalid("Zm9vYh");
}

TEST(Base64url, DecodesIntoAFixedBuffer) {
  std::array<std::uint8_t, 3> out{};
  EXPECT_FALSE(base64url_decode("Zm9v", out));
  EXPECT_EQ(out[0], 'f');
  EXPECT_EQ(out[2], 'o');
  std::array<std::uint8_t, 2> small{1, 2};
  EXPECT_EQ(base64url_decode("Zm9v", small), error::invalid_base64);
  EXPECT_EQ(small[0], 0);  // zeroed on failure
  std::array<std::uint8_t, 2> two{};
  EXPECT_EQ(base64url_decode("Zm9", two), error::invalid_base64);
}

TEST(EncodedBytes, KeepsCanonicalText) {
  const encoded_bytes b = encoded_bytes::from_bytes(std::string_view("foobar"));
  EXPECT_EQ(b.text(), "Zm9vYmFy");
  EXPECT_EQ(b.size(), 6U);
  EXPECT_EQ(b.decode(), "foobar");
  std::error_code ec;
  const encoded_bytes c = encoded_bytes::from_text("Zm9vYmFy", ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(b, c);
  std::array<std::uint8_t, 6> out{};
  EXPECT_FALSE(c.decode_into(out));
  EXPECT_EQ(out[5], 'r');
  EXPECT_TRUE(encoded_bytes{}.empty());
}

TEST(EncodedBytes, RefusesInvalidText) {
  std::error_code ec;
  const encoded_bytes b = encoded_bytes::from_text("Zg==", ec);
  EXPECT_EQ(ec, error::invalid_base64);
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace relais::protocol
