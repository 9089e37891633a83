#include "chat_state.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "relais/crypto/encoding.hpp"

namespace relais::cli {

namespace {

using json = nlohmann::json;

/// Version of the state file layout; a different one is refused rather than misread.
constexpr int state_format = 1;
constexpr const char* state_file = "state.json";
constexpr const char* lock_file = "lock";

void wipe_string(std::string& s) { sodium_memzero(s.data(), s.size()); }

std::string b64(crypto::bytes_view b) { return crypto::to_base64url(b); }

bool secret_from(const json& j, const char* key, crypto::secret32& out) {
  if (!j.contains(key) || !j[key].is_string()) return false;
  auto raw = crypto::from_base64url(j[key].get<std::string>());
  if (!raw || raw->size() != 32) return false;
  out = crypto::secret32(*raw);
  crypto::wipe(*raw);
  return true;
}

json to_json(const chat_state& s) {
  json j = {{"format", state_format}, {"role", s.role}, {"current", s.current}, {"held", s.held}};
  if (s.identity) j["identity_seed"] = b64(s.identity->seed().view());
  if (!s.token.empty()) j["token"] = s.token;
  if (s.role == "worker") {
    json spks = json::object();
    for (const auto& [id, kp] : s.prekeys.spks) spks[std::to_string(id)] = b64(kp.secret.view());
    json opks = json::object();
    for (const auto& [id, kp] : s.prekeys.opks) opks[std::to_string(id)] = b64(kp.secret.view());
    j["worker"] = {{"spk_id", s.spk_id},       {"spks", spks},
                   {"opks", opks},             {"next_opk_id", s.next_opk_id},
                   {"certificate", s.certificate}, {"published", s.published}};
  }
  json convs = json::array();
  for (const auto& [id, c] : s.conversations) {
    json unacked = json::array();
    for (const auto& u : c.unacked) unacked.push_back({{"client_msg_id", u.client_msg_id}, {"ciphertext", u.ciphertext}});
    json cj = {{"id", c.id},
               {"open", c.open},
               {"peer_key", c.peer_key},
               {"worker_id", c.worker_id},
               {"display_name", c.display_name},
               {"contiguous_seq", c.contiguous_seq},
               {"seqs_above", c.seqs_above},
               {"unacked", unacked},
               {"held", c.held}};
    if (!c.expected_worker_key.empty()) cj["expected_worker_key"] = c.expected_worker_key;
    if (c.transferred_in) cj["transferred_in"] = true;
    if (c.session) {
      auto bytes = c.session->serialize();
      cj["session"] = b64(bytes.view());
    }
    convs.push_back(std::move(cj));
  }
  j["conversations"] = std::move(convs);
  return j;
}

// Every member is checked: a damaged state is refused with a message, never half-loaded.
bool from_json(const json& j, chat_state& s, std::string& error) {
  try {
    if (!j.is_object() || j.at("format").get<int>() != state_format) {
      error = "unknown state format";
      return false;
    }
    s.role = j.at("role").get<std::string>();
    s.current = j.at("current").get<std::int64_t>();
    s.held = j.at("held").get<std::vector<std::string>>();
    if (j.contains("identity_seed")) {
      crypto::secret32 seed;
      if (!secret_from(j, "identity_seed", seed)) {
        error = "bad identity_seed";
        return false;
      }
      s.identity = crypto::identity_key_pair::from_seed(seed.view());
    }
    if (j.contains("token")) s.token = j.at("token").get<std::string>();
    if (j.contains("worker")) {
      const auto& w = j.at("worker");
      s.spk_id = w.at("spk_id").get<std::uint32_t>();
      for (const auto* which : {"spks", "opks"}) {
        for (const auto& [key, value] : w.at(which).items()) {
          crypto::secret32 secret;
          json holder = {{"k", value}};
          if (!secret_from(holder, "k", secret)) {
            error = std::string("bad ") + which + " entry " + key;
            return false;
          }
          auto id = static_cast<std::uint32_t>(std::stoul(key));
          auto kp = crypto::x25519_key_pair::from_secret(secret.view());
          (std::string(which) == "spks" ? s.prekeys.spks : s.prekeys.opks).emplace(id, kp);
          wipe_string(holder["k"].get_ref<std::string&>());
        }
      }
      s.next_opk_id = w.at("next_opk_id").get<std::uint32_t>();
      s.certificate = w.at("certificate").get<std::string>();
      s.published = w.at("published").get<bool>();
    }
    for (const auto& cj : j.at("conversations")) {
      conversation_state c;
      c.id = cj.at("id").get<std::int64_t>();
      c.open = cj.at("open").get<bool>();
      c.peer_key = cj.at("peer_key").get<std::string>();
      c.worker_id = cj.at("worker_id").get<std::int64_t>();
      c.display_name = cj.at("display_name").get<std::string>();
      c.contiguous_seq = cj.at("contiguous_seq").get<std::int64_t>();
      c.seqs_above = cj.at("seqs_above").get<std::set<std::int64_t>>();
      for (const auto& u : cj.at("unacked")) {
        c.unacked.push_back({u.at("client_msg_id").get<std::string>(), u.at("ciphertext").get<std::string>()});
      }
      c.held = cj.at("held").get<std::vector<std::string>>();
      c.expected_worker_key = cj.value("expected_worker_key", std::string());
      c.transferred_in = cj.value("transferred_in", false);
      if (cj.contains("session")) {
        auto raw = crypto::from_base64url(cj.at("session").get<std::string>());
        crypto::session session;
        if (!raw || crypto::session::deserialize(*raw, session)) {
          error = "bad session of conversation " + std::to_string(c.id);
          return false;
        }
        crypto::wipe(*raw);
        c.session = std::move(session);
      }
      s.conversations.emplace(c.id, std::move(c));
    }
  } catch (const std::exception& e) {
    error = std::string("damaged state: ") + e.what();
    return false;
  }
  return true;
}

// Writes `text` to `path` through a temporary file: fsync, rename, fsync of the folder, so
// that after a crash the file holds either the old or the new state, never a mix.
bool write_atomically(const std::string& dir, const std::string& name, const std::string& text, std::string& error) {
  auto tmp = dir + "/." + name + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  bool good = done == text.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!good || ::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) {
    error = "cannot write the state in " + dir + ": " + std::strerror(errno);
    return false;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

void conversation_state::mark_seen(std::int64_t seq) {
  if (seq <= contiguous_seq) return;
  seqs_above.insert(seq);
  while (!seqs_above.empty() && *seqs_above.begin() == contiguous_seq + 1) {
    contiguous_seq = *seqs_above.begin();
    seqs_above.erase(seqs_above.begin());
  }
}

state_store::~state_store() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool state_store::open(const std::string& dir, chat_state& state, std::string& error) {
  dir_ = dir;
  if (dir.empty()) return true;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    error = "cannot create the state folder " + dir;
    return false;
  }
  lock_fd_ = ::open((dir + "/" + lock_file).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    error = "the state folder " + dir + " is in use by another relais-cli";
    return false;
  }
  std::ifstream in(dir + "/" + state_file);
  if (!in) return true;  // a new identity
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = json::parse(text, nullptr, false);
  wipe_string(text);
  if (j.is_discarded()) {
    error = dir + "/" + state_file + " is not valid JSON";
    return false;
  }
  chat_state loaded;
  if (!from_json(j, loaded, error)) {
    error = dir + "/" + state_file + ": " + error;
    return false;
  }
  if (!state.role.empty() && loaded.role != state.role) {
    error = dir + " holds the state of a " + loaded.role + ", not of a " + state.role;
    return false;
  }
  state = std::move(loaded);
  return true;
}

bool state_store::save(const chat_state& state, std::string& error) const {
  if (dir_.empty()) return true;
  auto text = to_json(state).dump();
  bool good = write_atomically(dir_, state_file, text, error);
  wipe_string(text);
  return good;
}

}  // namespace relais::cli
