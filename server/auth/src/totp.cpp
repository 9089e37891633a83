#include "relais/auth/totp.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>

#include "relais/auth/error.hpp"

namespace relais::auth {

namespace {

constexpr int min_digits = 6;  // RFC 4226 §5.3: at least 6 digits

bool all_digits(std::string_view s) noexcept {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string hotp(std::string_view key, std::uint64_t counter, int digits, std::error_code& ec) {
  ec.clear();
  if (key.empty() || key.size() > static_cast<std::size_t>(INT_MAX) || digits < min_digits ||
      digits > limits::max_hotp_digits) {
    ec = errc::invalid_input;
    return {};
  }
  std::array<unsigned char, 8> message{};
  for (std::size_t i = 0; i < message.size(); ++i) {
    message[message.size() - 1 - i] = static_cast<unsigned char>(counter >> (8 * i));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), message.data(), message.size(), mac.data(),
           &mac_len) == nullptr ||
      mac_len != 20) {
    ec = errc::invalid_input;
    return {};
  }
  // Dynamic truncation (RFC 4226 §5.3): 31 bits from the offset named by the last nibble.
  std::size_t offset = mac[19] & 0x0FU;
  std::uint32_t value = (std::uint32_t{mac[offset]} & 0x7FU) << 24 | std::uint32_t{mac[offset + 1]} << 16 |
                        std::uint32_t{mac[offset + 2]} << 8 | std::uint32_t{mac[offset + 3]};
  OPENSSL_cleanse(mac.data(), mac.size());
  std::string code(static_cast<std::size_t>(digits), '0');
  for (auto it = code.rbegin(); it != code.rend(); ++it) {
    *it = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return code;
}

std::optional<std::int64_t> totp_step(std::int64_t unix_seconds, std::int64_t period) noexcept {
  if (unix_seconds < 0 || period <= 0) return std::nullopt;
  return unix_seconds / period;
}

std::string totp(std::string_view key, std::int64_t unix_seconds, int digits, std::error_code& ec,
                 std::int64_t period) {
  auto step = totp_step(unix_seconds, period);
  if (!step) {
    ec = errc::invalid_input;
    return {};
  }
  return hotp(key, static_cast<std::uint64_t>(*step), digits, ec);
}

std::optional<std::int64_t> match_totp(std::string_view key, std::string_view code, std::int64_t unix_seconds,
                                       const totp_params& params) {
  if (key.empty() || params.window < 0 || params.window > limits::max_totp_window_steps ||
      code.size() != static_cast<std::size_t>(params.digits) || !all_digits(code)) {
    return std::nullopt;
  }
  auto now = totp_step(unix_seconds, params.period);
  if (!now) return std::nullopt;
  // The current step first (the usual case), then older before newer at each distance; every
  // candidate is computed and compared, a match does not stop the loop.
  std::optional<std::int64_t> found;
  auto check = [&](std::int64_t step) {
    if (step < 0) return;
    std::error_code ec;
    auto expected = hotp(key, static_cast<std::uint64_t>(step), params.digits, ec);
    if (ec) return;
    bool equal = CRYPTO_memcmp(expected.data(), code.data(), code.size()) == 0;
    OPENSSL_cleanse(expected.data(), expected.size());
    if (equal && !found) found = step;
  };
  check(*now);
  for (std::int64_t distance = 1; distance <= params.window; ++distance) {
    check(*now - distance);
    check(*now + distance);
  }
  return found;
}

}  // namespace relais::auth
