#include "relais/net/http_policy.hpp"

#include <algorithm>

namespace relais::net {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// An origin as CSP source expression: scheme, host of letters, digits, dots and dashes, an
// optional port. Anything else (spaces, ';', quotes, paths) is refused so that a config entry
// cannot add directives to the policy.
bool plain_origin(std::string_view o) {
  std::string_view rest;
  if (starts_with(o, "https://")) {
    rest = o.substr(8);
  } else if (starts_with(o, "http://")) {
    rest = o.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == ':') return false;
  bool in_port = false;
  std::size_t port_digits = 0;
  for (char c : rest) {
    if (c == ':' && !in_port) {
      in_port = true;
      continue;
    }
    bool digit = c >= '0' && c <= '9';
    if (in_port) {
      if (!digit) return false;
      ++port_digits;
      continue;
    }
    bool host_char = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
    if (!host_char) return false;
  }
  return !in_port || (port_digits > 0 && port_digits <= 5);
}

std::string csp(std::string_view frame_ancestors) {
  // Scripts and styles only from relaisd itself; 'wasm-unsafe-eval' lets libsodium.js
  // instantiate its WebAssembly module without allowing eval() of JavaScript.
  std::string p =
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
      "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
      "base-uri 'none'; form-action 'self'; frame-ancestors ";
  p += frame_ancestors;
  return p;
}

}  // namespace

bool is_widget_page(std::string_view path) {
  if (!starts_with(path, "/widget/")) return false;
  auto name = path.substr(8);
  return name.empty() || (name.find('/') == std::string_view::npos && ends_with(name, ".html"));
}

bool is_widget_loader(std::string_view path) {
  if (path == "/widget/loader.js") return true;
  return starts_with(path, "/assets/loader-") && ends_with(path, ".js") &&
         path.find('/', 8) == std::string_view::npos;
}

std::vector<std::pair<std::string_view, std::string>> security_headers(cache_policy cache,
                                                                        long hsts_max_age_seconds) {
  return security_headers(cache, hsts_max_age_seconds, {}, {});
}

std::vector<std::pair<std::string_view, std::string>> security_headers(cache_policy cache, long hsts_max_age_seconds,
                                                                        std::string_view path,
                                                                        const std::vector<std::string>& frame_ancestors) {
  const bool widget_page = is_widget_page(path);
  const bool loader = is_widget_loader(path);
  std::vector<std::pair<std::string_view, std::string>> h;
  h.reserve(11);
  if (hsts_max_age_seconds > 0) {
    h.emplace_back("Strict-Transport-Security", "max-age=" + std::to_string(hsts_max_age_seconds));
  }
  if (widget_page) {
    std::string ancestors = "'self'";
    for (const auto& o : frame_ancestors) {
      if (plain_origin(o)) ancestors += " " + o;
    }
    h.emplace_back("Content-Security-Policy", csp(ancestors));
  } else {
    h.emplace_back("Content-Security-Policy", csp("'none'"));
  }
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("Referrer-Policy", "no-referrer");
  // X-Frame-Options has no allow-list: for the widget's pages CSP frame-ancestors alone decides
  // (browsers give it precedence anyway); everything else keeps DENY for old browsers.
  if (!widget_page) h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  h.emplace_back("Cross-Origin-Resource-Policy", loader ? "cross-origin" : "same-origin");
  if (loader) h.emplace_back("Access-Control-Allow-Origin", "*");
  h.emplace_back("Permissions-Policy", "geolocation=(), payment=(), usb=()");
  h.emplace_back("Cache-Control", cache == cache_policy::immutable ? "public, max-age=31536000, immutable" : "no-store");
  return h;
}

bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  constexpr std::string_view scheme = "https://";
  const bool own = !host.empty() && origin.size() == scheme.size() + host.size() && starts_with(origin, scheme) &&
                   origin.substr(scheme.size()) == host;
  return own || std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return a == origin; });
}

}  // namespace relais::net
