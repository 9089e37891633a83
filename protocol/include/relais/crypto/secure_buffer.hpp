#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "relais/crypto/bytes.hpp"

namespace relais::crypto {

/// A variable-length secret held in sodium_malloc'd memory (guard pages, mlock'd, zeroed on
/// free); movable, never copied, so that a secret has exactly one owner.
class secure_buffer {
 public:
  secure_buffer() noexcept = default;
  /// Allocates `size` zeroed bytes; throws std::bad_alloc if sodium_malloc fails (a broken
  /// invariant of the process, not peer input).
  explicit secure_buffer(std::size_t size);
  /// Allocates and copies `data` in.
  explicit secure_buffer(bytes_view data);
  ~secure_buffer();
  secure_buffer(const secure_buffer&) = delete;
  secure_buffer& operator=(const secure_buffer&) = delete;
  secure_buffer(secure_buffer&& other) noexcept;
  secure_buffer& operator=(secure_buffer&& other) noexcept;

  [[nodiscard]] std::uint8_t* data() noexcept { return data_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] bytes_view view() const noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<std::uint8_t> span() noexcept { return {data_, size_}; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A 32-byte secret (X25519 secret key, chain, root or message key) stored inline and zeroed
/// with sodium_memzero when destroyed or overwritten. Copyable on purpose: the ratchet's
/// transactional decrypt works on a copy of the session; each copy zeroes itself. Session state
/// holds thousands of these (skipped keys), which is why they are not each sodium_malloc'd
/// (three pages and an mlock per key would exhaust RLIMIT_MEMLOCK).
class secret32 {
 public:
  secret32() noexcept = default;
  explicit secret32(bytes_view in) noexcept;
  ~secret32();
  secret32(const secret32& other) noexcept = default;
  secret32& operator=(const secret32& other) noexcept = default;

  [[nodiscard]] std::uint8_t* data() noexcept { return bytes_.data(); }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return bytes_.data(); }
  [[nodiscard]] static constexpr std::size_t size() noexcept { return 32; }
  [[nodiscard]] bytes_view view() const noexcept { return {bytes_.data(), bytes_.size()}; }
  [[nodiscard]] std::span<std::uint8_t, 32> span() noexcept { return bytes_; }
  /// Constant-time comparison (sodium_memcmp).
  [[nodiscard]] bool equals(const secret32& other) const noexcept;

 private:
  std::array<std::uint8_t, 32> bytes_{};
};

/// Zeroes a byte vector's contents (sodium_memzero) before it is released.
void wipe(bytes& b) noexcept;

}  // namespace relais::crypto
