#include "relais/auth/otpauth.hpp"

#include <sodium.h>

#include "relais/auth/base32.hpp"
#include "relais/auth/error.hpp"
#include "relais/auth/limits.hpp"

namespace relais::auth {

namespace {

bool unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

std::string percent_encode(std::string_view text) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (unreserved(c)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(hex[b >> 4U]);
      out.push_back(hex[b & 0x0FU]);
    }
  }
  return out;
}

std::string make_otpauth_uri(std::string_view secret, std::string_view account, std::string_view issuer,
                             std::error_code& ec, const totp_params& params) {
  ec.clear();
  if (secret.empty() || account.empty() || issuer.empty()) {
    ec = errc::invalid_input;
    return {};
  }
  // Check the size before building: an oversized issuer or account costs no allocation. Each
  // byte becomes at most 3, the base32 secret 8 characters per 5 bytes.
  if (issuer.size() > limits::max_otpauth_uri_bytes || account.size() > limits::max_otpauth_uri_bytes ||
      secret.size() > limits::max_otpauth_uri_bytes) {
    ec = errc::too_long;
    return {};
  }
  auto encoded_issuer = percent_encode(issuer);
  std::string uri = "otpauth://totp/";
  uri += encoded_issuer;
  uri += ':';
  uri += percent_encode(account);
  uri += "?secret=";
  auto encoded_secret = base32_encode(secret);
  uri += encoded_secret;
  sodium_memzero(encoded_secret.data(), encoded_secret.size());
  uri += "&issuer=";
  uri += encoded_issuer;
  uri += "&algorithm=SHA1&digits=";
  uri += std::to_string(params.digits);
  uri += "&period=";
  uri += std::to_string(params.period);
  if (uri.size() > limits::max_otpauth_uri_bytes) {
    sodium_memzero(uri.data(), uri.size());  // it holds the secret
    ec = errc::too_long;
    return {};
  }
  return uri;
}

}  // namespace relais::auth
