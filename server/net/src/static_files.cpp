#include "relais/net/static_files.hpp"

#include <algorithm>
#include <array>
#include <system_error>
#include <utility>

namespace relais::net {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Vite names built assets "name-<8+ base64url chars>.ext" under /assets/: those never change
// content under the same name, so they may be cached for a year.
bool is_hashed_asset(std::string_view rel) {
  if (rel.substr(0, 7) != "assets/") return false;
  auto name = rel.substr(rel.rfind('/') + 1);
  auto dot = name.rfind('.');
  auto dash = name.rfind('-', dot);
  if (dot == std::string_view::npos || dash == std::string_view::npos || dot - dash - 1 < 8) return false;
  for (auto c : name.substr(dash + 1, dot - dash - 1)) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool percent_decode_path(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= in.size()) return false;  // a truncated escape
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    char decoded = static_cast<char>(hi * 16 + lo);
    // An encoded NUL or slash is never legitimate in our file names and is a classic way to
    // smuggle a traversal past a check done before decoding.
    if (decoded == '\0' || decoded == '/' || decoded == '\\') return false;
    out.push_back(decoded);
    i += 2;
  }
  return true;
}

std::string_view mime_type_for(std::string_view filename) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> types{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".wasm", "application/wasm"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
      {".mp3", "audio/mpeg"},
      {".ogg", "audio/ogg"},
  }};
  for (const auto& [ext, type] : types) {
    if (ends_with(filename, ext)) return type;
  }
  return "application/octet-stream";
}

resolved_file resolve_static(const std::filesystem::path& web_root, std::string_view target) {
  resolved_file result;
  if (target.empty() || target.front() != '/') {
    result.error = target_error::malformed;
    return result;
  }
  auto query = target.find_first_of("?#");
  auto raw_path = target.substr(0, query);
  std::string decoded;
  if (!percent_decode_path(raw_path, decoded)) {
    result.error = target_error::malformed;
    return result;
  }
  // Walk the segments: reject "..", ".", hidden files and backslashes outright rather than
  // normalising them, so that no spelling of a traversal is ever interpreted.
  std::string rel;
  std::string_view rest(decoded);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty()) continue;
    if (seg == "." || seg == ".." || seg.front() == '.' || seg.find('\\') != std::string_view::npos) {
      result.error = target_error::forbidden;
      return result;
    }
    for (char c : seg) {
      if (static_cast<unsigned char>(c) < 0x20) {
        result.error = target_error::malformed;
        return result;
      }
    }
    if (!rel.empty()) rel.push_back('/');
    rel.append(seg);
  }
  if (rel.empty() || decoded.back() == '/') rel += rel.empty() ? "index.html" : "/index.html";

  std::error_code ec;
  auto root = std::filesystem::canonical(web_root, ec);
  if (ec) {
    result.error = target_error::not_found;
    return result;
  }
  auto candidate = root / rel;
  if (std::filesystem::is_directory(candidate, ec)) {
    candidate /= "index.html";
    rel += "/index.html";
  }
  auto real = std::filesystem::canonical(candidate, ec);
  if (ec || !std::filesystem::is_regular_file(real, ec)) {
    result.error = target_error::not_found;
    return result;
  }
  // A symlink inside the root must not lead outside it.
  auto [root_end, real_it] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (root_end != root.end()) {
    result.error = target_error::forbidden;
    return result;
  }
  result.path = real;
  result.mime_type = mime_type_for(real.filename().string());
  result.immutable = is_hashed_asset(rel);
  return result;
}

}  // namespace relais::net
