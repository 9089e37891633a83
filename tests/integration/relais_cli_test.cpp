// relais-cli against a real relaisd: the handshake, version refusal, beneficiary
// authentication, error frames, relaisd's authentication timeout; the org key tools; and two
// chat processes (worker and beneficiary) talking end to end, killed and restarted; and the
// permanence from both sides (queue, shifts, take, and what the server serves of issue 7).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "relais/client/ws_client.hpp"
#include "relais/test/process.hpp"

namespace {

using namespace std::chrono_literals;
using relais::test::child_process;
using relais::test::temp_dir;

class RelaisCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path() + "/relais.toml") << "[limits]\nauth_timeout_seconds = 1\n";
    server_ = std::make_unique<child_process>(std::vector<std::string>{
        RELAISD_BINARY, "--config", dir_.path() + "/relais.toml", "--listen", "127.0.0.1:0", "--data-dir",
        dir_.path() + "/data"});
    auto line = server_->wait_for_line("listening on https://", 20s);
    ASSERT_TRUE(line) << server_->stderr_text();
    port_ = relais::test::port_from_listening_line(*line);
  }
  void TearDown() override {
    server_->signal(SIGTERM);
    auto status = server_->wait_exit(15s);
    EXPECT_TRUE(status && *status == 0);
  }
  // Runs relais-cli with the trusted self-signed certificate; returns exit status and output.
  int cli(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    std::vector<std::string> argv{RELAIS_CLI_BINARY, "--server", "127.0.0.1:" + std::to_string(port_), "--ca",
                                  dir_.path() + "/data/tls/cert.pem"};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process p(argv);
    auto status = p.wait_exit(20s);
    if (out) *out = p.stdout_text();
    if (err) *err = p.stderr_text();
    return status.value_or(-1);
  }

  temp_dir dir_;
  std::unique_ptr<child_process> server_;
  std::uint16_t port_ = 0;
};

TEST_F(RelaisCli, HelloNegotiatesVersionOne) {
  std::string out;
  ASSERT_EQ(cli({"hello"}, &out), 0) << out;
  EXPECT_NE(out.find(R"("type":"welcome")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("version":1)"), std::string::npos) << out;
}

TEST_F(RelaisCli, UnknownVersionIsRefusedAndClosed4001) {
  std::string out;
  std::string err;
  EXPECT_EQ(cli({"hello", "--versions", "7,8"}, &out, &err), 3);
  EXPECT_NE(out.find(R"("code":400)"), std::string::npos) << out;
  EXPECT_NE(err.find("4001"), std::string::npos) << err;
}

TEST_F(RelaisCli, VerifiesTheCertificateUnlessTold) {
  std::string err;
  child_process p({RELAIS_CLI_BINARY, "--server", "127.0.0.1:" + std::to_string(port_), "hello"});
  auto status = p.wait_exit(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2) << p.stdout_text();
  child_process insecure({RELAIS_CLI_BINARY, "--insecure", "--server", "127.0.0.1:" + std::to_string(port_), "hello"});
  EXPECT_EQ(insecure.wait_exit(20s).value_or(-1), 0);
}

TEST_F(RelaisCli, BeneficiaryAuthenticatesWithItsKey) {
  std::string out;
  ASSERT_EQ(cli({"beneficiary", "--identity-seed", std::string(64, 'a'), "--wait-ms", "200"}, &out), 0) << out;
  EXPECT_NE(out.find(R"("type":"auth.ok")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("role":"beneficiary")"), std::string::npos) << out;
}

TEST_F(RelaisCli, BadFramesGetTypedErrors) {
  std::string out;
  EXPECT_EQ(cli({"beneficiary", "--send", R"({"type":"nonsense"})", "--send", R"({"type":"hello","versions":[1],"role":"worker"})",
                 "--send", "{", "--wait-ms", "200"},
                &out),
            3);
  EXPECT_NE(out.find(R"("code":103)"), std::string::npos) << out;  // unknown_type
  EXPECT_NE(out.find(R"("code":111)"), std::string::npos) << out;  // unexpected_message
  EXPECT_NE(out.find(R"("code":100)"), std::string::npos) << out;  // malformed_json
}

TEST_F(RelaisCli, WorkerLoginIsRefusedWithoutAccount) {
  std::ofstream(dir_.path() + "/pw") << "secret\n";
  std::string out;
  EXPECT_EQ(cli({"worker", "--username", "camille", "--password-file", dir_.path() + "/pw"}, &out), 3);
  EXPECT_NE(out.find(R"("code":201)"), std::string::npos) << out;
}

TEST_F(RelaisCli, UnauthenticatedSocketIsClosed4000AfterTheTimeout) {
  relais::client::ws_client ws;
  ASSERT_FALSE(ws.connect("127.0.0.1", port_));
  std::string frame;
  auto ec = ws.read(frame, 10s);
  EXPECT_TRUE(relais::client::is_closed(ec)) << ec.message();
  EXPECT_EQ(ws.close_code(), 4000);
}

TEST_F(RelaisCli, FirstFrameOtherThanHelloCloses1008) {
  relais::client::ws_client ws;
  ASSERT_FALSE(ws.connect("127.0.0.1", port_));
  ASSERT_FALSE(ws.send_text(R"({"type":"permanence.get"})"));
  std::string frame;
  ASSERT_FALSE(ws.read(frame));
  EXPECT_NE(frame.find(R"("code":111)"), std::string::npos) << frame;
  EXPECT_TRUE(relais::client::is_closed(ws.read(frame, 5s)));
  EXPECT_EQ(ws.close_code(), 1008);
}

}  // namespace

// ---------------------------------------------------------------- chat mode (two processes)

