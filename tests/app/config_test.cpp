#include "relais/app/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "relais/app/data_dir.hpp"
#include "relais/test/process.hpp"

namespace relais::app {
namespace {

class Config : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& toml) {
    auto p = std::filesystem::path(dir_.path()) / "relais.toml";
    std::ofstream(p) << toml;
    return p;
  }
  std::string load_error(const std::string& toml) {
    config c;
    std::string error;
    EXPECT_FALSE(load_config(write(toml), {}, c, error));
    return error;
  }
  test::temp_dir dir_;
};

TEST_F(Config, DefaultsWithoutAFile) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config({}, {}, c, error)) << error;
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_EQ(c.port, 8443);
  EXPECT_EQ(c.max_message_bytes, 65536u);
}

TEST_F(Config, TheExampleFileLoads) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(RELAIS_EXAMPLE_CONFIG, {}, c, error)) << error;
}

TEST_F(Config, ReadsEveryTable) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write(R"(
[server]
listen = "[::1]:9443"
data_dir = "/var/lib/relais"
threads = 2
allowed_origins = ["https://association.example"]
[tls]
certificate = "/etc/relais/cert.pem"
private_key = "/etc/relais/key.pem"
[limits]
max_message_bytes = 32768
[log]
level = "debug"
)"),
                          {}, c, error))
      << error;
  EXPECT_EQ(c.listen_address, "::1");
  EXPECT_EQ(c.port, 9443);
  EXPECT_EQ(c.data_dir, "/var/lib/relais");
  EXPECT_EQ(c.threads, 2u);
  ASSERT_EQ(c.allowed_origins.size(), 1u);
  EXPECT_EQ(c.certificate, "/etc/relais/cert.pem");
  EXPECT_EQ(c.max_message_bytes, 32768u);
  EXPECT_EQ(c.log_level, "debug");
}

TEST_F(Config, CommandLineOverridesTheFile) {
  config c;
  std::string error;
  overrides o;
  o.listen = "0.0.0.0:443";
  o.data_dir = "/tmp/x";
  ASSERT_TRUE(load_config(write("[server]\nlisten = \"127.0.0.1:1\"\ndata_dir = \"a\"\n"), o, c, error)) << error;
  EXPECT_EQ(c.listen_address, "0.0.0.0");
  EXPECT_EQ(c.port, 443);
  EXPECT_EQ(c.data_dir, "/tmp/x");
}

TEST_F(Config, UnknownKeyIsNamed) {
  auto e = load_error("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
  EXPECT_NE(e.find("unknown key lisen in [server]"), std::string::npos) << e;
  EXPECT_NE(e.find("relais.toml"), std::string::npos) << e;
}

TEST_F(Config, UnknownTableIsNamed) {
  auto e = load_error("[serveur]\nlisten = \"127.0.0.1:1\"\n");
  EXPECT_NE(e.find("unknown table [serveur]"), std::string::npos) << e;
}

TEST_F(Config, WrongTypeIsNamed) {
  auto e = load_error("[limits]\nmax_message_bytes = \"big\"\n");
  EXPECT_NE(e.find("[limits] max_message_bytes must be an integer"), std::string::npos) << e;
  e = load_error("[server]\nlisten = 8443\n");
  EXPECT_NE(e.find("[server] listen must be a string"), std::string::npos) << e;
  e = load_error("[server]\nallowed_origins = \"https://a\"\n");
  EXPECT_NE(e.find("allowed_origins must be an array of strings"), std::string::npos) << e;
}

TEST_F(Config, OutOfRangeIsNamedWithTheRange) {
  auto e = load_error("[limits]\nmax_message_bytes = 10\n");
  EXPECT_NE(e.find("max_message_bytes is 10, must be between 1024 and 1048576"), std::string::npos) << e;
  e = load_error("[server]\nthreads = -1\n");
  EXPECT_NE(e.find("threads is -1"), std::string::npos) << e;
}

TEST_F(Config, BadValuesAreNamed) {
  EXPECT_NE(load_error("[server]\nlisten = \"localhost\"\n").find("listen"), std::string::npos);
  EXPECT_NE(load_error("[server]\nlisten = \"127.0.0.1:70000\"\n").find("65535"), std::string::npos);
  EXPECT_NE(load_error("[log]\nlevel = \"loud\"\n").find("[log] level"), std::string::npos);
  EXPECT_NE(load_error("[tls]\ncertificate = \"/x.pem\"\n").find("private_key"), std::string::npos);
  EXPECT_NE(load_error("[server]\npublic_url = \"http://x\"\n").find("https://"), std::string::npos);
  EXPECT_NE(load_error("[server]\nallowed_origins = [\"example.org\"]\n").find("example.org"), std::string::npos);
}

TEST_F(Config, SyntaxErrorGivesLineAndColumn) {
  auto e = load_error("[server]\nlisten = \n");
  EXPECT_NE(e.find("relais.toml:2:"), std::string::npos) << e;
}

TEST_F(Config, BadCommandLineValues) {
  config c;
  std::string error;
  overrides o;
  o.listen = "nope";
  EXPECT_FALSE(load_config({}, o, c, error));
  EXPECT_NE(error.find("--listen"), std::string::npos);
  overrides l;
  l.log_level = "chatty";
  EXPECT_FALSE(load_config({}, l, c, error));
  EXPECT_NE(error.find("--log-level"), std::string::npos);
}

TEST_F(Config, PublicUrlOriginIsAllowedWithTheListedSites) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[server]\npublic_url = \"https://relais.example.org/chat\"\n"
                                "allowed_origins = [\"https://association.example\"]\n"),
                          {}, c, error))
      << error;
  auto o = to_server_options(c);
  ASSERT_EQ(o.allowed_origins.size(), 2u);
  EXPECT_EQ(o.allowed_origins[1], "https://relais.example.org");
}

