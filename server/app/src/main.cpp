// relaisd: the Relais server. Loads the config, prepares the data folder and TLS, starts the
// network front, prints where to connect, and shuts down gracefully on SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <pthread.h>

#include "relais/app/config.hpp"
#include "relais/app/data_dir.hpp"
#include "relais/app/handler.hpp"
#include "relais/app/store_maintenance.hpp"
#include "relais/app/user_command.hpp"
#include "relais/auth/credentials.hpp"
#include "relais/log/log.hpp"
#include "relais/net/server.hpp"
#include "relais/net/tls_setup.hpp"
#include "relais/store/sqlite_store.hpp"
#include <future>
#include <optional>

namespace {

int fail_startup(const std::string& message) {
  // One clear line, then a non-zero exit with nothing left running.
  std::cerr << "relaisd: " << message << '\n';
  return 2;
}

std::string url_host(const std::string& address) {
  if (address == "0.0.0.0") return "127.0.0.1";
  if (address == "::") return "[::1]";
  if (address.find(':') != std::string::npos) return "[" + address + "]";
  return address;
}

/// Opens the store of this configuration; null with one line on stderr on failure.
std::unique_ptr<relais::store::sqlite_store> open_store(const relais::app::config& cfg) {
  using namespace relais;
  store::sqlite_options o;
  o.path = (cfg.store_path.empty() ? cfg.data_dir / "relais.db" : cfg.store_path).string();
  o.synchronous = cfg.store_synchronous == "off"      ? store::sync_mode::off
                  : cfg.store_synchronous == "normal" ? store::sync_mode::normal
                                                      : store::sync_mode::full;
  o.allow_unsafe_durability = cfg.allow_unsafe_durability;
  o.max_queued_writes = cfg.store_max_queued_writes;
  o.max_queued_reads = cfg.store_max_queued_reads;
  o.reader_threads = cfg.store_reader_threads;
  o.busy_timeout = std::chrono::milliseconds(cfg.store_busy_timeout_ms);
  o.quick_check_on_open = cfg.store_quick_check_on_open;
  store::open_error err;
  auto s = store::sqlite_store::open(o, err);
  if (!s) fail_startup(err.message);
  return s;
}

int load(const std::string& config_path, const relais::app::overrides& cli, relais::app::config& cfg) {
  std::string error;
  if (!relais::app::load_config(config_path, cli, cfg, error)) return fail_startup(error);
  relais::log::set_level(*relais::log::parse_level(cfg.log_level));
  if (!relais::app::prepare_data_dir(cfg.data_dir, error)) return fail_startup(error);
  return 0;
}

int backup(const std::string& config_path, const relais::app::overrides& cli, const std::string& destination) {
  relais::app::config cfg;
  if (int rc = load(config_path, cli, cfg)) return rc;
  auto store = open_store(cfg);
  if (!store) return 2;
  std::promise<std::error_code> done;
  store->backup_to(destination, [&done](std::error_code ec) { done.set_value(ec); });
  auto ec = done.get_future().get();
  if (ec) return fail_startup("backup to " + destination + " failed: " + ec.message());
  std::printf("backup written to %s\n", destination.c_str());
  return 0;
}

int user(const std::string& config_path, const relais::app::overrides& cli, relais::app::user_command& command) {
  relais::app::config cfg;
  if (int rc = load(config_path, cli, cfg)) return rc;
  if (!cli.log_level) relais::log::set_level(relais::log::level::warn);  // admin output stays readable
  auto store = open_store(cfg);
  if (!store) return 2;
  return command.run(*store);
}

int serve(const std::string& config_path, const relais::app::overrides& cli) {
  using namespace relais;
  app::config cfg;
  std::string error;
  if (int rc = load(config_path, cli, cfg)) return rc;
  if (cfg.web_root.empty()) cfg.web_root = app::default_web_root();
  std::error_code ec;
  if (!std::filesystem::is_directory(cfg.web_root, ec)) {
    return fail_startup("web_root " + cfg.web_root.string() + " is not a directory");
  }

  bool self_signed = cfg.certificate.empty();
  if (self_signed) {
    net::certificate_files files;
    bool created = false;
    if (!net::ensure_self_signed(cfg.data_dir / "tls", cfg.listen_address, files, created, error)) {
      return fail_startup(error);
    }
    cfg.certificate = files.certificate;
    cfg.private_key = files.private_key;
    if (created) log::info("tls_self_signed_created", {{"path", files.certificate.string()}});
  }

  // Signals are taken by this thread only (sigwait below); the worker threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // taken too, so that it never kills relaisd abruptly
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // The store first: a damaged or unreadable database stops relaisd before it listens.
  auto store = open_store(cfg);
  if (!store) return 2;

  // Argon2id verifications run on their own small pool, never on a session's strand.
  auth::credentials credentials;
  app::address_rates rates;
  rates.logins_per_minute = cfg.logins_per_minute_per_address;
  rates.queue_joins_per_minute = cfg.queue_joins_per_minute_per_address;
  rates.backup_gets_per_minute = cfg.backup_gets_per_minute_per_address;
  rates.authentications_per_minute = cfg.authentications_per_minute_per_address;
  app::relay_runtime relay(*store, credentials, app::to_relay_settings(cfg), rates);
  if (auto load_error = relay.start_background()) {
    log::error("permanence_not_loaded", {{"error", load_error.message()}});
    return 1;
  }
  // The retention policy: conversations ended longer ago than retention_days go, with their
  // messages, at start and then every purge_interval_minutes.
  app::store_maintenance_options maintenance_options;
  maintenance_options.retention = std::chrono::hours(24) * cfg.retention_days;
  maintenance_options.interval = std::chrono::minutes(cfg.purge_interval_minutes);
  std::optional<app::store_maintenance> maintenance;
  maintenance.emplace(*store, maintenance_options);
  net::server server(app::to_server_options(cfg), relay.handler_factory());
  if (!server.start(error)) return fail_startup(error);
  server.run();
  server.set_ready(true);  // /readyz: the store is open and the port is listening

  auto port = server.port();
  auto base = cfg.public_url.empty() ? "https://" + url_host(cfg.listen_address) + ":" + std::to_string(port)
                                     : cfg.public_url;
  auto fingerprint = net::certificate_fingerprint_sha256(cfg.certificate);
  log::info("listening", {{"address", cfg.listen_address},
                          {"port", port},
                          {"plain_port", server.plain_port()},
                          {"version", std::string(RELAIS_VERSION)},
                          {"data_dir", cfg.data_dir.string()},
                          {"web_root", cfg.web_root.string()}});
  std::printf("relaisd %s listening on %s\n", std::string(RELAIS_VERSION).c_str(), base.c_str());
  std::printf("  open:      %s/\n", base.c_str());
  std::printf("  health:    %s/healthz\n", base.c_str());
  std::printf("  websocket: %s/ws\n", (std::string("wss") + base.substr(5)).c_str());
  if (server.plain_port() != 0) {
    std::printf("  plain HTTP for the reverse proxy on this machine: http://%s:%u/\n",
                url_host(cfg.plain_listen_address).c_str(), static_cast<unsigned>(server.plain_port()));
  }
  std::printf("  TLS certificate%s SHA-256 %s\n", self_signed ? " (self-signed, accept it once in the browser):" : ":",
              fingerprint.c_str());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    log::info("signal_ignored", {{"signal", "SIGHUP"}, {"hint", "restart relaisd to reload its configuration"}});
  }
  log::info("signal_received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.set_ready(false);
  server.stop();
  server.wait();
  // Everything that calls the store stops before it closes; the relay itself stays until the
  // server (and the sessions it may still hold) is gone.
  maintenance.reset();
  relay.stop_background();
  store.reset();  // commits what is queued and closes the database
  log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"relaisd: the Relais server (end-to-end encrypted chat and permanence d'ecoute)"};
  cli.set_version_flag("--version", std::string(RELAIS_VERSION));
  std::string config_path;
  relais::app::overrides over;
  std::string listen;
  std::string data_dir;
  std::string web_root;
  std::string log_level;
  cli.add_option("-c,--config", config_path, "TOML configuration file (config/README.md lists every key)")
      ->check(CLI::ExistingFile);
  cli.add_option("--listen", listen, "ADDRESS:PORT to listen on (overrides [server] listen)");
  cli.add_option("--data-dir", data_dir, "Data folder: store, TLS key (overrides [server] data_dir)");
  cli.add_option("--web-root", web_root, "Folder of the built web clients (overrides [server] web_root)");
  cli.add_option("--log-level", log_level, "debug, info, warn or error (overrides [log] level)");
  auto* backup_cmd = cli.add_subcommand(
      "backup", "Write an online, consistent copy of the store to DEST (safe while relaisd runs), then exit");
  std::string destination;
  backup_cmd->add_option("DEST", destination, "Backup file to write (replaced atomically)")->required();
  relais::app::user_command user_cmd(cli);
  CLI11_PARSE(cli, argc, argv);
  if (!listen.empty()) over.listen = listen;
  if (!data_dir.empty()) over.data_dir = data_dir;
  if (!web_root.empty()) over.web_root = web_root;
  if (!log_level.empty()) over.log_level = log_level;
  if (backup_cmd->parsed()) return backup(config_path, over, destination);
  if (user_cmd.parsed()) return user(config_path, over, user_cmd);
  return serve(config_path, over);
}
