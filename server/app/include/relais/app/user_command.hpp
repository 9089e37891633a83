#pragma once

#include <string>

#include "relais/core/store.hpp"

namespace CLI {
class App;
}  // namespace CLI

// `relaisd user ...`: the admin command for worker accounts (issue 6). It works on the store
// file directly (SQLite's WAL lets it run beside a live relaisd), so it needs no admin
// protocol and no network. README.md's "Worker accounts" section documents it.

namespace relais::app {

/// Exit codes of `relaisd user`.
namespace user_exit {
inline constexpr int ok = 0;
inline constexpr int refused = 1;      ///< no such worker, invalid input, refused confirmation
inline constexpr int store_error = 2;  ///< configuration or store failure (as relaisd's startup)
}  // namespace user_exit

/// The `user` subcommand: registers itself and its actions (add, list, passwd, disable,
/// enable, remove, reset-totp, unlock) on relaisd's command line, then runs the one parsed.
class user_command {
 public:
  /// Adds `user` and its subcommands to `cli`; must outlive cli's parse.
  explicit user_command(CLI::App& cli);

  /// True if `relaisd user ...` was given.
  [[nodiscard]] bool parsed() const;

  /// Runs the parsed action against `store` and returns the exit code (user_exit). Reads a
  /// password from stdin when the action needs one; prints results on stdout and one line on
  /// stderr when it fails. Never prints a password or a hash.
  [[nodiscard]] int run(core::account_store& store);

 private:
  CLI::App* user_ = nullptr;
  CLI::App* add_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* passwd_ = nullptr;
  CLI::App* disable_ = nullptr;
  CLI::App* enable_ = nullptr;
  CLI::App* remove_ = nullptr;
  CLI::App* reset_totp_ = nullptr;
  CLI::App* unlock_ = nullptr;
  std::string username_;
  std::string display_name_;
  bool json_ = false;
  bool yes_ = false;
};

}  // namespace relais::app