namespace {

using json = nlohmann::json;

/// A relais-cli chat process whose input is a FIFO the test writes commands to.
class chat_process {
 public:
  chat_process(std::vector<std::string> argv, const std::string& fifo) {
    if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + fifo);
    // O_RDWR: the open does not wait for the reader, and the reader sees no end of input
    // until the test closes its end.
    fd_ = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
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
  /// Waits for an event line containing `needle` (lines are consumed in order).
  std::optional<std::string> wait_for(const std::string& needle, std::chrono::milliseconds timeout = 30s) {
    return process_->wait_for_line(needle, timeout);
  }
  child_process& process() { return *process_; }

  /// Every event printed so far, parsed.
  std::vector<json> events() const {
    std::vector<json> out;
    std::istringstream in(process_->stdout_text());
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }

 private:
  int fd_ = -1;
  std::unique_ptr<child_process> process_;
};

/// The texts of the `message` events of `events`.
std::vector<std::string> texts(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.value("event", "") == "message") out.push_back(e.value("text", ""));
  }
  return out;
}

/// relaisd with an organisation key, TOTP not required, and one worker account "camille".
class RelaisCliChat : public ::testing::Test {
 protected:
  void SetUp() override {
    child_process keygen({RELAIS_CLI_BINARY, "org", "keygen", "--out", dir_.path() + "/org.key"});
    ASSERT_EQ(keygen.wait_exit(20s).value_or(-1), 0) << keygen.stderr_text();
    org_pub_ = json::parse(keygen.stdout_text()).at("public_key").get<std::string>();
    config_ = dir_.path() + "/relais.toml";
    std::ofstream(config_) << "[org]\npublic_key = \"" << org_pub_ << "\"\n[auth]\ntotp_required = "
                           << (totp_required() ? "true" : "false") << "\n"
                           << extra_config();
    password_file_ = dir_.path() + "/password";
    std::ofstream(password_file_) << "correct horse battery staple\n";
    for (const auto& [account, display] : accounts()) {
      child_process add({"/bin/sh", "-c", R"(exec "$0" --config "$1" --data-dir "$2" user add "$4" --display-name "$5" < "$3")",
                         RELAISD_BINARY, config_, data_, password_file_, account, display});
      ASSERT_EQ(add.wait_exit(60s).value_or(-1), 0) << add.stderr_text();
    }
    start_server();
  }
  void start_server() {
    // stderr to a file: nobody drains a pipe while the server runs.
    server_ = std::make_unique<child_process>(std::vector<std::string>{
        "/bin/sh", "-c", R"(exec "$0" --config "$1" --data-dir "$2" --listen 127.0.0.1:0 2>>"$3")", RELAISD_BINARY,
        config_, data_, dir_.path() + "/relaisd.log"});
    auto line = server_->wait_for_line("listening on https://", 20s);
    ASSERT_TRUE(line);
    port_ = relais::test::port_from_listening_line(*line);
  }
  /// Stops relaisd (SIGTERM) and starts it again on the same data folder (a new port).
  void restart_server() {
    server_->signal(SIGTERM);
    ASSERT_EQ(server_->wait_exit(15s).value_or(-1), 0);
    start_server();
  }
  void TearDown() override {
    server_->signal(SIGTERM);
    EXPECT_EQ(server_->wait_exit(15s).value_or(-1), 0);
  }
  /// More relaisd configuration for a derived fixture.
  virtual std::string extra_config() const { return {}; }
  virtual bool totp_required() const { return false; }
  /// Worker accounts (name, display name), all with the same password.
  virtual std::vector<std::pair<std::string, std::string>> accounts() const { return {{"camille", "Camille"}}; }
  std::vector<std::string> cli_args() const {
    return {RELAIS_CLI_BINARY, "--server", "127.0.0.1:" + std::to_string(port_), "--ca", data_ + "/tls/cert.pem",
            "chat"};
  }
  std::unique_ptr<chat_process> worker(const std::string& name = "w", const std::string& username = "camille") {
    auto args = cli_args();
    args.insert(args.end(), {"--role", "worker", "--username", username, "--password-file", password_file_,
                             "--state", dir_.path() + "/" + name + "-state", "--certificate-from-org-key",
                             dir_.path() + "/org.key"});
    return std::make_unique<chat_process>(args, dir_.path() + "/" + name + "-" + std::to_string(++fifos_) + ".fifo");
  }
  std::unique_ptr<chat_process> beneficiary(const std::string& name = "b", const std::string& org_pub = {},
                                            const std::vector<std::string>& extra = {}) {
    auto args = cli_args();
    args.insert(args.end(), {"--role", "beneficiary", "--org-key-pub", org_pub.empty() ? org_pub_ : org_pub,
                             "--state", dir_.path() + "/" + name + "-state"});
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<chat_process>(args, dir_.path() + "/" + name + "-" + std::to_string(++fifos_) + ".fifo");
  }
  /// Worker on shift, beneficiary queued and taken, the beneficiary's first message received:
  /// both sides have their session.
  void open_conversation(chat_process& w, chat_process& b) {
    w.type("/shift on");
    ASSERT_TRUE(w.wait_for(R"("event":"shift")")) << w.process().stdout_text();
    ASSERT_TRUE(w.wait_for(R"("event":"keys_published")")) << w.process().stdout_text();
    b.type("/join");
    ASSERT_TRUE(b.wait_for(R"("event":"queued")")) << b.process().stdout_text();
    w.type("/take");
    ASSERT_TRUE(w.wait_for(R"("event":"assigned")")) << w.process().stdout_text();
    ASSERT_TRUE(b.wait_for(R"("event":"secured")")) << b.process().stdout_text();
    b.type("Bonjour, j'ai besoin d'aide");
    ASSERT_TRUE(w.wait_for("j'ai besoin d'aide")) << w.process().stdout_text();
  }

