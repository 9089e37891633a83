#include "org.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "connection.hpp"
#include "relais/crypto/certificate.hpp"
#include "relais/crypto/encoding.hpp"
#include "relais/crypto/limits.hpp"
#include "relais/crypto/random.hpp"

namespace relais::cli {

namespace {

/// The `kind` member of an org key file, so that it is never mistaken for another key file.
constexpr const char* org_key_kind = "relais-org-key-v1";

/// Seconds in a day, for --days.
constexpr std::uint64_t seconds_per_day = 86400;

/// Largest --days accepted: 100 years keeps not_after far from u64 overflow and is already
/// far beyond any sensible validity.
constexpr std::uint64_t max_certificate_days = 36500;

void wipe_string(std::string& s) { sodium_memzero(s.data(), s.size()); }

}  // namespace

std::uint64_t unix_now() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

bool parse_public_key(const std::string& b64, crypto::public_key& out) {
  auto raw = crypto::from_base64url(b64);
  if (!raw || raw->size() != out.size()) return false;
  std::copy(raw->begin(), raw->end(), out.begin());
  crypto::public_key x{};
  return !crypto::ed25519_pk_to_x25519(out, x);
}

int run_org_keygen(const std::string& out_path) {
  crypto::system_random rng;
  auto org = crypto::identity_key_pair::generate(rng);
  nlohmann::json j = {{"kind", org_key_kind},
                      {"seed", crypto::to_base64url(org.seed().view())},
                      {"public_key", crypto::to_base64url(org.public_key_bytes())}};
  auto text = j.dump() + "\n";
  wipe_string(j["seed"].get_ref<std::string&>());
  // O_EXCL: the org key is the root of trust; overwriting one by mistake would orphan every
  // certificate and every embed snippet that pins it.
  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    wipe_string(text);
    return fail(usage, "cannot create " + out_path + " (it must not exist yet): " + std::strerror(errno));
  }
  auto written = ::write(fd, text.data(), text.size());
  bool good = written == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  wipe_string(text);
  if (!good) return fail(protocol_failure, "cannot write " + out_path);
  nlohmann::json out = {{"public_key", crypto::to_base64url(org.public_key_bytes())},
                        {"fingerprint", crypto::org_fingerprint(org.public_key_bytes())},
                        {"file", out_path}};
  std::cout << out.dump() << '\n';
  return ok;
}

bool load_org_key(const std::string& path, crypto::identity_key_pair& out, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read the org key file " + path;
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = nlohmann::json::parse(text, nullptr, false);
  wipe_string(text);
  if (!j.is_object() || j.value("kind", "") != org_key_kind || !j.contains("seed") || !j["seed"].is_string() ||
      !j.contains("public_key") || !j["public_key"].is_string()) {
    error = path + " is not an org key file written by 'relais-cli org keygen'";
    return false;
  }
  auto seed = crypto::from_base64url(j["seed"].get<std::string>());
  wipe_string(j["seed"].get_ref<std::string&>());
  if (!seed || seed->size() != 32) {
    error = path + ": the seed is not 32 bytes of base64url";
    return false;
  }
  out = crypto::identity_key_pair::from_seed(*seed);
  crypto::wipe(*seed);
  if (crypto::to_base64url(out.public_key_bytes()) != j["public_key"].get<std::string>()) {
    error = path + ": the public key does not match the seed (damaged file)";
    return false;
  }
  return true;
}

bool certify(const crypto::identity_key_pair& org, const crypto::public_key& worker_identity,
             const std::string& name, std::uint64_t days, crypto::bytes& out, std::string& error) {
  if (days == 0 || days > max_certificate_days) {
    error = "--days must be 1.." + std::to_string(max_certificate_days);
    return false;
  }
  if (name.empty() || name.size() > crypto::limits::max_display_name) {
    error = "--name must be 1.." + std::to_string(crypto::limits::max_display_name) + " bytes";
    return false;
  }
  crypto::worker_certificate cert;
  cert.org_key = org.public_key_bytes();
  cert.worker_identity = worker_identity;
  // A minute of slack: the clocks of the admin's machine and of the clients differ a little.
  cert.not_before = unix_now() - 60;
  cert.not_after = cert.not_before + days * seconds_per_day;
  cert.display_name = name;
  if (auto ec = crypto::sign_worker_certificate(org, cert, out)) {
    error = "cannot sign the certificate: " + ec.message();
    return false;
  }
  return true;
}

int run_org_certify(const std::string& org_key_path, const std::string& identity_key_b64, const std::string& name,
                    std::uint64_t days) {
  crypto::identity_key_pair org;
  std::string error;
  if (!load_org_key(org_key_path, org, error)) return fail(usage, error);
  crypto::public_key identity{};
  if (!parse_public_key(identity_key_b64, identity)) {
    return fail(usage, "--identity-key must be a 32-byte Ed25519 public key in base64url");
  }
  crypto::bytes cert;
  if (!certify(org, identity, name, days, cert, error)) return fail(usage, error);
  std::cout << crypto::to_base64url(cert) << '\n';
  return ok;
}

}  // namespace relais::cli
