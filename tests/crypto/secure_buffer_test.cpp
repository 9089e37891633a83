#include "relais/crypto/secure_buffer.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "test_util.hpp"

namespace relais::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<secure_buffer>, "a secret has one owner");
static_assert(!std::is_copy_assignable_v<secure_buffer>);
static_assert(std::is_nothrow_move_constructible_v<secure_buffer>);

TEST(SecureBuffer, HoldsAndMovesBytes) {
  secure_buffer a(test::bytes_of("secret"));
  ASSERT_EQ(a.size(), 6U);
  EXPECT_EQ(a.view()[0], 's');
  secure_buffer b(std::move(a));
  EXPECT_EQ(b.size(), 6U);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  secure_buffer c(3);
  EXPECT_EQ(c.view()[2], 0);
  c = std::move(b);
  EXPECT_EQ(c.size(), 6U);
}

TEST(Secret32, ComparesAndWipes) {
  const secret32 a(bytes(32, 1));
  secret32 b(bytes(32, 1));
  EXPECT_TRUE(a.equals(b));
  b.data()[31] = 2;
  EXPECT_FALSE(a.equals(b));
  bytes v(8, 0xFF);
  wipe(v);
  EXPECT_EQ(v, bytes(8, 0));
}

}  // namespace
}  // namespace relais::crypto
