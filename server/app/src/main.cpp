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
#include "relais/log/log.hpp"
#include "relais/net/server.hpp"
#include "relais/net/tls_setup.hpp"

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

int serve(const std::string& config_path, const relais::app::overrides& cli) {
  using namespace relais;
  app::config cfg;
  std::string error;
  if (!app::load_config(config_path, cli, cfg, error)) return fail_startup(error);
  log::set_level(*log::parse_level(cfg.log_level));

  if (!app::prepare_data_dir(cfg.data_dir, error)) return fail_startup(error);
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

  net::server server(app::to_server_options(cfg), app::make_handler_factory(app::to_connection_limits(cfg)));
  if (!server.start(error)) return fail_startup(error);
  server.run();
  server.set_ready(true);

  auto port = server.port();
  auto base = cfg.public_url.empty() ? "https://" + url_host(cfg.listen_address) + ":" + std::to_string(port)
                                     : cfg.public_url;
  auto fingerprint = net::certificate_fingerprint_sha256(cfg.certificate);
  log::info("listening", {{"address", cfg.listen_address},
                          {"port", port},
                          {"version", std::string(RELAIS_VERSION)},
                          {"data_dir", cfg.data_dir.string()},
                          {"web_root", cfg.web_root.string()}});
  std::printf("relaisd %s listening on %s\n", std::string(RELAIS_VERSION).c_str(), base.c_str());
  std::printf("  open:      %s/\n", base.c_str());
  std::printf("  health:    %s/healthz\n", base.c_str());
  std::printf("  websocket: %s/ws\n", (std::string("wss") + base.substr(5)).c_str());
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
  CLI11_PARSE(cli, argc, argv);
  if (!listen.empty()) over.listen = listen;
  if (!data_dir.empty()) over.data_dir = data_dir;
  if (!web_root.empty()) over.web_root = web_root;
  if (!log_level.empty()) over.log_level = log_level;
  return serve(config_path, over);
}
