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

TEST_F(Config, ThePlainListenerIsOffByDefaultAndLoopbackOnly) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config({}, {}, c, error)) << error;
  EXPECT_TRUE(c.plain_listen_address.empty());
  EXPECT_TRUE(to_server_options(c).plain_listen_address.empty());
  ASSERT_TRUE(load_config(write("[server]\nplain_listen = \"127.0.0.1:8080\"\n"), {}, c, error)) << error;
  EXPECT_EQ(c.plain_listen_address, "127.0.0.1");
  EXPECT_EQ(c.plain_port, 8080);
  auto o = to_server_options(c);
  EXPECT_EQ(o.plain_listen_address, "127.0.0.1");
  EXPECT_EQ(o.plain_port, 8080);
  config v6;
  ASSERT_TRUE(load_config(write("[server]\nplain_listen = \"[::1]:8080\"\n"), {}, v6, error)) << error;
  EXPECT_EQ(v6.plain_listen_address, "::1");
  for (const char* address : {"0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080", "[::ffff:10.0.0.1]:80"}) {
    auto e = load_error(std::string("[server]\nplain_listen = \"") + address + "\"\n");
    EXPECT_NE(e.find("[server] plain_listen must be a loopback address"), std::string::npos) << address << ": " << e;
  }
  EXPECT_NE(load_error("[server]\nplain_listen = \"localhost:8080\"\n").find("plain_listen"), std::string::npos);
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

// ---------------------------------------------------------------- [permanence]

// Instants below are UTC milliseconds computed outside the code under test
// (date -u -d 2026-01-12T08:00 +%s%3N); Paris is UTC+1 in January.
constexpr std::int64_t mon_12_jan_2026_0900_paris = 1'768'204'800'000;
constexpr std::int64_t mon_12_jan_2026_1230_paris = 1'768'217'400'000;

TEST_F(Config, PermanenceDefaults) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config({}, {}, c, error)) << error;
  EXPECT_EQ(c.permanence_country, "FR");
  EXPECT_EQ(c.permanence.on_call, nullptr);  // no slot: manual shifts only
  ASSERT_EQ(c.permanence.emergency_numbers.size(), 6u);
  EXPECT_EQ(c.permanence.emergency_numbers[0].number, "112");
  EXPECT_EQ(c.permanence.queue_max, 200u);
  EXPECT_FALSE(c.permanence.contribution_url);
  // A file without [permanence] gives the same.
  ASSERT_TRUE(load_config(write("[log]\nlevel = \"info\"\n"), {}, c, error)) << error;
  EXPECT_EQ(c.permanence.emergency_numbers.size(), 6u);
  EXPECT_EQ(to_relay_settings(c).permanence.emergency_numbers.size(), 6u);
}

