#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace relais::crypto {

/// Owned non-secret bytes (public keys, wire messages, ciphertexts).
using bytes = std::vector<std::uint8_t>;
/// A read-only view of bytes.
using bytes_view = std::span<const std::uint8_t>;
/// A 32-byte public value (X25519 or Ed25519 public key, hash).
using public_key = std::array<std::uint8_t, 32>;

/// Views an ASCII label (no terminator) as bytes.
[[nodiscard]] inline bytes_view label_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline void append(bytes& out, bytes_view in) { out.insert(out.end(), in.begin(), in.end()); }

inline void append_u32be(bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}

inline void append_u64be(bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}

[[nodiscard]] inline std::uint32_t load_u32be(bytes_view in) noexcept {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

[[nodiscard]] inline std::uint64_t load_u64be(bytes_view in) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = (v << 8) | in[i];
  }
  return v;
}

/// A bounds-checked forward reader over peer bytes: every take fails (and keeps failing) once
/// the input is exhausted, so parsers check `ok()` once at the end of a fixed layout.
class byte_reader {
 public:
  explicit byte_reader(bytes_view in) noexcept : in_(in) {}

  [[nodiscard]] bytes_view take(std::size_t n) noexcept {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    bytes_view out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  template <std::size_t N>
  [[nodiscard]] std::array<std::uint8_t, N> take_array() noexcept {
    std::array<std::uint8_t, N> out{};
    bytes_view v = take(N);
    if (ok_) {
      std::copy(v.begin(), v.end(), out.begin());
    }
    return out;
  }
  [[nodiscard]] std::uint8_t take_u8() noexcept {
    bytes_view v = take(1);
    return ok_ ? v[0] : 0;
  }
  [[nodiscard]] std::uint16_t take_u16be() noexcept {
    bytes_view v = take(2);
    return ok_ ? static_cast<std::uint16_t>((v[0] << 8) | v[1]) : 0;
  }
  [[nodiscard]] std::uint32_t take_u32be() noexcept {
    bytes_view v = take(4);
    return ok_ ? load_u32be(v) : 0;
  }
  [[nodiscard]] std::uint64_t take_u64be() noexcept {
    bytes_view v = take(8);
    return ok_ ? load_u64be(v) : 0;
  }
  [[nodiscard]] bytes_view rest() noexcept { return take(in_.size() - pos_); }
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == in_.size(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }

 private:
  bytes_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace relais::crypto
