#pragma once

#include <filesystem>
#include <string>

namespace relais::app {

/// Creates the data folder if needed (mode 0700: it holds the store and the TLS key) and
/// proves it is writable by creating and removing a file. On failure says why, naming it.
[[nodiscard]] bool prepare_data_dir(const std::filesystem::path& dir, std::string& error);

/// The web root to serve: the configured one, else the built web clients of this source tree
/// (client-web/dist), else the placeholder page (client-web/site).
[[nodiscard]] std::filesystem::path default_web_root();

}  // namespace relais::app