TEST_F(Config, PermanenceReadsEveryKey) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write(R"(
[permanence]
time_zone = "Europe/Paris"
country = "BE"
show_workers_on_call = false
queue_max = 50
grace_seconds = 0
long_wait_minutes = 5
wait_limit_minutes = 5
closing_notice_minutes = 0
default_handling_minutes = 30
shift_end_handover = "end"
close_sessions_at_shift_end = false
auto_assign = true
default_capacity = 3
contribution_url = "https://association.example/prix-libre"

[[permanence.slot]]
days = ["weekdays"]
start = "09:00"
end = "12:30"
workers = ["camille"]

[[permanence.slot]]
days = ["mon", "fri"]
start = 14:00:00
end = "24:00"

[[permanence.exception]]
date = "2026-12-25"
closed = true

[[permanence.exception]]
date = 2026-12-26
start = "10:00"
end = "12:00"
workers = ["alex"]
)"),
                          {}, c, error))
      << error;
  const auto& p = c.permanence;
  EXPECT_EQ(c.permanence_country, "BE");
  EXPECT_FALSE(p.show_workers_on_call);
  EXPECT_EQ(p.queue_max, 50u);
  EXPECT_EQ(p.grace, std::chrono::seconds(0));
  EXPECT_EQ(p.long_wait, std::chrono::minutes(5));
  EXPECT_EQ(p.wait_limit, std::chrono::minutes(5));
  EXPECT_EQ(p.closing_notice, std::chrono::minutes(0));
  EXPECT_EQ(p.default_handling_time, std::chrono::minutes(30));
  EXPECT_EQ(p.handover, core::shift_end_handover::end);
  EXPECT_FALSE(p.close_sessions_at_shift_end);
  EXPECT_TRUE(p.auto_assign);
  EXPECT_EQ(p.default_capacity, 3);
  EXPECT_EQ(p.contribution_url, "https://association.example/prix-libre");
  ASSERT_EQ(p.emergency_numbers.size(), 3u);  // Belgium's
  EXPECT_EQ(p.emergency_numbers[2].number, "0800 32 123");
  ASSERT_NE(p.on_call, nullptr);
  EXPECT_EQ(p.on_call->time_zone(), "Europe/Paris");
  auto w = p.on_call->window_at("camille", mon_12_jan_2026_0900_paris + 60'000);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->start, mon_12_jan_2026_0900_paris);
  EXPECT_EQ(w->end, mon_12_jan_2026_1230_paris);
  EXPECT_FALSE(p.on_call->window_at("alex", mon_12_jan_2026_0900_paris));
  EXPECT_EQ(p.on_call->named_workers(), (std::vector<std::string>{"alex", "camille"}));
  // Friday 25 December closed: the 14:00 slot is gone; Saturday 26 has alex's extra slot.
  EXPECT_FALSE(p.on_call->window_at("alex", 1'798'203'600'000));  // 2026-12-25T14:00+01:00
  EXPECT_TRUE(p.on_call->window_at("alex", 1'798'275'600'000));   // 2026-12-26T10:00+01:00
  EXPECT_FALSE(p.on_call->window_at("camille", 1'798'275'600'000));
  // The relay gets all of it.
  auto s = to_relay_settings(c);
  EXPECT_EQ(s.permanence.on_call, p.on_call);
  EXPECT_EQ(s.permanence.queue_max, 50u);
  EXPECT_EQ(s.permanence.emergency_numbers.size(), 3u);
}

TEST_F(Config, PermanenceCountryChoosesTheDefaultNumbers) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[permanence]\ncountry = \"\"\n"), {}, c, error)) << error;
  EXPECT_TRUE(c.permanence.emergency_numbers.empty());
  auto e = load_error("[permanence]\ncountry = \"DE\"\n");
  EXPECT_NE(e.find("[permanence] country is 'DE', must be \"FR\", \"BE\" or \"\""), std::string::npos) << e;
  EXPECT_NE(load_error("[permanence]\ncountry = 33\n").find("[permanence] country must be a string"), std::string::npos);
}

TEST_F(Config, PermanenceListedEmergencyNumbersReplaceTheDefaults) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write(R"(
[permanence]
country = "FR"
[[permanence.emergency]]
number = "114"
label_fr = "Urgences par SMS"
label_en = "Emergency by SMS"
sms = true
[[permanence.emergency]]
number = "0800 32 123"
label_fr = "Centre de prévention du suicide"
label_en = "Suicide prevention centre"
)"),
                          {}, c, error))
      << error;
  ASSERT_EQ(c.permanence.emergency_numbers.size(), 2u);
  EXPECT_TRUE(c.permanence.emergency_numbers[0].sms);
  EXPECT_FALSE(c.permanence.emergency_numbers[1].sms);
  EXPECT_EQ(c.permanence.emergency_numbers[1].label_fr, "Centre de prévention du suicide");
}

