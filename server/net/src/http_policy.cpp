#include "relais/net/http_policy.hpp"

#include <algorithm>

namespace relais::net {

std::vector<std::pair<std::string_view, std::string>> security_headers(cache_policy cache,
                                                                        long hsts_max_age_seconds) {
  std::vector<std::pair<std::string_view, std::string>> h;
  h.reserve(9);
  if (hsts_max_age_seconds > 0) {
    h.emplace_back("Strict-Transport-Security", "max-age=" + std::to_string(hsts_max_age_seconds));
  }
  // Scripts and styles only from relaisd itself; 'wasm-unsafe-eval' lets libsodium.js
  // instantiate its WebAssembly module without allowing eval() of JavaScript.
  h.emplace_back("Content-Security-Policy",
                 "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
                 "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                 "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("Referrer-Policy", "no-referrer");
  h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  h.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  h.emplace_back("Permissions-Policy", "geolocation=(), payment=(), usb=()");
  h.emplace_back("Cache-Control", cache == cache_policy::immutable ? "public, max-age=31536000, immutable" : "no-store");
  return h;
}

bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  if (!allowed.empty()) {
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return a == origin; });
  }
  constexpr std::string_view scheme = "https://";
  return origin.size() == scheme.size() + host.size() && origin.substr(0, scheme.size()) == scheme &&
         origin.substr(scheme.size()) == host && !host.empty();
}

}  // namespace relais::net
