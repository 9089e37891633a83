#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace relais::test {

/// A child process started by a test, with its stdout and stderr captured through pipes.
/// The destructor kills it (SIGKILL) if it is still running, so no test leaves one behind.
class child_process {
 public:
  /// Starts `argv[0]` with the arguments; the working directory is `cwd` when not empty.
  explicit child_process(const std::vector<std::string>& argv, const std::string& cwd = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// Reads stdout until a line containing `needle` arrives; returns that line, or nullopt at
  /// end of output or after `timeout`.
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
  /// Sends a signal.
  void signal(int sig) const;
  /// Waits for exit up to `timeout`; returns the exit status (128+signal if killed) or nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Everything read from stdout and stderr so far (stderr is drained on wait_exit).
  [[nodiscard]] const std::string& stdout_text() const noexcept { return out_; }
  [[nodiscard]] const std::string& stderr_text() const noexcept { return err_; }

 private:
  void drain(int fd, std::string& into, std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::size_t scanned_ = 0;
  std::optional<int> status_;
};

/// A fresh temporary directory, removed with its content at destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// Extracts the port from relaisd's "listening on https://HOST:PORT" line; 0 if absent.
[[nodiscard]] unsigned short port_from_listening_line(const std::string& line);

}  // namespace relais::test