  temp_dir dir_;
  std::string data_ = dir_.path() + "/data";
  std::string config_;
  std::string password_file_;
  std::string org_pub_;
  std::unique_ptr<child_process> server_;
  std::uint16_t port_ = 0;
  int fifos_ = 0;
};

TEST_F(RelaisCliChat, TwoPartiesChatBothWaysEndToEnd) {
  auto w = worker();
  auto b = beneficiary();
  open_conversation(*w, *b);
  w->type("Bonjour, je suis Camille. Comment allez-vous ?");
  ASSERT_TRUE(b->wait_for("je suis Camille")) << b->process().stdout_text();
  b->type("Pas très bien — merci de répondre");
  ASSERT_TRUE(w->wait_for("merci de répondre")) << w->process().stdout_text();
  w->type("//commande ? non, un message qui commence par une barre");
  ASSERT_TRUE(b->wait_for("/commande ? non")) << b->process().stdout_text();
  b->type("/end");
  ASSERT_TRUE(w->wait_for(R"("event":"ended")")) << w->process().stdout_text();
  ASSERT_TRUE(b->wait_for(R"("event":"ended")")) << b->process().stdout_text();
  b->end_input();
  w->end_input();
  EXPECT_EQ(b->process().wait_exit(30s).value_or(-1), 0) << b->process().stderr_text();
  EXPECT_EQ(w->process().wait_exit(30s).value_or(-1), 0) << w->process().stderr_text();

  EXPECT_EQ(texts(w->events()), (std::vector<std::string>{"Bonjour, j'ai besoin d'aide", "Pas très bien — merci de répondre"}));
  EXPECT_EQ(texts(b->events()), (std::vector<std::string>{"Bonjour, je suis Camille. Comment allez-vous ?",
                                                          "/commande ? non, un message qui commence par une barre"}));
  // The beneficiary verified the worker's certificate: the name is the certified one.
  for (const auto& e : b->events()) {
    if (e.value("event", "") == "secured") {
      EXPECT_EQ(e.value("worker_name", ""), "Camille");
      EXPECT_EQ(e.value("safety_number", "").size(), 71u);  // 60 digits in 12 groups
    }
  }
  // Keys and state are kept in files only their owner can read.
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/b-state/state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_.path() + "/b-state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(RelaisCliChat, BeneficiaryKilledMidStreamLosesNothingAndShowsNothingTwice) {
  auto w = worker();
  auto b = beneficiary();
  open_conversation(*w, *b);
  // A first batch while the beneficiary is online; it is killed in the middle of it.
  for (int i = 1; i <= 20; ++i) w->type("stream-" + std::to_string(100 + i));
  ASSERT_TRUE(b->wait_for("stream-105")) << b->process().stdout_text();
  b->process().signal(SIGKILL);
  ASSERT_TRUE(b->process().wait_exit(10s));
  ASSERT_TRUE(w->wait_for(R"("seq":21)")) << w->process().stdout_text();  // the 20th is durable
  // A second batch while it is away: waits in the store.
  for (int i = 21; i <= 30; ++i) w->type("stream-" + std::to_string(100 + i));
  ASSERT_TRUE(w->wait_for(R"("seq":31)")) << w->process().stdout_text();

  auto b2 = beneficiary();
  ASSERT_TRUE(b2->wait_for("stream-130")) << b2->process().stdout_text() << b2->process().stderr_text();
  // The restarted side continues the same ratchet in both directions.
  b2->type("Je suis revenue");
  ASSERT_TRUE(w->wait_for("Je suis revenue")) << w->process().stdout_text();
  w->type("Bon retour");
  ASSERT_TRUE(b2->wait_for("Bon retour")) << b2->process().stdout_text();
  b2->end_input();
  EXPECT_EQ(b2->process().wait_exit(30s).value_or(-1), 0) << b2->process().stderr_text();

  std::vector<std::string> shown = texts(b->events());
  auto again = texts(b2->events());
  shown.insert(shown.end(), again.begin(), again.end());
  std::vector<std::string> expected;
  for (int i = 1; i <= 30; ++i) expected.push_back("stream-" + std::to_string(100 + i));
  expected.emplace_back("Bon retour");
  EXPECT_EQ(shown, expected) << "first run:\n" << b->process().stdout_text() << "second run:\n"
                             << b2->process().stdout_text();
  // The second run resumed with a cursor (sync), not from the start.
  std::set<std::int64_t> seqs;
  for (const auto* run : {b.get(), b2.get()}) {
    for (const auto& e : run->events()) {
      if (e.value("event", "") == "message") {
        EXPECT_TRUE(seqs.insert(e.at("seq").get<std::int64_t>()).second);
      }
    }
  }
  EXPECT_EQ(seqs.size(), expected.size());
}

TEST_F(RelaisCliChat, BeneficiaryRefusesAWorkerCertifiedByAnotherOrganisation) {
  child_process other({RELAIS_CLI_BINARY, "org", "keygen", "--out", dir_.path() + "/other.key"});
  ASSERT_EQ(other.wait_exit(20s).value_or(-1), 0);
  auto other_pub = json::parse(other.stdout_text()).at("public_key").get<std::string>();
  auto w = worker();
  auto b = beneficiary("b", other_pub);
  w->type("/shift on");
  ASSERT_TRUE(w->wait_for(R"("event":"keys_published")")) << w->process().stdout_text();
  b->type("/join");
  ASSERT_TRUE(b->wait_for(R"("event":"queued")"));
  w->type("/take");
  ASSERT_TRUE(w->wait_for(R"("event":"assigned")"));
  auto line = b->wait_for(R"("event":"untrusted")");
  ASSERT_TRUE(line) << b->process().stdout_text();
  EXPECT_NE(line->find("org"), std::string::npos) << *line;
  b->type("ce message ne doit jamais partir");
  ASSERT_TRUE(b->wait_for(R"("event":"held")"));
  b->end_input();
  EXPECT_EQ(b->process().wait_exit(30s).value_or(-1), 3);
  EXPECT_EQ(b->process().stdout_text().find(R"("event":"sent")"), std::string::npos);
}