TEST_F(Config, PermanenceEmergencyErrors) {
  const std::string ok = "[[permanence.emergency]]\nnumber = \"112\"\nlabel_fr = \"Urgences\"\nlabel_en = \"Emergency\"\n";
  std::string seventeen;
  for (int i = 0; i < 17; ++i) seventeen += ok;
  auto e = load_error(seventeen);
  EXPECT_NE(e.find("relais.toml: [permanence.emergency] #17: more than 16 emergency numbers"), std::string::npos) << e;
  e = load_error("[[permanence.emergency]]\nnumber = \"112\"\nlabel_fr = \"Urgences\"\n");
  EXPECT_NE(e.find("[permanence.emergency] #1: label_en is missing"), std::string::npos) << e;
  e = load_error(ok + "[[permanence.emergency]]\nnumber = \"" + std::string(33, '1') +
                 "\"\nlabel_fr = \"a\"\nlabel_en = \"b\"\n");
  EXPECT_NE(e.find("[permanence.emergency] #2: number must be 1 to 32 bytes of text"), std::string::npos) << e;
  e = load_error("[[permanence.emergency]]\nnumber = \"\"\nlabel_fr = \"a\"\nlabel_en = \"b\"\n");
  EXPECT_NE(e.find("#1: number must be 1 to 32 bytes"), std::string::npos) << e;
  e = load_error("[[permanence.emergency]]\nnumber = \"112\"\nlabel_fr = \"" + std::string(129, 'a') +
                 "\"\nlabel_en = \"b\"\n");
  EXPECT_NE(e.find("#1: label_fr must be 1 to 128 bytes of text"), std::string::npos) << e;
  e = load_error("[[permanence.emergency]]\nnumber = \"112\"\nlabel_fr = \"a\\tb\"\nlabel_en = \"b\"\n");
  EXPECT_NE(e.find("#1: label_fr must be 1 to 128 bytes of text"), std::string::npos) << e;
  e = load_error(ok + "sms = \"yes\"\n");
  EXPECT_NE(e.find("[permanence.emergency] #1: sms must be true or false"), std::string::npos) << e;
  e = load_error(ok + "label_de = \"Notruf\"\n");
  EXPECT_NE(e.find("[permanence.emergency] #1: unknown key label_de"), std::string::npos) << e;
  e = load_error("[permanence]\nemergency = [\"112\"]\n");
  EXPECT_NE(e.find("[permanence] emergency must be an array of tables ([[permanence.emergency]])"), std::string::npos)
      << e;
}

TEST_F(Config, PermanenceScalarErrorsNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"queue_max = 0", "[permanence] queue_max is 0, must be between 1 and 100000"},
      {"queue_max = 100001", "[permanence] queue_max is 100001"},
      {"queue_max = \"many\"", "[permanence] queue_max must be an integer"},
      {"grace_seconds = 3601", "[permanence] grace_seconds is 3601, must be between 0 and 3600"},
      {"grace_seconds = -1", "[permanence] grace_seconds is -1"},
      {"long_wait_minutes = 0", "[permanence] long_wait_minutes is 0, must be between 1 and 1440"},
      {"wait_limit_minutes = 1441", "[permanence] wait_limit_minutes is 1441"},
      {"long_wait_minutes = 30\nwait_limit_minutes = 20",
       "[permanence] wait_limit_minutes is 20, must be at least long_wait_minutes (30)"},
      {"wait_limit_minutes = 10", "[permanence] wait_limit_minutes is 10, must be at least long_wait_minutes (20)"},
      {"closing_notice_minutes = 241", "[permanence] closing_notice_minutes is 241, must be between 0 and 240"},
      {"default_handling_minutes = 0", "[permanence] default_handling_minutes is 0, must be between 1 and 240"},
      {"default_capacity = 33", "[permanence] default_capacity is 33, must be between 0 and 32"},
      {"default_capacity = 1.5", "[permanence] default_capacity must be an integer"},
      {"shift_end_handover = \"drop\"", "[permanence] shift_end_handover is 'drop', must be \"colleague\" or \"end\""},
      {"show_workers_on_call = 1", "[permanence] show_workers_on_call must be true or false"},
      {"close_sessions_at_shift_end = \"no\"", "[permanence] close_sessions_at_shift_end must be true or false"},
      {"auto_assign = \"yes\"", "[permanence] auto_assign must be true or false"},
      {"contribution_url = \"http://example.org\"", "[permanence] contribution_url must be an https:// URL"},
      {"contribution_url = \"https://\"", "[permanence] contribution_url must be an https:// URL"},
      {"contribution_url = \"https://example.org/prix libre\"", "[permanence] contribution_url must be an https:// URL"},
      {"contribution_url = \"https://example.org/" + std::string(500, 'a') + "\"",
       "[permanence] contribution_url must be an https:// URL of at most 512 bytes"},
      {"time_zone = 1", "[permanence] time_zone must be a string"},
      {"time_zone = \"Europe/Pariss\"",
       "[permanence] time_zone 'Europe/Pariss' is not a time zone of this system's tzdata"},
      {"time_zone = \"\"", "[permanence] time_zone '' is not a time zone"},
      {"timezone = \"Europe/Paris\"", "unknown key timezone in [permanence]"},
  };
  for (const auto& [toml, expected] : cases) {
    auto e = load_error("[permanence]\n" + toml + "\n");
    EXPECT_NE(e.find(expected), std::string::npos) << toml << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;  // one line
  }
}

