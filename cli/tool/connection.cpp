#include "connection.hpp"

#include <array>
#include <iostream>

#include "relais/crypto/primitives.hpp"
#include "relais/protocol/codec.hpp"
#include "relais/protocol/handshake.hpp"

namespace relais::cli {

namespace pr = relais::protocol;
using std::chrono::milliseconds;

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

int connection::connect() {
  std::string host;
  std::uint16_t port = 0;
  if (!split_server(o_.server, host, port)) return fail(usage, "--server must be HOST:PORT");
  client::tls_options tls;
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

int connection::hello(const std::vector<std::int64_t>& versions, pr::peer_role role) {
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

int connection::send_beneficiary_auth(const crypto::secret32& seed) {
  std::array<std::uint8_t, 32> challenge{};
  if (welcome_.challenge.decode_into(challenge)) return fail(protocol_failure, "bad challenge");
  auto input = pr::beneficiary_auth_signing_input(challenge);
  pr::auth_beneficiary auth;
  auth.identity_key = pr::encoded_bytes::from_bytes(crypto::ed25519_public_from_seed(seed));
  auth.signature = pr::encoded_bytes::from_bytes(crypto::ed25519_sign(seed, input));
  return send(pr::encode(auth));
}

int connection::send(const std::string& frame) {
  if (auto ec = ws_.send_text(frame, timeout())) return fail(protocol_failure, "send failed: " + ec.message());
  return ok;
}

int connection::receive(pr::message& m, int timeout_ms) {
  timed_out_ = false;
  std::string frame;
  auto ec = ws_.read(frame, milliseconds(timeout_ms < 0 ? o_.timeout_ms : timeout_ms));
  if (client::is_closed(ec)) {
    closed_ = true;
    std::cerr << "relais-cli: connection closed by the server with code " << ws_.close_code() << '\n';
    return protocol_failure;
  }
  if (ec == std::errc::timed_out) {
    timed_out_ = true;
    return protocol_failure;
  }
  if (ec) {
    closed_ = true;
    return fail(protocol_failure, "read failed: " + ec.message());
  }
  if (print_frames_) std::cout << frame << '\n' << std::flush;
  std::error_code dec;
  m = pr::decode_from_server(frame, dec);
  if (dec) return fail(protocol_failure, "the server sent an invalid frame: " + dec.message());
  if (auto* e = std::get_if<pr::error_message>(&m)) {
    std::cerr << "relais-cli: error " << static_cast<int>(e->code) << ' ' << e->name << '\n';
    return refused;
  }
  return ok;
}

void connection::drain(int quiet_ms) {
  pr::message m;
  while (!closed_) {
    auto st = receive(m, quiet_ms);
    if (st == protocol_failure) break;
  }
}

void connection::close() {
  if (!closed_) (void)ws_.close(1000, timeout());
  closed_ = true;
}

}  // namespace relais::cli