TEST_F(RelaisCliChat, WorkerResumesWithItsStoredToken) {
  auto w = worker();
  ASSERT_TRUE(w->wait_for(R"("event":"keys_published")")) << w->process().stdout_text();
  w->end_input();
  ASSERT_EQ(w->process().wait_exit(30s).value_or(-1), 0) << w->process().stderr_text();
  auto again = worker();
  auto line = again->wait_for(R"("event":"authenticated")");
  ASSERT_TRUE(line) << again->process().stdout_text();
  EXPECT_NE(line->find(R"("resumed":true)"), std::string::npos) << *line;
  again->end_input();
  EXPECT_EQ(again->process().wait_exit(30s).value_or(-1), 0) << again->process().stderr_text();
  // Published once: the second run does not upload its prekeys again.
  EXPECT_EQ(again->process().stdout_text().find("keys_published"), std::string::npos);
}

TEST_F(RelaisCliChat, WorkerWithoutCertificateShowsItsIdentityThenUsesTheAdminsCertificate) {
  auto args = cli_args();
  args.insert(args.end(), {"--role", "worker", "--username", "camille", "--password-file", password_file_, "--state",
                           dir_.path() + "/w-state", "--org-key-pub", org_pub_});
  std::string identity;
  {
    chat_process first(args, dir_.path() + "/first.fifo");
    auto line = first.wait_for(R"("event":"identity")");
    ASSERT_TRUE(line) << first.process().stdout_text();
    identity = json::parse(*line).at("identity_key").get<std::string>();
    EXPECT_EQ(first.process().wait_exit(20s).value_or(-1), 1);
  }
  child_process certify({RELAIS_CLI_BINARY, "org", "certify", "--org-key", dir_.path() + "/org.key", "--identity-key",
                         identity, "--name", "Camille D.", "--days", "30"});
  ASSERT_EQ(certify.wait_exit(20s).value_or(-1), 0) << certify.stderr_text();
  auto certificate = certify.stdout_text().substr(0, certify.stdout_text().find('\n'));
  args.insert(args.end(), {"--certificate", certificate});
  chat_process w(args, dir_.path() + "/second.fifo");
  auto b = beneficiary();
  open_conversation(w, *b);
  auto secured = b->events();
  auto it = std::find_if(secured.begin(), secured.end(), [](const json& e) { return e.value("event", "") == "secured"; });
  ASSERT_NE(it, secured.end());
  EXPECT_EQ(it->value("worker_name", ""), "Camille D.");
}

TEST_F(RelaisCliChat, StateFolderIsUsedByOneProcessAtATime) {
  auto b = beneficiary();
  ASSERT_TRUE(b->wait_for(R"("event":"synced")"));
  auto second = beneficiary();
  EXPECT_EQ(second->process().wait_exit(20s).value_or(-1), 1);
  EXPECT_NE(second->process().stderr_text().find("in use"), std::string::npos) << second->process().stderr_text();
}

/// relaisd letting each connection send only a few frames per second.
class RelaisCliChatRateLimited : public RelaisCliChat {
 protected:
  std::string extra_config() const override { return "[limits]\nmessages_per_second = 10\nmessages_burst = 3\n"; }
};

TEST_F(RelaisCliChatRateLimited, RefusedSendsGoAgainAfterTheDelayWithTheirIdentifier) {
  auto w = worker();
  auto b = beneficiary();
  open_conversation(*w, *b);
  for (int i = 1; i <= 15; ++i) w->type("burst-" + std::to_string(100 + i));
  w->end_input();
  EXPECT_EQ(w->process().wait_exit(30s).value_or(-1), 0) << w->process().stdout_text();
  EXPECT_NE(w->process().stdout_text().find(R"("name":"rate_limited")"), std::string::npos)
      << "the limit was not reached: the test does not test the resend";
  std::vector<std::string> expected;
  for (int i = 1; i <= 15; ++i) expected.push_back("burst-" + std::to_string(100 + i));
  ASSERT_TRUE(b->wait_for(R"("event":"message")")) << b->process().stdout_text();
  // Each once: a refused send was not stored, its resend was. (The order of a resent message
  // against the next ones is the server's order of acceptance.)
  std::vector<std::string> shown;
  for (int attempt = 0; attempt < 300 && shown.size() < expected.size(); ++attempt) {
    (void)b->wait_for("burst-", 100ms);
    shown = texts(b->events());
  }
  std::sort(shown.begin(), shown.end());
  EXPECT_EQ(shown, expected) << b->process().stdout_text();
}

/// relaisd with its default policy: TOTP required.
class RelaisCliChatTotp : public RelaisCliChat {
 protected:
  bool totp_required() const override { return true; }
};

