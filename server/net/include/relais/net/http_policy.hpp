#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relais::net {

/// How a response may be cached by the browser.
enum class cache_policy { no_store, immutable };

/// The security headers relaisd puts on every HTTP response (guarantee 1 and issue 2): HSTS,
/// a strict Content-Security-Policy, nosniff, no referrer, no framing, and the cache policy.
/// `hsts_max_age_seconds` = 0 leaves HSTS out (for plain-HTTP test setups; never in production).
[[nodiscard]] std::vector<std::pair<std::string_view, std::string>> security_headers(
    cache_policy cache, long hsts_max_age_seconds);

/// True if a WebSocket upgrade carrying this Origin header value may proceed. An empty
/// `origin` (non-browser clients such as relais-cli send none) is allowed: cross-site
/// WebSocket hijacking needs a browser's ambient credentials. A browser origin must be in
/// `allowed`, or, when `allowed` is empty, equal the server's own origin ("https://" + host).
[[nodiscard]] bool origin_allowed(std::string_view origin, std::string_view host,
                                  const std::vector<std::string>& allowed);

}  // namespace relais::net
