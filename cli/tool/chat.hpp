#pragma once

#include <string>

#include "connection.hpp"

/// `relais-cli chat`: one side of end-to-end encrypted conversations, driven by lines of
/// commands and text on its input, reporting one JSON event per line on stdout.
namespace relais::cli {

/// The options of `relais-cli chat` (see --help).
struct chat_options {
  std::string role;
  std::string state_dir;
  std::string org_key_pub;  // base64url org public key the worker certificates must chain to
  std::string input = "-";  // file (or FIFO) of commands; "-" = stdin
  int wait_timeout_ms = 30000;
  // beneficiary
  bool urgent = false;
  // worker
  std::string username;
  bool password_stdin = false;
  std::string password_file;
  std::string totp;
  std::string device = "relais-cli";
  std::string certificate;               // base64url certificate given by the admin
  std::string certificate_from_org_key;  // or: sign one with this org key file (tests)
  std::string certificate_name;          // display name in a self-signed certificate; default: the account's
};

/// Runs the chat mode until /quit, the end of the input, or the connection's end.
int run_chat(const common_options& o, const chat_options& c);

/// The command reference printed by --help.
extern const char* const chat_help;

}  // namespace relais::cli
