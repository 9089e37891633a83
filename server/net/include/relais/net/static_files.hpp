#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace relais::net {

/// Why a request target could not be mapped to a file under the web root.
enum class target_error { none, malformed, forbidden, not_found };

/// The outcome of mapping a request target to a file: the file, its MIME type and how long
/// browsers may cache it.
struct resolved_file {
  target_error error = target_error::none;
  std::filesystem::path path;
  std::string_view mime_type;
  bool immutable = false;  // a content-hashed asset: cacheable for a year
};

/// Percent-decodes a URL path strictly; false on a bad escape, an encoded NUL or slash.
[[nodiscard]] bool percent_decode_path(std::string_view in, std::string& out);

/// Maps an HTTP request target ("/assets/app-1a2b3c4d.js?x") to a regular file below
/// `web_root`. Refuses traversal in every spelling ("..", "%2e%2e", backslashes, NUL),
/// hidden files, and anything that resolves (through symlinks) outside the root.
[[nodiscard]] resolved_file resolve_static(const std::filesystem::path& web_root, std::string_view target);

/// The MIME type for a file name by extension; "application/octet-stream" when unknown.
[[nodiscard]] std::string_view mime_type_for(std::string_view filename);

}  // namespace relais::net
