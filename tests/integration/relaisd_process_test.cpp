// relaisd as a user runs it: the real binary, its startup lines, its refusals of bad
// configuration, and a graceful stop on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "relais/client/ws_client.hpp"
#include "relais/test/process.hpp"

namespace {

using namespace std::chrono_literals;
using relais::test::child_process;
using relais::test::temp_dir;

std::vector<std::string> relaisd(std::vector<std::string> args) {
  args.insert(args.begin(), RELAISD_BINARY);
  return args;
}

TEST(Relaisd, StartsPrintsUrlsServesAndStopsOnSigterm) {
  temp_dir dir;
  auto data = dir.path() + "/data";
  child_process p(relaisd({"--listen", "127.0.0.1:0", "--data-dir", data}));
  auto line = p.wait_for_line("listening on https://", 20s);
  ASSERT_TRUE(line) << p.stdout_text() << p.stderr_text();
  auto port = relais::test::port_from_listening_line(*line);
  ASSERT_NE(port, 0);
  ASSERT_TRUE(p.wait_for_line("SHA-256", 5s));
  EXPECT_TRUE(std::filesystem::exists(data + "/tls/cert.pem"));
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  relais::client::http_response res;
  ASSERT_FALSE(relais::client::https_request("127.0.0.1", port, "GET", "/healthz", res));
  EXPECT_EQ(res.status, 200u);
  ASSERT_FALSE(relais::client::https_request("127.0.0.1", port, "GET", "/readyz", res));
  EXPECT_EQ(res.status, 200u);

  relais::client::ws_client ws;
  ASSERT_FALSE(ws.connect("127.0.0.1", port));
  p.signal(SIGTERM);
  std::string got;
  EXPECT_TRUE(relais::client::is_closed(ws.read(got, 10s)));
  EXPECT_EQ(ws.close_code(), 1001);
  auto status = p.wait_exit(15s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << p.stderr_text();
  EXPECT_NE(p.stderr_text().find("event=stopped"), std::string::npos);
}

// Behind a reverse proxy that ends TLS itself: the plain loopback listener is printed and
// serves, beside the TLS port.
TEST(Relaisd, ServesPlainHttpOnLoopbackForAReverseProxyWhenConfigured) {
  temp_dir dir;
  std::ofstream(dir.path() + "/relais.toml") << "[server]\nplain_listen = \"127.0.0.1:0\"\n";
  child_process p(relaisd({"--config", dir.path() + "/relais.toml", "--listen", "127.0.0.1:0", "--data-dir",
                           dir.path() + "/data"}));
  auto line = p.wait_for_line("plain HTTP for the reverse proxy on this machine: http://127.0.0.1:", 20s);
  ASSERT_TRUE(line) << p.stdout_text() << p.stderr_text();
  auto plain_port = static_cast<unsigned short>(std::strtoul(line->c_str() + line->rfind(':') + 1, nullptr, 10));
  ASSERT_NE(plain_port, 0);
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), plain_port});
  boost::asio::write(s, boost::asio::buffer(std::string_view("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string out;
  boost::system::error_code ec;
  boost::asio::read(s, boost::asio::dynamic_buffer(out), ec);
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("ready\n"), std::string::npos) << out;
  p.signal(SIGTERM);
  auto status = p.wait_exit(15s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << p.stderr_text();
}

TEST(Relaisd, OpensItsStoreAndBacksItUpOnline) {
  temp_dir dir;
  auto data = dir.path() + "/data";
  child_process p(relaisd({"--listen", "127.0.0.1:0", "--data-dir", data}));
  ASSERT_TRUE(p.wait_for_line("listening on https://", 20s)) << p.stderr_text();
  EXPECT_TRUE(std::filesystem::exists(data + "/relais.db"));
  // The backup runs beside the live server.
  child_process b(relaisd({"--data-dir", data, "backup", dir.path() + "/copy.db"}));
  auto status = b.wait_exit(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << b.stderr_text();
  EXPECT_NE(b.stdout_text().find("backup written to"), std::string::npos);
  EXPECT_GT(std::filesystem::file_size(dir.path() + "/copy.db"), 0u);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(15s).value_or(-1), 0);
}

TEST(Relaisd, RefusesADamagedStoreNamingTheFile) {
  temp_dir dir;
  auto data = dir.path() + "/data";
  std::filesystem::create_directories(data);
  std::ofstream(data + "/relais.db") << std::string(8192, 'x');
  child_process p(relaisd({"--listen", "127.0.0.1:0", "--data-dir", data}));
  auto status = p.wait_exit(20s);
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  EXPECT_NE(p.stderr_text().find(data + "/relais.db"), std::string::npos) << p.stderr_text();
  EXPECT_EQ(p.stdout_text().find("listening"), std::string::npos);
}

TEST(Relaisd, KeepsItsSelfSignedCertificateAcrossRestarts) {
  temp_dir dir;
  auto data = dir.path() + "/data";
  std::string first;
  for (int run = 0; run < 2; ++run) {
    child_process p(relaisd({"--listen", "127.0.0.1:0", "--data-dir", data}));
    auto line = p.wait_for_line("SHA-256", 20s);
    ASSERT_TRUE(line) << p.stderr_text();
    if (run == 0) first = *line;
    else EXPECT_EQ(*line, first);
    p.signal(SIGTERM);
    ASSERT_TRUE(p.wait_exit(15s));
  }
}

struct bad_start {
  std::string config;                // TOML written to relais.toml ("" = no --config)
  std::vector<std::string> args;     // extra arguments
  std::string expected;              // a fragment of the single error line
};

class RelaisdRefuses : public ::testing::TestWithParam<bad_start> {};

TEST_P(RelaisdRefuses, BadSetupWithOneClearLineAndNonZeroExit) {
  temp_dir dir;
  const auto& c = GetParam();
  std::vector<std::string> args;
  if (!c.config.empty()) {
    std::ofstream(dir.path() + "/relais.toml") << c.config;
    args.push_back("--config");
    args.push_back(dir.path() + "/relais.toml");
  }
  for (auto a : c.args) {
    auto at = a.find("$DIR");
    if (at != std::string::npos) a.replace(at, 4, dir.path());
    args.push_back(a);
  }
  if (std::find(args.begin(), args.end(), "--data-dir") == args.end()) {
    args.push_back("--data-dir");
    args.push_back(dir.path() + "/data");
  }
  if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
    args.push_back("--listen");
    args.push_back("127.0.0.1:0");
  }
  child_process p(relaisd(args));
  auto status = p.wait_exit(20s);
  ASSERT_TRUE(status) << "relaisd did not stop";
  EXPECT_NE(*status, 0);
  EXPECT_NE(p.stderr_text().find(c.expected), std::string::npos) << p.stderr_text();
  EXPECT_EQ(p.stdout_text().find("listening"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Config, RelaisdRefuses,
    ::testing::Values(bad_start{"[server]\nlisen = \"x\"\n", {}, "unknown key lisen in [server]"},
                      bad_start{"[limits]\nmax_message_bytes = \"64k\"\n", {}, "max_message_bytes must be an integer"},
                      bad_start{"[limits]\nshutdown_timeout_seconds = 0\n", {}, "shutdown_timeout_seconds is 0"},
                      bad_start{"[tls]\ncertificate = \"/nonexistent/cert.pem\"\nprivate_key = \"/nonexistent/key.pem\"\n",
                                {},
                                "/nonexistent/cert.pem"},
                      bad_start{"", {"--listen", "256.0.0.1:1"}, "256.0.0.1"},
                      bad_start{"", {"--data-dir", "/proc/relais-cannot-exist"}, "/proc/relais-cannot-exist"},
                      bad_start{"", {"--web-root", "$DIR/absent"}, "web_root"},
                      bad_start{"[store]\nsynchronous = \"off\"\n", {}, "allow_unsafe_durability"},
                      bad_start{"[server]\nplain_listen = \"0.0.0.0:8080\"\n", {},
                                "plain_listen must be a loopback address"}));

TEST(Relaisd, PortInUseIsRefused) {
  temp_dir dir;
  child_process first(relaisd({"--listen", "127.0.0.1:0", "--data-dir", dir.path() + "/a"}));
  auto line = first.wait_for_line("listening on https://", 20s);
  ASSERT_TRUE(line);
  auto port = relais::test::port_from_listening_line(*line);
  child_process second(relaisd({"--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", dir.path() + "/b"}));
  auto status = second.wait_exit(20s);
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  EXPECT_NE(second.stderr_text().find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << second.stderr_text();
}

}  // namespace