TEST_F(Config, PermanenceOtherTimeZones) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[permanence]\ntime_zone = \"Europe/Brussels\"\n[[permanence.slot]]\n"
                                "days = [\"daily\"]\nstart = \"08:00\"\nend = \"20:00\"\n"),
                          {}, c, error))
      << error;
  ASSERT_NE(c.permanence.on_call, nullptr);
  EXPECT_EQ(c.permanence.on_call->time_zone(), "Europe/Brussels");
  // 08:00 in Brussels in January is 07:00 UTC.
  auto w = c.permanence.on_call->window_at("anyone", mon_12_jan_2026_0900_paris);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->start, mon_12_jan_2026_0900_paris - 3'600'000);
  // Only closures: still no schedule (manual shifts), but the zone was checked.
  ASSERT_TRUE(load_config(write("[[permanence.exception]]\ndate = \"2026-12-25\"\nclosed = true\n"), {}, c, error))
      << error;
  EXPECT_EQ(c.permanence.on_call, nullptr);
}

TEST_F(Config, PermanenceSlotErrorsNameTheEntry) {
  const std::string slot1 = "[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"12:00\"\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[[permanence.slot]]\nstart = \"09:00\"\nend = \"12:00\"\n", "[permanence.slot] #1: days is missing"},
      {"[[permanence.slot]]\ndays = []\nstart = \"09:00\"\nend = \"12:00\"\n",
       "[permanence.slot] #1: days must list at least one day"},
      {"[[permanence.slot]]\ndays = \"mon\"\nstart = \"09:00\"\nend = \"12:00\"\n",
       "[permanence.slot] #1: days must be an array of strings"},
      {slot1 + "[[permanence.slot]]\ndays = [\"lundi\"]\nstart = \"09:00\"\nend = \"12:00\"\n",
       "[permanence.slot] #2: days entry 'lundi' is not a day"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nend = \"12:00\"\n", "[permanence.slot] #1: start is missing"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\n", "[permanence.slot] #1: end is missing"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"9:00\"\nend = \"12:00\"\n",
       "[permanence.slot] #1: start must be a time \"HH:MM\" from 00:00 to 23:59"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"24:00\"\nend = \"12:00\"\n",
       "[permanence.slot] #1: start must be a time"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:60\"\nend = \"12:00\"\n",
       "[permanence.slot] #1: start must be a time"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = 900\nend = \"12:00\"\n", "[permanence.slot] #1: start must be a time"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = 09:00:30\nend = \"12:00\"\n",
       "[permanence.slot] #1: start must be a time"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"24:30\"\n",
       "[permanence.slot] #1: end must be a time \"HH:MM\" from 00:00 to 24:00"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"25:00\"\n", "[permanence.slot] #1: end must be a time"},
      {"[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"09:00\"\n",
       "[permanence.slot] #1: start and end are the same time"},
      {slot1 + "workers = \"camille\"\n", "[permanence.slot] #1: workers must be an array of strings"},
      {slot1 + "workers = [\"Camille\"]\n", "[permanence.slot] #1: workers entry 'Camille' is not a username"},
      {slot1 + "workers = [\"\"]\n", "[permanence.slot] #1: workers entry '' is not a username"},
      {slot1 + "worker = [\"camille\"]\n", "[permanence.slot] #1: unknown key worker"},
      {"[permanence.slot]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"12:00\"\n",
       "[permanence] slot must be an array of tables ([[permanence.slot]])"},
      {slot1 + "workers = [\"camille\"]\n" + "[[permanence.slot]]\ndays = [\"weekdays\"]\nstart = \"11:00\"\nend = \"13:00\"\n" +
           "workers = [\"camille\", \"alex\"]\n",
       "relais.toml: [permanence.slot] #2: overlaps slot #1 for worker camille"},
      {slot1 + "[[permanence.slot]]\ndays = [\"daily\"]\nstart = \"11:00\"\nend = \"13:00\"\n",
       "[permanence.slot] #2: overlaps slot #1 (both for every worker)"},
      {"[[permanence.slot]]\ndays = [\"sun\"]\nstart = \"21:00\"\nend = \"02:00\"\n"
       "[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"01:00\"\nend = \"03:00\"\n",
       "[permanence.slot] #2: overlaps slot #1 (both for every worker)"},
  };
  for (const auto& [toml, expected] : cases) {
    auto e = load_error(toml);
    EXPECT_NE(e.find(expected), std::string::npos) << toml << " -> " << e;
  }
  // Touching slots and days given twice are fine.
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write(slot1 + "[[permanence.slot]]\ndays = [\"mon\", \"weekdays\"]\nstart = \"12:00\"\n"
                                        "end = \"13:00\"\n"),
                          {}, c, error))
      << error;
  ASSERT_TRUE(load_config(write("[permanence]\nslot = []\n"), {}, c, error)) << error;
  EXPECT_EQ(c.permanence.on_call, nullptr);
}

