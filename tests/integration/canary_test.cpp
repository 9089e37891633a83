// The canary test of issue 6: a worker and a beneficiary (two relais-cli chat processes)
// exchange end-to-end encrypted messages carrying unique canary strings; then relaisd's whole
// data folder (database, WAL, shared memory, an online backup, TLS folder, a copy taken while
// it ran) and everything relaisd printed are searched for the canaries, raw and in every
// encoding the server could plausibly have used (hex, base64, base64url at each alignment).
// None may be found. Positive controls show that the search works: it finds the canaries in
// the receivers' output, an encoded canary planted in a scratch file, and values the server
// must store (the messages' client_msg_ids) in the data folder.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "relais/test/process.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using relais::test::child_process;
using relais::test::temp_dir;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string base64(const std::string& in, bool url) {
  const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto v = (static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16) |
             (static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8) |
             static_cast<unsigned>(static_cast<unsigned char>(in[i + 2]));
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[(v >> shift) & 63U]);
  }
  return out;  // complete groups only: the callers keep only those
}

std::string hex(const std::string& in, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

/// One way a secret could appear in a file, and its bytes.
struct form {
  std::string name;
  std::string bytes;
};

/// The canary raw, in hex, and in base64/base64url at the three alignments it could have inside
/// a longer encoded string (only the characters that depend on the canary alone are kept).
std::vector<form> forms_of(const std::string& secret) {
  std::vector<form> out{{"raw", secret}, {"hex", hex(secret, false)}, {"HEX", hex(secret, true)}};
  for (bool url : {false, true}) {
    for (std::size_t offset = 0; offset < 3; ++offset) {
      auto encoded = base64(std::string(offset, '\0') + secret, url);
      std::size_t skip = offset == 0 ? 0 : 4;  // the first group mixes unknown bytes before the canary
      out.push_back({std::string(url ? "base64url" : "base64") + "@" + std::to_string(offset), encoded.substr(skip)});
    }
  }
  return out;
}

/// Where `secret` appears (file: form), in any of its forms.
std::vector<std::string> find_anywhere(const std::map<std::string, std::string>& haystacks, const std::string& secret) {
  std::vector<std::string> hits;
  for (const auto& f : forms_of(secret)) {
    for (const auto& [name, content] : haystacks) {
      if (content.find(f.bytes) != std::string::npos) hits.push_back(name + ": " + f.name);
    }
  }
  return hits;
}

/// Every regular file under `root`, by path.
void collect(const std::filesystem::path& root, const std::string& label, std::map<std::string, std::string>& out) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) out[label + entry.path().lexically_relative(root).string()] = read_file(entry.path());
  }
}

std::string random_canary() {
  std::random_device rd;
  std::string hexdigits;
  for (int i = 0; i < 4; ++i) {
    auto v = rd();
    for (int j = 0; j < 8; ++j, v >>= 4) hexdigits.push_back("0123456789abcdef"[v & 15U]);
  }
  return "CANARY-" + hexdigits;
}