TEST_F(Config, ProtocolLimits) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[limits]\nauth_timeout_seconds = 3\nmax_errors_per_minute = 5\n"), {}, c, error));
  auto l = to_relay_settings(c);
  EXPECT_EQ(l.auth_timeout, std::chrono::seconds(3));
  EXPECT_EQ(l.max_errors_per_minute, 5);
  EXPECT_FALSE(load_config(write("[limits]\nauth_timeout_seconds = 0\n"), {}, c, error));
}

TEST_F(Config, AuthAndOrganisation) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[auth]\ntotp_required = false\nsession_days = 7\nmax_failed_logins = 3\n"
                                "lockout_minutes = 2\n[org]\npublic_key = \"0H7F8Yc7ziC66hP3eGOlLpXDqr8794LmVALQyLSJ4BM\"\n"),
                          {}, c, error))
      << error;
  auto s = to_relay_settings(c);
  EXPECT_FALSE(s.totp_required);
  EXPECT_EQ(s.session_lifetime, std::chrono::hours(24 * 7));
  EXPECT_EQ(s.max_failed_logins, 3);
  EXPECT_EQ(s.lockout, std::chrono::minutes(2));
  ASSERT_TRUE(s.org_public_key.has_value());
  EXPECT_EQ((*s.org_public_key)[0], 0xD0);
  EXPECT_NE(load_error("[org]\npublic_key = \"short\"\n").find("[org] public_key"), std::string::npos);
  EXPECT_NE(load_error("[auth]\nsession_days = 0\n").find("[auth] session_days"), std::string::npos);
  EXPECT_TRUE(to_relay_settings(config{}).totp_required);  // required by default
}

TEST_F(Config, NonDurableStoreNeedsTheExplicitUnsafeFlag) {
  auto e = load_error("[store]\nsynchronous = \"normal\"\n");
  EXPECT_NE(e.find("[store] synchronous"), std::string::npos) << e;
  EXPECT_NE(e.find("allow_unsafe_durability"), std::string::npos) << e;
  EXPECT_NE(load_error("[store]\nsynchronous = \"sometimes\"\n").find("full, normal or off"), std::string::npos);
  EXPECT_NE(load_error("[store]\nallow_unsafe_durability = \"yes\"\n").find("true or false"), std::string::npos);
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[store]\nsynchronous = \"off\"\nallow_unsafe_durability = true\n"), {}, c, error))
      << error;
  EXPECT_EQ(c.store_synchronous, "off");
}

TEST(ParseListen, AcceptsIpv4AndBracketedIpv6) {
  std::string a;
  std::uint16_t p = 0;
  std::string e;
  ASSERT_TRUE(parse_listen("0.0.0.0:0", a, p, e));
  EXPECT_EQ(a, "0.0.0.0");
  EXPECT_EQ(p, 0);
  ASSERT_TRUE(parse_listen("[::]:8443", a, p, e));
  EXPECT_EQ(a, "::");
  EXPECT_FALSE(parse_listen("::1:8443", a, p, e));
  EXPECT_FALSE(parse_listen("127.0.0.1:", a, p, e));
  EXPECT_FALSE(parse_listen("127.0.0.1:-1", a, p, e));
  EXPECT_FALSE(parse_listen("[::1]8443", a, p, e));
}

TEST(DataDir, CreatesAndRefusesNonWritable) {
  test::temp_dir dir;
  std::string error;
  auto d = std::filesystem::path(dir.path()) / "data";
  ASSERT_TRUE(prepare_data_dir(d, error)) << error;
  EXPECT_TRUE(std::filesystem::is_directory(d));
  auto file = std::filesystem::path(dir.path()) / "file";
  std::ofstream(file) << "x";
  EXPECT_FALSE(prepare_data_dir(file, error));
  EXPECT_NE(error.find("not a directory"), std::string::npos);
}

}  // namespace
}  // namespace relais::app