TEST_F(Config, PermanenceExceptionErrorsNameTheEntry) {
  const std::string slot1 = "[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"12:00\"\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[[permanence.exception]]\nclosed = true\n", "[permanence.exception] #1: date is missing"},
      {"[[permanence.exception]]\ndate = \"25/12/2026\"\nclosed = true\n",
       "[permanence.exception] #1: date must be a date \"YYYY-MM-DD\""},
      {"[[permanence.exception]]\ndate = 20261225\nclosed = true\n", "[permanence.exception] #1: date must be a date"},
      {"[[permanence.exception]]\ndate = 2026-12-25T10:00:00\nclosed = true\n",
       "[permanence.exception] #1: date must be a date"},
      {"[[permanence.exception]]\ndate = \"2026-02-29\"\nclosed = true\n",
       "[permanence.exception] #1: date 2026-02-29 is not a calendar date"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\nclosed = \"yes\"\n",
       "[permanence.exception] #1: closed must be true or false"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\nclosed = true\nstart = \"09:00\"\nend = \"10:00\"\n",
       "[permanence.exception] #1: closed = true cannot go with start, end or workers"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\n",
       "[permanence.exception] #1: needs closed = true (a closure) or start and end (an added slot)"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\nclosed = false\n", "[permanence.exception] #1: needs closed = true"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\nstart = \"09:00\"\n", "[permanence.exception] #1: end is missing"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\nstart = \"09:00\"\nend = \"10:00\"\nworkers = [\"Alex\"]\n",
       "[permanence.exception] #1: workers entry 'Alex' is not a username"},
      {"[[permanence.exception]]\ndate = \"2026-12-25\"\nreason = \"Noël\"\nclosed = true\n",
       "[permanence.exception] #1: unknown key reason"},
      {slot1 + "[[permanence.exception]]\ndate = \"2026-12-25\"\nclosed = true\n[[permanence.exception]]\n"
               "date = \"2026-01-12\"\nstart = \"11:00\"\nend = \"13:00\"\nworkers = [\"camille\"]\n",
       "relais.toml: [permanence.exception] #2: overlaps slot #1 for worker camille on 2026-01-12"},
      {"[[permanence.exception]]\ndate = \"2026-05-01\"\nstart = \"22:00\"\nend = \"02:00\"\n[[permanence.exception]]\n"
       "date = \"2026-05-02\"\nstart = \"01:00\"\nend = \"03:00\"\n",
       "[permanence.exception] #2: overlaps exception #1 (both for every worker) on 2026-05-02"},
  };
  for (const auto& [toml, expected] : cases) {
    auto e = load_error(toml);
    EXPECT_NE(e.find(expected), std::string::npos) << toml << " -> " << e;
  }
  // The date closed: an added slot there meets no weekly slot.
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write(slot1 + "[[permanence.exception]]\ndate = \"2026-01-12\"\nclosed = true\n"
                                        "[[permanence.exception]]\ndate = \"2026-01-12\"\nstart = \"11:00\"\n"
                                        "end = \"13:00\"\n"),
                          {}, c, error))
      << error;
}