/// A relais-cli chat process whose input is a FIFO the test writes to.
class chat_process {
 public:
  chat_process(std::vector<std::string> argv, const std::string& fifo) {
    if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + fifo);
    fd_ = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // no wait for the reader, no EOF until closed
    argv.push_back("--input");
    argv.push_back(fifo);
    process_ = std::make_unique<child_process>(argv);
  }
  ~chat_process() { end_input(); }
  chat_process(const chat_process&) = delete;
  chat_process& operator=(const chat_process&) = delete;
  void type(const std::string& line) {
    auto text = line + "\n";
    ASSERT_EQ(::write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void end_input() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::optional<std::string> wait_for(const std::string& needle) { return process_->wait_for_line(needle, 30s); }
  child_process& process() { return *process_; }

 private:
  int fd_ = -1;
  std::unique_ptr<child_process> process_;
};

TEST(Canary, NoMessageContentReachesTheDataFolderOrTheLogs) {
  temp_dir dir;
  auto data = dir.path() + "/data";
  child_process keygen({RELAIS_CLI_BINARY, "org", "keygen", "--out", dir.path() + "/org.key"});
  ASSERT_EQ(keygen.wait_exit(20s).value_or(-1), 0) << keygen.stderr_text();
  auto org_pub = json::parse(keygen.stdout_text()).at("public_key").get<std::string>();
  auto config = dir.path() + "/relais.toml";
  std::ofstream(config) << "[org]\npublic_key = \"" << org_pub << "\"\n[auth]\ntotp_required = false\n"
                        << "[log]\nlevel = \"debug\"\n";  // the most the server ever writes
  auto password = dir.path() + "/password";
  std::ofstream(password) << "correct horse battery staple\n";
  child_process add({"/bin/sh", "-c", R"(exec "$0" --config "$1" --data-dir "$2" user add camille --display-name Camille < "$3")",
                     RELAISD_BINARY, config, data, password});
  ASSERT_EQ(add.wait_exit(60s).value_or(-1), 0) << add.stderr_text();
  auto log = dir.path() + "/relaisd.log";
  auto server = std::make_unique<child_process>(std::vector<std::string>{
      "/bin/sh", "-c", R"(exec "$0" --config "$1" --data-dir "$2" --listen 127.0.0.1:0 2>"$3")", RELAISD_BINARY, config,
      data, log});
  auto listening = server->wait_for_line("listening on https://", 20s);
  ASSERT_TRUE(listening);
  auto port = relais::test::port_from_listening_line(*listening);
  std::vector<std::string> base{RELAIS_CLI_BINARY, "--server", "127.0.0.1:" + std::to_string(port), "--ca",
                                data + "/tls/cert.pem", "chat"};
  auto wargs = base;
  wargs.insert(wargs.end(), {"--role", "worker", "--username", "camille", "--password-file", password, "--state",
                             dir.path() + "/w-state", "--certificate-from-org-key", dir.path() + "/org.key"});
  auto bargs = base;
  bargs.insert(bargs.end(), {"--role", "beneficiary", "--org-key-pub", org_pub, "--state", dir.path() + "/b-state"});
  chat_process w(wargs, dir.path() + "/w.fifo");
  chat_process b(bargs, dir.path() + "/b.fifo");

  std::vector<std::string> from_beneficiary;
  std::vector<std::string> from_worker;
  for (int i = 0; i < 4; ++i) {
    from_beneficiary.push_back(random_canary());
    from_worker.push_back(random_canary());
  }
  w.type("/shift on");
  ASSERT_TRUE(w.wait_for(R"("event":"keys_published")")) << w.process().stdout_text();
  b.type("/join");
  ASSERT_TRUE(b.wait_for(R"("event":"queued")")) << b.process().stdout_text();
  w.type("/take");
  ASSERT_TRUE(w.wait_for(R"("event":"assigned")")) << w.process().stdout_text();
  // Typed before the session exists: held by the client, never sent in clear.
  b.type("Bonjour, mon code est " + from_beneficiary[0]);
  ASSERT_TRUE(w.wait_for(from_beneficiary[0])) << w.process().stdout_text();
  w.type("Bonjour, je note " + from_worker[0]);
  ASSERT_TRUE(b.wait_for(from_worker[0])) << b.process().stdout_text();
  // A long message: several padding blocks, the canary in the middle.
  b.type(std::string(3000, 'a') + " " + from_beneficiary[1] + " " + std::string(3000, 'z'));
  ASSERT_TRUE(w.wait_for(from_beneficiary[1])) << w.process().stdout_text();
  b.type("/typing on");
  for (std::size_t i = 1; i < from_worker.size(); ++i) w.type("Réponse " + from_worker[i]);
  ASSERT_TRUE(b.wait_for(from_worker.back())) << b.process().stdout_text();
  for (std::size_t i = 2; i < from_beneficiary.size(); ++i) b.type("Encore " + from_beneficiary[i]);
  ASSERT_TRUE(w.wait_for(from_beneficiary.back())) << w.process().stdout_text();
  b.type("/end");
  ASSERT_TRUE(w.wait_for(R"("event":"ended")")) << w.process().stdout_text();
  b.end_input();
  w.end_input();
  ASSERT_EQ(b.process().wait_exit(30s).value_or(-1), 0) << b.process().stderr_text();
  ASSERT_EQ(w.process().wait_exit(30s).value_or(-1), 0) << w.process().stderr_text();

  // A copy of the live folder (the WAL and shared memory as they are while relaisd runs), an
  // online backup into the data folder, then a clean stop.
  std::map<std::string, std::string> haystacks;
  collect(data, "live:", haystacks);
  child_process backup({RELAISD_BINARY, "--config", config, "--data-dir", data, "backup", data + "/backup.db"});
  ASSERT_EQ(backup.wait_exit(60s).value_or(-1), 0) << backup.stderr_text();
  server->signal(SIGTERM);
  ASSERT_EQ(server->wait_exit(15s).value_or(-1), 0);
  collect(data, "data:", haystacks);
  haystacks["relaisd stdout"] = server->stdout_text();
  haystacks["relaisd stderr"] = read_file(log);
  haystacks["backup output"] = backup.stdout_text() + backup.stderr_text();
  ASSERT_TRUE(haystacks.count("data:backup.db"));
  ASSERT_TRUE(haystacks.count("data:relais.db"));
  ASSERT_TRUE(haystacks.count("data:tls/cert.pem"));
  EXPECT_FALSE(haystacks["relaisd stderr"].empty());

  std::vector<std::string> canaries = from_beneficiary;
  canaries.insert(canaries.end(), from_worker.begin(), from_worker.end());
  for (const auto& canary : canaries) {
    auto hits = find_anywhere(haystacks, canary);
    EXPECT_TRUE(hits.empty()) << canary << " found in:\n" << testing::PrintToString(hits);
  }

  // Positive control 1: each canary is in the receiving side's decrypted output.
  for (const auto& canary : from_beneficiary) {
    EXPECT_FALSE(find_anywhere({{"worker output", w.process().stdout_text()}}, canary).empty()) << canary;
  }
  for (const auto& canary : from_worker) {
    EXPECT_FALSE(find_anywhere({{"beneficiary output", b.process().stdout_text()}}, canary).empty()) << canary;
  }
  // Positive control 2: an encoded canary at an odd offset inside a longer string is found.
  auto planted = random_canary();
  std::map<std::string, std::string> scratch{{"scratch", "xx" + base64("\x01" + planted + "\x02\x03", true) + "yy"}};
  EXPECT_FALSE(find_anywhere(scratch, planted).empty());
  // Positive control 3: what the server must store (each message's client_msg_id, for
  // idempotency) is found in the same files by the same search.
  std::size_t stored = 0;
  std::istringstream events(b.process().stdout_text() + w.process().stdout_text());
  std::string line;
  while (std::getline(events, line)) {
    auto e = json::parse(line, nullptr, false);
    if (e.is_discarded() || e.value("event", "") != "ack") continue;
    if (!find_anywhere(haystacks, e.at("client_msg_id").get<std::string>()).empty()) ++stored;
  }
  EXPECT_GE(stored, canaries.size()) << "the search did not find the stored client_msg_ids: it may not read the files";
}

}  // namespace
