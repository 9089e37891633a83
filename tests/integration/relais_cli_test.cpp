// relais-cli against a real relaisd: the handshake, version refusal, beneficiary
// authentication, error frames, and relaisd's authentication timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

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