TEST_F(Config, PermanenceEntryCountsAreBounded) {
  std::string slots;
  for (std::size_t i = 0; i <= core::limits::max_schedule_slots; ++i) {
    slots += "[[permanence.slot]]\ndays = [\"mon\"]\nstart = \"09:00\"\nend = \"09:01\"\nworkers = [\"w" +
             std::to_string(i) + "\"]\n";
  }
  auto e = load_error(slots);
  EXPECT_NE(e.find("[permanence.slot] #513: more than 512 slots"), std::string::npos) << e;
  std::string closures;
  for (std::size_t i = 0; i <= core::limits::max_schedule_exceptions; ++i) {
    closures += "[[permanence.exception]]\ndate = \"2026-12-25\"\nclosed = true\n";
  }
  e = load_error(closures);
  EXPECT_NE(e.find("[permanence.exception] #2049: more than 2048 exceptions"), std::string::npos) << e;
  e = load_error("[permanence]\nexception = 3\n");
  EXPECT_NE(e.find("[permanence] exception must be an array of tables ([[permanence.exception]])"), std::string::npos)
      << e;
}

// The example file's [permanence] blocks are commented out (no schedule by default); the same
// blocks uncommented must load and mean what their comments say.
TEST_F(Config, TheExamplePermanenceBlocksLoadUncommented) {
  std::ifstream in(RELAIS_EXAMPLE_CONFIG);
  ASSERT_TRUE(in);
  std::string out;
  std::string line;
  bool in_permanence = false;
  int uncommented = 0;
  while (std::getline(in, line)) {
    if (line.rfind('[', 0) == 0) in_permanence = line.rfind("[permanence", 0) == 0;
    const bool block = line.rfind("# [[permanence.", 0) == 0;
    const auto eq = line.find(" = ");
    const bool key = line.rfind("# ", 0) == 0 && eq != std::string::npos &&
                     line.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", 2) == eq;
    if (in_permanence && (block || key)) {
      line = line.substr(2);
      ++uncommented;
    }
    out += line + "\n";
  }
  EXPECT_GE(uncommented, 20);
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write(out), {}, c, error)) << error;
  const auto& s = c.permanence.on_call;
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->time_zone(), "Europe/Paris");
  EXPECT_TRUE(s->window_at("anyone", mon_12_jan_2026_0900_paris));  // the weekday split shift
  EXPECT_FALSE(s->window_at("anyone", mon_12_jan_2026_1230_paris));
  EXPECT_TRUE(s->window_at("camille", 1'768'611'540'000));  // Saturday 17 January 01:59 Paris: Friday's night slot
  EXPECT_FALSE(s->window_at("camille", 1'768'611'600'000));  // 02:00: over
  EXPECT_FALSE(s->window_at("camille", 1'798'228'800'000));  // Friday 25 December 2026 21:00: closed
  EXPECT_TRUE(s->window_at("camille", 1'798'275'600'000));  // Saturday 26 December 10:00: the extra slot
  ASSERT_FALSE(c.permanence.emergency_numbers.empty());
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
