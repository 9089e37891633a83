#include "probe.hpp"

#include <sodium.h>

#include <fstream>

#include "relais/protocol/codec.hpp"

namespace relais::cli {

namespace pr = relais::protocol;

int run_hello(const common_options& o, const std::vector<std::int64_t>& versions, const std::string& role) {
  connection s(o, true);
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
  crypto::secret32 seed;
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
  connection s(o, true);
  if (auto st = s.connect(); st != ok) return st;
  if (auto st = s.hello({1}, pr::peer_role::beneficiary); st != ok) return st;
  if (auto st = s.send_beneficiary_auth(seed); st != ok) return st;
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
  connection s(o, true);
  if (auto st = s.connect(); st != ok) return st;
  if (auto st = s.hello({1}, pr::peer_role::worker); st != ok) return st;
  pr::auth_login login;
  login.username = username;
  login.password = password;
  if (!totp.empty()) login.totp = totp;
  login.device = device;
  sodium_memzero(password.data(), password.size());
  auto frame = pr::encode(login);
  sodium_memzero(login.password.data(), login.password.size());
  auto st = s.send(frame);
  sodium_memzero(frame.data(), frame.size());
  if (st != ok) return st;
  pr::message m;
  st = s.receive(m);
  s.close();
  return st;
}

}  // namespace relais::cli
