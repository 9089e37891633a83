#include "relais/app/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace relais::app {

bool prepare_data_dir(const std::filesystem::path& dir, std::string& error) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      error = "data folder " + dir.string() + " cannot be created: " + ec.message();
      return false;
    }
    ::chmod(dir.c_str(), 0700);
  } else if (!std::filesystem::is_directory(dir, ec)) {
    error = "data folder " + dir.string() + " is not a directory";
    return false;
  }
  auto probe = dir / ".relaisd-write-test";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "data folder " + dir.string() + " is not writable: " + std::strerror(errno);
    return false;
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

std::filesystem::path default_web_root() {
  std::filesystem::path built = RELAIS_SOURCE_DIR "/client-web/dist";
  std::error_code ec;
  if (std::filesystem::exists(built / "index.html", ec)) return built;
  return RELAIS_SOURCE_DIR "/client-web/site";
}

}  // namespace relais::app
