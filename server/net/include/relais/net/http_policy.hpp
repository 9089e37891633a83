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

/// The same headers for the file at `path` (the request path, without query), with the two
/// exceptions the embeddable widget needs (issue 8), everything else unchanged:
/// - the widget's pages (`/widget/`, `/widget/*.html`) may be framed by relaisd itself and by
///   the origins in `frame_ancestors` (the configured `allowed_origins`): CSP
///   `frame-ancestors 'self' <origins>` and no X-Frame-Options; an entry that is not a plain
///   `http(s)://host[:port]` origin is left out, so that config can never inject CSP;
/// - the loader scripts (`/widget/loader.js` and the hashed `/assets/loader-*.js`), which host
///   pages load cross-origin with Subresource Integrity: `Cross-Origin-Resource-Policy:
///   cross-origin` and `Access-Control-Allow-Origin: *` (SRI on a cross-origin script needs
///   CORS; the loader is public and carries no credentials).
[[nodiscard]] std::vector<std::pair<std::string_view, std::string>> security_headers(
    cache_policy cache, long hsts_max_age_seconds, std::string_view path,
    const std::vector<std::string>& frame_ancestors);

/// True for a path the widget's framing exception applies to (see security_headers).
[[nodiscard]] bool is_widget_page(std::string_view path);

/// True for a path of the cross-origin loader script (see security_headers).
[[nodiscard]] bool is_widget_loader(std::string_view path);

/// True if a WebSocket upgrade carrying this Origin header value may proceed. An empty
/// `origin` (non-browser clients such as relais-cli send none) is allowed: cross-site
/// WebSocket hijacking needs a browser's ambient credentials. A browser origin must be the
/// server's own origin ("https://" + host: the widget's iframe and the console are served by
/// relaisd) or one of `allowed`.
[[nodiscard]] bool origin_allowed(std::string_view origin, std::string_view host,
                                  const std::vector<std::string>& allowed);

}  // namespace relais::net