/// The RFC 6238 code (HMAC-SHA1, 6 digits, 30 s) of an otpauth:// URI's base32 secret, now.
std::string totp_now(const std::string& uri) {
  auto at = uri.find("secret=");
  auto secret = uri.substr(at + 7, uri.find('&', at) - at - 7);
  std::string key;
  unsigned buffer = 0;
  int bits = 0;
  for (char ch : secret) {
    auto pos = std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").find(ch);
    if (pos == std::string_view::npos) continue;
    buffer = (buffer << 5) | static_cast<unsigned>(pos);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      key.push_back(static_cast<char>((buffer >> bits) & 0xFFU));
    }
  }
  auto counter = static_cast<std::uint64_t>(std::time(nullptr)) / 30;
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i, counter >>= 8) msg[i] = static_cast<unsigned char>(counter & 0xFFU);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &len);
  auto offset = mac[len - 1] & 0x0FU;
  auto code = ((static_cast<std::uint32_t>(mac[offset]) & 0x7FU) << 24) | (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
              (static_cast<std::uint32_t>(mac[offset + 2]) << 8) | static_cast<std::uint32_t>(mac[offset + 3]);
  auto text = std::to_string(code % 1000000);
  return std::string(6 - text.size(), '0') + text;
}

TEST_F(RelaisCliChatTotp, WorkerEnrolsTotpThenPublishesItsKeys) {
  auto w = worker();
  ASSERT_TRUE(w->wait_for(R"("totp_enrolled":false)")) << w->process().stdout_text();
  auto refused = w->wait_for(R"("name":"totp_required")");
  ASSERT_TRUE(refused) << w->process().stdout_text();
  w->type("/totp setup");
  auto secret = w->wait_for(R"("event":"totp_secret")");
  ASSERT_TRUE(secret) << w->process().stdout_text();
  auto uri = json::parse(*secret).at("otpauth_uri").get<std::string>();
  ASSERT_EQ(uri.rfind("otpauth://totp/", 0), 0u) << uri;
  w->type("/totp " + totp_now(uri));
  ASSERT_TRUE(w->wait_for(R"("event":"totp_enrolled")")) << w->process().stdout_text();
  ASSERT_TRUE(w->wait_for(R"("event":"keys_published")")) << w->process().stdout_text();
  w->type("/shift on");
  ASSERT_TRUE(w->wait_for(R"("event":"shift")")) << w->process().stdout_text();
  w->end_input();
  EXPECT_EQ(w->process().wait_exit(30s).value_or(-1), 3);  // the first refusals are reported
}

// ---------------------------------------------------------------- the permanence (issue 7)

/// The JSON of an event line waited for with chat_process::wait_for.
/// An empty object when the wait timed out, so that the assertions after it fail readably.
json event_of(const std::optional<std::string>& line) { return line ? json::parse(*line) : json::object(); }

/// relaisd with two worker accounts, Camille and Nadia.
class RelaisCliPermanence : public RelaisCliChat {
 protected:
  std::vector<std::pair<std::string, std::string>> accounts() const override {
    return {{"camille", "Camille"}, {"nadia", "Nadia"}};
  }
  /// A worker logged in, her keys published and her shift started; returns her worker id.
  std::int64_t on_shift(chat_process& w) {
    auto auth = event_of(w.wait_for(R"("event":"authenticated")"));
    EXPECT_TRUE(auth.contains("worker_id")) << w.process().stdout_text();
    if (!auth.value("resumed", false)) {  // a first run publishes its keys
      EXPECT_TRUE(w.wait_for(R"("event":"keys_published")")) << w.process().stdout_text();
    }
    w.type("/shift on");
    EXPECT_TRUE(w.wait_for(R"("state":"on")")) << w.process().stdout_text();
    return auth.value("worker_id", std::int64_t{0});
  }
  /// Runs each worker once so that her identity, prekeys and certificate are published, then
  /// restarts relaisd: the permanence reads the workers' identity keys at start (and only every
  /// minute after), and what follows needs them (inbox recipients, transfers).
  void publish_then_restart(const std::vector<std::pair<std::string, std::string>>& workers) {
    for (const auto& [state, username] : workers) {
      auto w = worker(state, username);
      ASSERT_TRUE(w->wait_for(R"("event":"keys_published")")) << w->process().stdout_text();
      w->end_input();
      ASSERT_EQ(w->process().wait_exit(30s).value_or(-1), 0) << w->process().stderr_text();
    }
    restart_server();
  }
  /// The ticket of a beneficiary that joined.
  static std::int64_t joined(chat_process& b) {
    auto q = event_of(b.wait_for(R"("event":"queued")"));
    EXPECT_TRUE(q.contains("ticket_id")) << b.process().stdout_text();
    return q.value("ticket_id", std::int64_t{0});
  }
};

