// relais-cli: a command-line client of relaisd on the same protocol and crypto libraries as
// the server, for scripts, tests and operators; and the organisation's offline key tools.
#include <sodium.h>

#include <CLI/CLI.hpp>

#include "chat.hpp"
#include "connection.hpp"
#include "org.hpp"
#include "probe.hpp"

int main(int argc, char** argv) {
  using namespace relais::cli;
  if (sodium_init() < 0) return fail(protocol_failure, "libsodium cannot start");
  CLI::App app{"relais-cli: a command-line client of relaisd (PROTOCOL.md) and the organisation's offline key "
               "tools (CRYPTO.md §7). Output on stdout is one JSON object per line; diagnostics go to stderr.\n"
               "Exit status: 0 ok, 1 usage (bad arguments, files, state or input), 2 cannot connect, 3 refused by "
               "the server (an error frame), 4 protocol failure, connection closed or a chat wait timed out."};
  app.require_subcommand(1);
  common_options o;
  app.add_option("-s,--server", o.server, "relaisd address HOST:PORT")->capture_default_str();
  app.add_flag("-k,--insecure", o.insecure, "Do not verify the server certificate (self-signed quick start)");
  app.add_option("--ca", o.ca_file, "PEM file of the certificate(s) to trust, e.g. data/tls/cert.pem");
  app.add_option("--origin", o.origin, "Send this Origin header (browsers do; scripts need not)");
  app.add_option("--timeout-ms", o.timeout_ms, "Timeout of each network step in milliseconds")->capture_default_str();

  auto* hello_cmd = app.add_subcommand("hello", "Connect and negotiate the protocol version; print the welcome");
  std::vector<std::int64_t> versions{1};
  std::string role = "beneficiary";
  hello_cmd->add_option("--versions", versions, "Versions to offer")->delimiter(',')->capture_default_str();
  hello_cmd->add_option("--role", role, "beneficiary or worker")
      ->check(CLI::IsMember({"beneficiary", "worker"}))
      ->capture_default_str();

  auto* ben_cmd = app.add_subcommand(
      "beneficiary", "Authenticate as an anonymous beneficiary (Ed25519 key proven by signing the challenge), "
                     "then send each --send frame and print every frame received");
  std::string seed_hex;
  std::vector<std::string> frames;
  int wait_ms = 1000;
  ben_cmd->add_option("--identity-seed", seed_hex, "64 hex characters: reuse an identity (default: a fresh one)");
  ben_cmd->add_option("--send", frames, "A JSON frame to send after authentication (repeatable)");
  ben_cmd->add_option("--wait-ms", wait_ms, "How long to wait for replies after the last frame")->capture_default_str();

  auto* worker_cmd = app.add_subcommand("worker", "Log in as a worker (password and TOTP); print the reply");
  std::string username;
  std::string password_file;
  std::string totp;
  std::string device = "relais-cli";
  worker_cmd->add_option("--username", username, "Account name")->required();
  worker_cmd->add_option("--password-file", password_file, "File whose first line is the password")->required();
  worker_cmd->add_option("--totp", totp, "Current TOTP code");
  worker_cmd->add_option("--device", device, "Device label")->capture_default_str();

  auto* org_cmd = app.add_subcommand(
      "org", "The organisation key (offline, on the admin's machine): create it, certify workers' identity keys");
  org_cmd->require_subcommand(1);
  auto* keygen_cmd = org_cmd->add_subcommand(
      "keygen", "Create an org key pair in FILE (mode 0600, never overwritten); print {public_key, fingerprint}: "
                "the public key goes in relaisd's [org] public_key, the fingerprint in the embed snippet");
  std::string org_out;
  keygen_cmd->add_option("--out", org_out, "File to create")->required();
  auto* certify_cmd =
      org_cmd->add_subcommand("certify", "Sign a worker certificate (CRYPTO.md §7); print it in base64url");
  std::string org_key;
  std::string identity_key;
  std::string name;
  std::uint64_t days = default_certificate_days;
  certify_cmd->add_option("--org-key", org_key, "Org key file from 'org keygen'")->required();
  certify_cmd->add_option("--identity-key", identity_key, "The worker's Ed25519 identity key, base64url")->required();
  certify_cmd->add_option("--name", name, "Display name shown to beneficiaries (1-64 bytes)")->required();
  certify_cmd->add_option("--days", days, "Validity in days from now")->capture_default_str();

  auto* chat_cmd = app.add_subcommand(
      "chat", "One side of end-to-end encrypted conversations (X3DH + Double Ratchet), scripted through its input");
  chat_cmd->footer(chat_help);
  chat_options c;
  chat_cmd->add_option("--role", c.role, "worker or beneficiary")
      ->required()
      ->check(CLI::IsMember({"beneficiary", "worker"}));
  chat_cmd->add_option("--state", c.state_dir,
                       "Folder keeping keys, sessions, cursors and token between runs (UNENCRYPTED, test tool)");
  chat_cmd->add_option("--org-key-pub", c.org_key_pub,
                       "The organisation public key (base64url) that worker certificates must chain to");
  chat_cmd->add_option("--input", c.input, "Read commands from this file or FIFO instead of stdin ('-')")
      ->capture_default_str();
  chat_cmd->add_option("--wait-timeout-ms", c.wait_timeout_ms, "Limit of /wait, /expect and of the acks at /quit")
      ->capture_default_str();
  chat_cmd->add_flag("--urgent", c.urgent, "Beneficiary: /join as urgent");
  chat_cmd->add_option("--username", c.username, "Worker: account name");
  auto* pw_stdin = chat_cmd->add_flag("--password-stdin", c.password_stdin,
                                      "Worker: the first input line is the password (the rest are commands)");
  chat_cmd->add_option("--password-file", c.password_file, "Worker: file whose first line is the password")
      ->excludes(pw_stdin);
  chat_cmd->add_option("--totp", c.totp, "Worker: current TOTP code");
  chat_cmd->add_option("--device", c.device, "Worker: device label")->capture_default_str();
  chat_cmd->add_option("--certificate", c.certificate, "Worker: certificate from 'relais-cli org certify'");
  chat_cmd->add_option("--certificate-from-org-key", c.certificate_from_org_key,
                       "Worker: sign the certificate here with this org key file (tests, single-worker setups)");
  chat_cmd->add_option("--certificate-name", c.certificate_name,
                       "Worker: display name in that certificate (default: the account's)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ok : usage;  // --help is 0; every argument error is the documented 1
  }
  if (hello_cmd->parsed()) return run_hello(o, versions, role);
  if (ben_cmd->parsed()) return run_beneficiary(o, seed_hex, frames, wait_ms);
  if (worker_cmd->parsed()) return run_worker(o, username, password_file, totp, device);
  if (keygen_cmd->parsed()) return run_org_keygen(org_out);
  if (certify_cmd->parsed()) return run_org_certify(org_key, identity_key, name, days);
  if (chat_cmd->parsed()) return run_chat(o, c);
  return usage;
}
