// relais-cli: a command-line client of relaisd on the same protocol and crypto libraries as
// the server, for scripts, tests and operators. Frames are printed one JSON object per line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sodium.h>

#include "relais/client/ws_client.hpp"
#include "relais/crypto/primitives.hpp"
#include "relais/crypto/secure_buffer.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"

namespace {

namespace pr = relais::protocol;
using relais::client::ws_client;
using std::chrono::milliseconds;

/// Exit statuses, documented in --help.
enum exit_status : int { ok = 0, usage = 1, connect_failed = 2, refused = 3, protocol_failure = 4 };

struct common_options {
  std::string server = "127.0.0.1:8443";
  bool insecure = false;
  std::string ca_file;
  std::string origin;
  int timeout_ms = 5000;
};

int fail(int status, const std::string& message) {
  std::cerr << "relais-cli: " << message << '\n';
  return status;
}

bool split_server(const std::string& s, std::string& host, std::uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    auto p = std::stoul(s.substr(colon + 1));
    if (p == 0 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

/// A connected, welcomed session; prints every frame it receives.
class session {
 public:
  explicit session(const common_options& o) : o_(o) {}

  int connect() {
    std::string host;
    std::uint16_t port = 0;
    if (!split_server(o_.server, host, port)) return fail(usage, "--server must be HOST:PORT");
    relais::client::tls_options tls;
    tls.verify_peer = !o_.insecure;
    tls.ca_file = o_.ca_file;
    if (auto ec = ws_.connect(host, port, "/ws", o_.origin, tls, timeout())) {
      if (ws_.upgrade_status() != 0 && ws_.upgrade_status() != 101) {
        return fail(connect_failed, "upgrade refused with HTTP " + std::to_string(ws_.upgrade_status()));
      }
      return fail(connect_failed, "cannot connect to " + o_.server + ": " + ec.message() +
                                      (o_.insecure ? "" : " (self-signed server? use --ca FILE or --insecure)"));
    }
    return ok;
  }

  /// Sends `hello`; returns ok with the welcome's challenge, or refused.
  int hello(const std::vector<std::int64_t>& versions, pr::peer_role role) {
    pr::hello h;
    h.versions = versions;
    h.role = role;
    h.client = "relais-cli/0.1";
    if (auto st = send(pr::encode(h)); st != ok) return st;
    pr::message m;
    if (auto st = receive(m); st != ok) return st;
    if (auto* w = std::get_if<pr::welcome>(&m)) {
      welcome_ = *w;
      return ok;
    }
    return refused;
  }

  int send(const std::string& frame) {
    if (auto ec = ws_.send_text(frame, timeout())) return fail(protocol_failure, "send failed: " + ec.message());
    return ok;
  }

  /// Reads one frame, prints it, decodes it; an `error` frame gives `refused`.
  int receive(pr::message& m, int timeout_ms = -1) {
    std::string frame;
    auto ec = ws_.read(frame, milliseconds(timeout_ms < 0 ? o_.timeout_ms : timeout_ms));
    if (relais::client::is_closed(ec)) {
      closed_ = true;
      std::cerr << "relais-cli: connection closed by the server with code " << ws_.close_code() << '\n';
      return protocol_failure;
    }
    if (ec == std::errc::timed_out) return protocol_failure;
    if (ec) return fail(protocol_failure, "read failed: " + ec.message());
    std::cout << frame << '\n' << std::flush;
    std::error_code dec;
    m = pr::decode_from_server(frame, dec);
    if (dec) return fail(protocol_failure, "the server sent an invalid frame: " + dec.message());
    if (auto* e = std::get_if<pr::error_message>(&m)) {
      std::cerr << "relais-cli: error " << static_cast<int>(e->code) << ' ' << e->name << '\n';
      return refused;
    }
    return ok;
  }

  /// Prints frames until nothing arrives for `quiet_ms` or the server closes.
  void drain(int quiet_ms) {
    pr::message m;
    while (!closed_) {
      auto st = receive(m, quiet_ms);
      if (st == protocol_failure) break;
    }
  }

  void close() {
    if (!closed_) (void)ws_.close(1000, timeout());
  }
  [[nodiscard]] std::uint16_t close_code() const { return ws_.close_code(); }
  [[nodiscard]] const pr::welcome& welcome() const { return welcome_; }

 private:
  milliseconds timeout() const { return milliseconds(o_.timeout_ms); }
  common_options o_;
  ws_client ws_;
  pr::welcome welcome_;
  bool closed_ = false;
};

int run_hello(const common_options& o, const std::vector<std::int64_t>& versions, const std::string& role) {
  session s(o);
  if (auto st = s.connect(); st != ok) return st;
  auto st = s.hello(versions, role == "worker" ? pr::peer_role::worker : pr::peer_role::beneficiary);
  if (st == refused) {
    pr::message ignored;
    (void)s.receive(ignored, 1000);  // the close that follows
  }
  s.close();
  return st;
}

int run_beneficiary(const common_options& o, const std::string& seed_hex, const std::vector<std::string>& frames,
                    int wait_ms) {
  relais::crypto::secret32 seed;
  if (seed_hex.empty()) {
    randombytes_buf(seed.data(), seed.size());  // a fresh anonymous identity, kept in memory only
  } else {
    std::size_t len = 0;
    if (seed_hex.size() != 64 ||
        sodium_hex2bin(seed.data(), seed.size(), seed_hex.c_str(), seed_hex.size(), nullptr, &len, nullptr) != 0 ||
        len != 32) {
      return fail(usage, "--identity-seed must be 64 hexadecimal characters");
    }
  }
  session s(o);
  if (auto st = s.connect(); st != ok) return st;
  if (auto st = s.hello({1}, pr::peer_role::beneficiary); st != ok) return st;
  std::array<std::uint8_t, 32> challenge{};
  if (s.welcome().challenge.decode_into(challenge)) return fail(protocol_failure, "bad challenge");
  auto input = pr::beneficiary_auth_signing_input(challenge);
  auto signature = relais::crypto::ed25519_sign(seed, input);
  auto key = relais::crypto::ed25519_public_from_seed(seed);
  pr::auth_beneficiary auth;
  auth.identity_key = pr::encoded_bytes::from_bytes(key);
  auth.signature = pr::encoded_bytes::from_bytes(signature);
  if (auto st = s.send(pr::encode(auth)); st != ok) return st;
  pr::message m;
  if (auto st = s.receive(m); st != ok) return st;
  int status = ok;
  for (const auto& f : frames) {
    if (auto st = s.send(f); st != ok) return st;
    if (s.receive(m, wait_ms) == refused) status = refused;
  }
  s.drain(wait_ms);
  s.close();
  return status;
}

int run_worker(const common_options& o, const std::string& username, const std::string& password_file,
               const std::string& totp, const std::string& device) {
  std::string password;
  std::ifstream in(password_file);
  if (!in || !std::getline(in, password)) return fail(usage, "cannot read the password from " + password_file);
  session s(o);
  if (auto st = s.connect(); st != ok) return st;
  if (auto st = s.hello({1}, pr::peer_role::worker); st != ok) return st;
  pr::auth_login login;
  login.username = username;
  login.password = password;
  if (!totp.empty()) login.totp = totp;
  login.device = device;
  sodium_memzero(password.data(), password.size());
  if (auto st = s.send(pr::encode(login)); st != ok) return st;
  pr::message m;
  auto st = s.receive(m);
  s.close();
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return fail(protocol_failure, "libsodium cannot start");
  CLI::App app{"relais-cli: a command-line client of relaisd (PROTOCOL.md). Every frame received is printed "
               "on stdout, one JSON object per line; diagnostics go to stderr.\n"
               "Exit status: 0 ok, 1 usage, 2 cannot connect, 3 refused by the server (an error frame), "
               "4 protocol failure or connection closed."};
  app.require_subcommand(1);
  common_options o;
  app.add_option("-s,--server", o.server, "relaisd address HOST:PORT")->capture_default_str();
  app.add_flag("-k,--insecure", o.insecure, "Do not verify the server certificate (self-signed quick start)");
  app.add_option("--ca", o.ca_file, "PEM file of the certificate(s) to trust, e.g. data/tls/cert.pem");
  app.add_option("--origin", o.origin, "Send this Origin header (browsers do; scripts need not)");
  app.add_option("--timeout-ms", o.timeout_ms, "Timeout of each step in milliseconds")->capture_default_str();

  auto* hello_cmd = app.add_subcommand("hello", "Connect and negotiate the protocol version; print the welcome");
  std::vector<std::int64_t> versions{1};
  std::string role = "beneficiary";
  hello_cmd->add_option("--versions", versions, "Versions to offer")->delimiter(',')->capture_default_str();
  hello_cmd->add_option("--role", role, "beneficiary or worker")
      ->check(CLI::IsMember({"beneficiary", "worker"}))
      ->capture_default_str();

  auto* ben_cmd = app.add_subcommand(
      "beneficiary", "Authenticate as an anonymous beneficiary (Ed25519 key proven by signing the challenge), "
                     "then send each --send frame and print the replies");
  std::string seed_hex;
  std::vector<std::string> frames;
  int wait_ms = 1000;
  ben_cmd->add_option("--identity-seed", seed_hex, "64 hex characters: reuse an identity (default: a fresh one)");
  ben_cmd->add_option("--send", frames, "A JSON frame to send after authentication (repeatable)");
  ben_cmd->add_option("--wait-ms", wait_ms, "How long to wait for replies after the last frame")->capture_default_str();

  auto* worker_cmd = app.add_subcommand("worker", "Log in as a worker (password and TOTP)");
  std::string username;
  std::string password_file;
  std::string totp;
  std::string device = "relais-cli";
  worker_cmd->add_option("--username", username, "Account name")->required();
  worker_cmd->add_option("--password-file", password_file, "File whose first line is the password")->required();
  worker_cmd->add_option("--totp", totp, "Current TOTP code");
  worker_cmd->add_option("--device", device, "Device label")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (hello_cmd->parsed()) return run_hello(o, versions, role);
  if (ben_cmd->parsed()) return run_beneficiary(o, seed_hex, frames, wait_ms);
  if (worker_cmd->parsed()) return run_worker(o, username, password_file, totp, device);
  return usage;
}