TEST_F(RelaisCliPermanence, UrgentJoinIsServedFirstAndLeavingIsExplicit) {
  auto w = worker();
  on_shift(*w);
  auto b1 = beneficiary("b1");
  b1->type("/join");
  auto t1 = joined(*b1);
  auto b2 = beneficiary("b2", {}, {"--urgent"});
  b2->type("/join");
  auto q2 = event_of(b2->wait_for(R"("event":"queued")"));
  EXPECT_EQ(q2.value("position", 0), 1) << "urgent goes first";
  auto b3 = beneficiary("b3");
  b3->type("/join");
  auto q3 = event_of(b3->wait_for(R"("event":"queued")"));
  EXPECT_EQ(q3.value("position", 0), 3);

  w->type("/queue");
  auto snap = event_of(w->wait_for(R"("push":false)"));  // the reply, not a push
  ASSERT_EQ(snap.value("total", 0), 3) << w->process().stdout_text();
  ASSERT_EQ(snap.at("entries").size(), 3u);
  EXPECT_EQ(snap["entries"][0]["ticket_id"], q2.at("ticket_id"));
  EXPECT_TRUE(snap["entries"][0]["urgent"].get<bool>());
  EXPECT_EQ(snap["entries"][1]["ticket_id"], t1);
  EXPECT_FALSE(snap["entries"][1]["urgent"].get<bool>());
  EXPECT_EQ(snap["entries"][2]["ticket_id"], q3.at("ticket_id"));

  b3->type("/leave");
  ASSERT_TRUE(b3->wait_for(R"("event":"left")")) << b3->process().stdout_text();
  b3->type("/leave");  // not waiting any more: a documented refusal
  ASSERT_TRUE(b3->wait_for(R"("name":"not_in_queue")")) << b3->process().stdout_text();
  w->type("/queue");
  auto after = event_of(w->wait_for(R"("push":false)"));
  EXPECT_EQ(after.value("total", 0), 2) << w->process().stdout_text();

  w->type("/take");
  auto assigned = event_of(w->wait_for(R"("event":"assigned")"));
  EXPECT_TRUE(assigned.value("urgent", false)) << w->process().stdout_text();
  ASSERT_TRUE(b2->wait_for(R"("event":"opened")")) << b2->process().stdout_text();
  ASSERT_TRUE(b2->wait_for(R"("event":"secured")")) << b2->process().stdout_text();
  b2->type("Bonjour, c'est urgent");
  ASSERT_TRUE(w->wait_for("c'est urgent")) << w->process().stdout_text();
  EXPECT_EQ(b1->process().stdout_text().find(R"("event":"opened")"), std::string::npos);

  // Workers on shift are told of the changes without asking (queue.snapshot pushes,
  // coalesced to one a second).
  EXPECT_TRUE(w->wait_for(R"("push":true)", 10s)) << w->process().stdout_text();
  b3->end_input();
  EXPECT_EQ(b3->process().wait_exit(30s).value_or(-1), 3);  // the second /leave was refused
  b2->end_input();
  EXPECT_EQ(b2->process().wait_exit(30s).value_or(-1), 0) << b2->process().stderr_text();
}

TEST_F(RelaisCliPermanence, WorkerTakesAChosenTicketOnlyOnce) {
  auto w = worker();
  on_shift(*w);
  auto b1 = beneficiary("b1");
  b1->type("/join");
  joined(*b1);
  auto b2 = beneficiary("b2");
  b2->type("/join");
  auto t2 = joined(*b2);
  w->type("/take " + std::to_string(t2));
  ASSERT_TRUE(w->wait_for(R"("event":"assigned")")) << w->process().stdout_text();
  ASSERT_TRUE(b2->wait_for(R"("event":"secured")")) << b2->process().stdout_text();
  w->type("/take " + std::to_string(t2));
  auto refused = event_of(w->wait_for(R"("event":"error")"));
  EXPECT_EQ(refused.value("request", ""), "queue.take") << w->process().stdout_text();
  EXPECT_EQ(b1->process().stdout_text().find(R"("event":"opened")"), std::string::npos);
  w->end_input();
  EXPECT_EQ(w->process().wait_exit(30s).value_or(-1), 3);
}

TEST_F(RelaisCliPermanence, ShiftOffMeansNoTakeAndTurnsTheQueueIntoTheInboxOffer) {
  publish_then_restart({{"w", "camille"}});
  auto w = worker();
  on_shift(*w);
  auto b = beneficiary();
  b->type("/join");
  joined(*b);
  w->type("/shift off end");
  ASSERT_TRUE(w->wait_for(R"("state":"off")")) << w->process().stdout_text();
  // Off means off: no assignment.
  w->type("/take");
  ASSERT_TRUE(w->wait_for(R"("name":"off_shift")")) << w->process().stdout_text();
  // Nobody on call any more: the waiting beneficiary is told, and offered the inbox.
  auto timeout = event_of(b->wait_for(R"("event":"queue_timeout")"));
  EXPECT_EQ(timeout.value("reason", ""), "closed") << b->process().stdout_text();
  EXPECT_TRUE(timeout.value("inbox_available", false)) << b->process().stdout_text();
  w->type("/shift on");
  ASSERT_TRUE(w->wait_for(R"("state":"on")")) << w->process().stdout_text();
  w->type("/take");
  ASSERT_TRUE(w->wait_for(R"("name":"queue_empty")")) << w->process().stdout_text();
  w->end_input();
  EXPECT_EQ(w->process().wait_exit(30s).value_or(-1), 3);  // the refusals are reported
}

TEST_F(RelaisCliPermanence, CommandsOfTheOtherRoleAndBadArgumentsAreUsageErrors) {
  auto w = worker();
  on_shift(*w);
  for (const auto* line : {"/join", "/prechat bonjour", "/leave", "/holiday maybe", "/presence sleepy",
                           "/shift off later", "/transfer nobody", "/inbox", "/inbox open 99"}) {
    w->type(line);
  }
  w->type("/quit");
  EXPECT_EQ(w->process().wait_exit(30s).value_or(-1), 1) << w->process().stdout_text();
  std::size_t usage_errors = 0;
  for (const auto& e : w->events()) usage_errors += e.value("name", "") == "usage" ? 1U : 0U;
  EXPECT_EQ(usage_errors, 9u) << w->process().stdout_text();
  auto b = beneficiary();
  ASSERT_TRUE(b->wait_for(R"("event":"synced")"));
  for (const auto* line : {"/queue", "/take", "/shift on", "/holiday on", "/presence busy", "/transfer 3",
                           "/inbox"}) {
    b->type(line);
  }
  b->type("/quit");
  EXPECT_EQ(b->process().wait_exit(30s).value_or(-1), 1) << b->process().stdout_text();
}

