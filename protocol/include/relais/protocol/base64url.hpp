#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

// Base64url without padding (RFC 4648 §5), the variant of libsodium's
// sodium_base64_VARIANT_URLSAFE_NO_PADDING and libsodium.js's default. Decoding is strict and
// canonical: no '=', no whitespace, no character outside the alphabet, no length of 1 mod 4,
// no non-zero unused bits, so that every byte string has exactly one text form
// (PROTOCOL.md §3). Written here because relais_protocol must not depend on libsodium.

namespace relais::protocol {

/// Encodes octets as unpadded base64url.
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] std::string base64url_encode(std::string_view bytes);

/// Number of octets `text` decodes to, or SIZE_MAX if its length is impossible (1 mod 4).
[[nodiscard]] std::size_t base64url_decoded_size(std::string_view text) noexcept;

/// True if `text` is canonical unpadded base64url.
[[nodiscard]] bool base64url_valid(std::string_view text) noexcept;

/// Decodes canonical unpadded base64url into octets (in a std::string, the project's byte
/// container, see relais::core::bytes); on failure sets `ec` to error::invalid_base64 and
/// returns an empty string.
[[nodiscard]] std::string base64url_decode(std::string_view text, std::error_code& ec);

/// Decodes into `out`, which must have exactly base64url_decoded_size(text) octets (for
/// fixed-size keys); error::invalid_base64 otherwise or on bad input, `out` then zeroed.
[[nodiscard]] std::error_code base64url_decode(std::string_view text,
                                               std::span<std::uint8_t> out) noexcept;

/// Octets carried as canonical unpadded base64url text (keys, signatures, ciphertexts).
/// Invariant: text() is always valid, so encoding it needs no escaping and no re-encoding;
/// the server can relay or store the text as is and decode only what it must verify.
class encoded_bytes {
 public:
  /// Zero octets (empty text).
  encoded_bytes() = default;

  /// Encodes `bytes`.
  [[nodiscard]] static encoded_bytes from_bytes(std::span<const std::uint8_t> bytes);
  [[nodiscard]] static encoded_bytes from_bytes(std::string_view bytes);

  /// Validates `text`; on failure sets `ec` (error::invalid_base64) and returns empty.
  [[nodiscard]] static encoded_bytes from_text(std::string_view text, std::error_code& ec);

  /// The base64url text.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

  /// Number of octets it stands for.
  [[nodiscard]] std::size_t size() const noexcept { return base64url_decoded_size(text_); }

  [[nodiscard]] bool empty() const noexcept { return text_.empty(); }

  /// The octets (decoding cannot fail: the text is valid by construction).
  [[nodiscard]] std::string decode() const;

  /// Decodes into a buffer of exactly size() octets; invalid_base64 if the size differs.
  [[nodiscard]] std::error_code decode_into(std::span<std::uint8_t> out) const noexcept;

  friend bool operator==(const encoded_bytes&, const encoded_bytes&) = default;

 private:
  explicit encoded_bytes(std::string text) noexcept : text_(std::move(text)) {}

  std::string text_;
};

}  // namespace relais::protocol