TEST_F(RelaisCliPermanence, PrechatIsSealedToTheWorkersAndReadByTheOneWhoTakes) {
  publish_then_restart({{"w1", "camille"}, {"w2", "nadia"}});
  auto camille = worker("w1", "camille");
  auto camille_id = on_shift(*camille);
  auto nadia = worker("w2", "nadia");
  auto nadia_id = on_shift(*nadia);
  auto b = beneficiary();
  b->type("/prechat Prénom : Louise. Motif : je me sens seule depuis le décès de mon mari.");
  b->type("/join urgent");
  auto sealed = event_of(b->wait_for(R"("event":"sealed")"));
  ASSERT_EQ(sealed.value("purpose", ""), "prechat") << b->process().stdout_text() << camille->process().stdout_text();
  auto ids = sealed.at("recipients").get<std::vector<std::int64_t>>();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::int64_t>{std::min(camille_id, nadia_id), std::max(camille_id, nadia_id)}));
  joined(*b);
  nadia->type("/take");
  auto prechat = event_of(nadia->wait_for(R"("event":"prechat")"));
  EXPECT_EQ(prechat.value("text", ""), "Prénom : Louise. Motif : je me sens seule depuis le décès de mon mari.")
      << nadia->process().stdout_text();
  ASSERT_TRUE(b->wait_for(R"("event":"secured")")) << b->process().stdout_text();
  b->type("Merci de me répondre");
  ASSERT_TRUE(nadia->wait_for("Merci de me répondre")) << nadia->process().stdout_text();
  // Nothing of it reached the other worker, and the server never saw the text.
  EXPECT_EQ(camille->process().stdout_text().find("Louise"), std::string::npos);
  for (const auto* file : {"/relais.db", "/relais.db-wal"}) {
    std::ifstream db(data_ + file, std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
    EXPECT_EQ(raw.find("Louise"), std::string::npos) << file;
  }
}

TEST_F(RelaisCliPermanence, InboxMessageLeftWhileClosedIsReadAndAnsweredAtTheNextShift) {
  // The worker published her keys earlier, off shift: the permanence is closed.
  publish_then_restart({{"w", "camille"}});
  {
    auto b = beneficiary();
    b->type("/join");
    ASSERT_TRUE(b->wait_for(R"("name":"permanence_closed")")) << b->process().stdout_text();
    b->type("/inbox Bonsoir, pouvez-vous me rappeler demain matin ? C'est pour mon fils.");
    auto sent = event_of(b->wait_for(R"("event":"inbox_sent")"));
    ASSERT_GT(sent.value("inbox_id", 0), 0) << b->process().stdout_text();
    // A feedback goes the same sealed way (CRYPTO.md §17.8); it needs no answer.
    b->type("/feedback helped Merci pour l'écoute de la semaine dernière");
    ASSERT_TRUE(b->wait_for(R"("event":"inbox_sent","inbox_id":)" + std::to_string(sent.value("inbox_id", 0) + 1)))
        << b->process().stdout_text();
    b->end_input();
    EXPECT_EQ(b->process().wait_exit(30s).value_or(-1), 3);  // the /join was refused
  }
  auto w = worker();
  on_shift(*w);
  w->type("/inbox list");
  auto listed = event_of(w->wait_for(R"("event":"inbox")"));
  ASSERT_EQ(listed.at("items").size(), 2u) << w->process().stdout_text();
  auto inbox_id = listed["items"][0].at("inbox_id").get<std::int64_t>();
  auto feedback_id = listed["items"][1].at("inbox_id").get<std::int64_t>();
  w->type("/inbox open " + std::to_string(inbox_id));
  auto opened = event_of(w->wait_for(R"("event":"inbox_message")"));
  EXPECT_EQ(opened.value("kind", ""), "message") << w->process().stdout_text();
  EXPECT_EQ(opened.value("text", ""), "Bonsoir, pouvez-vous me rappeler demain matin ? C'est pour mon fils.")
      << w->process().stdout_text();
  w->type("/inbox open " + std::to_string(feedback_id));
  auto feedback = event_of(w->wait_for(R"("event":"inbox_message","kind":"feedback")"));
  EXPECT_EQ(feedback.value("kind", ""), "feedback") << w->process().stdout_text();
  EXPECT_EQ(feedback.value("rating", ""), "helped");
  EXPECT_EQ(feedback.value("text", ""), "Merci pour l'écoute de la semaine dernière");
  w->type("/inbox dismiss " + std::to_string(feedback_id));
  ASSERT_TRUE(w->wait_for(R"("event":"inbox_dismissed")")) << w->process().stdout_text();
  w->type("/inbox list " + std::to_string(inbox_id));  // after the message: nothing left
  ASSERT_TRUE(w->wait_for(R"("event":"inbox","items":[])")) << w->process().stdout_text();
  w->type("/inbox answer " + std::to_string(inbox_id));
  auto assigned = event_of(w->wait_for(R"("event":"assigned")"));
  EXPECT_EQ(assigned.value("inbox_id", std::int64_t{0}), inbox_id) << w->process().stdout_text();
  // The beneficiary comes back (same identity): the conversation is there, end to end.
  auto back = beneficiary();
  ASSERT_TRUE(back->wait_for(R"("event":"secured")")) << back->process().stdout_text();
  back->type("Merci d'avoir répondu");
  ASSERT_TRUE(w->wait_for("Merci d'avoir répondu")) << w->process().stdout_text();
  w->type("Bonjour, je vous écoute.");
  ASSERT_TRUE(back->wait_for("je vous écoute")) << back->process().stdout_text();
  w->type("/inbox answer " + std::to_string(inbox_id));  // answered already
  ASSERT_TRUE(w->wait_for(R"("request":"inbox.answer")")) << w->process().stdout_text();
}

TEST_F(RelaisCliPermanence, TransferIsSignedByTheCurrentWorkerAndStartsANewSession) {
  publish_then_restart({{"w1", "camille"}, {"w2", "nadia"}});
  auto camille = worker("w1", "camille");
  on_shift(*camille);
  auto nadia = worker("w2", "nadia");
  auto nadia_id = on_shift(*nadia);
  auto b = beneficiary();
  b->type("/join");
  joined(*b);
  camille->type("/take");
  ASSERT_TRUE(camille->wait_for(R"("event":"assigned")")) << camille->process().stdout_text();
  ASSERT_TRUE(b->wait_for(R"("event":"secured")")) << b->process().stdout_text();
  b->type("Premier message, pour Camille");
  ASSERT_TRUE(camille->wait_for("pour Camille")) << camille->process().stdout_text();
  camille->type("/transfer " + std::to_string(nadia_id));
  ASSERT_TRUE(camille->wait_for(R"("event":"transfer_sent")")) << camille->process().stdout_text();
  ASSERT_TRUE(camille->wait_for(R"("event":"transferred")")) << camille->process().stdout_text();
  auto assigned = event_of(nadia->wait_for(R"("event":"assigned")"));
  EXPECT_TRUE(assigned.contains("transferred_from")) << nadia->process().stdout_text();
  auto moved = event_of(b->wait_for(R"("event":"transferred")"));
  EXPECT_TRUE(moved.value("verified", false)) << b->process().stdout_text();
  auto secured = event_of(b->wait_for(R"("event":"secured")"));
  EXPECT_EQ(secured.value("worker_name", ""), "Nadia") << b->process().stdout_text();
  b->type("Suite, pour Nadia");
  ASSERT_TRUE(nadia->wait_for("pour Nadia")) << nadia->process().stdout_text() << b->process().stdout_text()
                                              << camille->process().stdout_text();
  nadia->type("Bonjour, Camille m'a passé le relais.");
  ASSERT_TRUE(b->wait_for("passé le relais")) << b->process().stdout_text();
  // History did not follow through the server: Nadia never read Camille's conversation.
  EXPECT_EQ(nadia->process().stdout_text().find("pour Camille"), std::string::npos);
  EXPECT_EQ(camille->process().stdout_text().find("pour Nadia"), std::string::npos);
}

TEST_F(RelaisCliPermanence, HolidayPresenceAndStatus) {
  auto w = worker();
  on_shift(*w);
  w->type("/presence available 2");
  ASSERT_TRUE(w->wait_for(R"("event":"presence")")) << w->process().stdout_text();
  auto b = beneficiary();
  b->type("/permanence");
  auto status = event_of(b->wait_for(R"("event":"permanence")"));
  EXPECT_TRUE(status.value("open", false)) << b->process().stdout_text();
  EXPECT_FALSE(status.at("emergency_numbers").empty()) << b->process().stdout_text();
  w->type("/holiday on");
  ASSERT_TRUE(w->wait_for(R"("state":"holiday")")) << w->process().stdout_text();
}

TEST(RelaisCliOrg, KeygenWritesAPrivateFileAndNeverOverwritesIt) {
  temp_dir dir;
  auto file = dir.path() + "/org.key";
  child_process keygen({RELAIS_CLI_BINARY, "org", "keygen", "--out", file});
  ASSERT_EQ(keygen.wait_exit(20s).value_or(-1), 0) << keygen.stderr_text();
  auto out = json::parse(keygen.stdout_text());
  EXPECT_EQ(out.at("public_key").get<std::string>().size(), 43u);
  EXPECT_EQ(out.at("fingerprint").get<std::string>().size(), 43u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(file);
  std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  child_process again({RELAIS_CLI_BINARY, "org", "keygen", "--out", file});
  EXPECT_EQ(again.wait_exit(20s).value_or(-1), 1);
  std::ifstream in2(file);
  std::string after((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_EQ(before, after);
}

TEST(RelaisCliOrg, CertifyRefusesBadKeysNamesAndFiles) {
  temp_dir dir;
  auto file = dir.path() + "/org.key";
  child_process keygen({RELAIS_CLI_BINARY, "org", "keygen", "--out", file});
  ASSERT_EQ(keygen.wait_exit(20s).value_or(-1), 0);
  auto org_pub = json::parse(keygen.stdout_text()).at("public_key").get<std::string>();
  auto certify = [&](const std::string& key_file, const std::string& identity, const std::string& name,
                     const std::string& days = "365") {
    child_process p({RELAIS_CLI_BINARY, "org", "certify", "--org-key", key_file, "--identity-key", identity, "--name",
                     name, "--days", days});
    return std::make_pair(p.wait_exit(20s).value_or(-1), p.stdout_text());
  };
  auto [status, cert] = certify(file, org_pub, "Camille");
  EXPECT_EQ(status, 0);
  EXPECT_GT(cert.size(), 100u);
  EXPECT_EQ(certify(file, "not-base64!", "Camille").first, 1);
  EXPECT_EQ(certify(file, org_pub.substr(0, 40), "Camille").first, 1);   // not 32 bytes
  EXPECT_EQ(certify(file, org_pub, std::string(65, 'x')).first, 1);     // name over 64 bytes
  EXPECT_EQ(certify(file, org_pub, "Camille", "0").first, 1);
  EXPECT_EQ(certify(dir.path() + "/missing.key", org_pub, "Camille").first, 1);
  std::ofstream(dir.path() + "/damaged.key") << R"({"kind":"relais-org-key-v1","seed":"AAAA","public_key":"x"})";
  EXPECT_EQ(certify(dir.path() + "/damaged.key", org_pub, "Camille").first, 1);
}

}  // namespace
