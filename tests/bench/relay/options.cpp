#include "options.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

namespace relais::bench {

namespace limits {
/// Seconds: a single run is capped so that a forgotten bench never runs for hours.
inline constexpr double max_run_seconds = 600;
/// Connections: a process holds at most 20,000 descriptors here (TOOLCHAIN.md).
inline constexpr int max_connections = 19'900;
/// Messages per side in flight: beyond it the server's outbound queue, not the relay, is measured.
inline constexpr int max_window = 4096;
/// Bytes: the protocol's ciphertext limit is 46,080; keep payloads within one frame.
inline constexpr int max_size = 40'000;
}  // namespace limits

const char* name_of(protocol_kind p) noexcept { return p == protocol_kind::pair ? "pair" : "relais"; }

const char* name_of(mode_kind m) noexcept {
  switch (m) {
    case mode_kind::throughput:
      return "throughput";
    case mode_kind::latency:
      return "latency";
    case mode_kind::idle:
      return "idle";
    case mode_kind::queue_storm:
      return "queue-storm";
    case mode_kind::evening:
      return "evening";
  }
  return "?";
}

std::optional<int> parse_options(int argc, char** argv, options& o) {
  CLI::App app{
      "relais-bench: load generator for relaisd (--protocol relais) and the minimal pair relays of "
      "../shared/peers (--protocol pair). Prints one JSON line per run on stdout, a summary on stderr.\n"
      "Exit status: 0 done, 1 failure (protocol error, close, timeout), 2 usage."};
  std::string protocol = "pair";
  std::string mode = "throughput";
  app.add_option("--protocol", protocol, "pair (../shared/peers relays) or relais (relaisd)")
      ->check(CLI::IsMember({"pair", "relais"}))
      ->capture_default_str();
  app.add_option("--mode", mode, "throughput, latency, idle, queue-storm (relais) or evening (relais)")
      ->check(CLI::IsMember({"throughput", "latency", "idle", "queue-storm", "evening"}))
      ->capture_default_str();
  app.add_option("--host", o.host, "Server address")->capture_default_str();
  app.add_option("--port", o.port, "Server port")->check(CLI::Range(1, 65535));
  app.add_option("--transport", o.transport, "pair protocol: ws or raw (length-prefixed TCP, raw_relay)")
      ->check(CLI::IsMember({"ws", "raw"}))
      ->capture_default_str();
  app.add_flag("--tls", o.tls, "pair protocol: wss:// (relais uses TLS unless --plain)");
  app.add_flag("--plain", o.plain,
               "relais protocol: ws:// to relaisd's plain loopback listener ([server] plain_listen, the port "
               "a TLS-ending reverse proxy uses)");
  app.add_option("--target", o.target, "WebSocket request target (default / for pair, /ws for relais)");
  app.add_flag("-k,--insecure", o.insecure, "Do not verify the server certificate (self-signed)");
  app.add_option("--ca", o.ca_file, "PEM certificate(s) to trust, e.g. DATA_DIR/tls/cert.pem");
  app.add_option("--pairs", o.pairs, "Pairs (conversations) for throughput and latency")
      ->check(CLI::Range(1, limits::max_connections / 2))
      ->capture_default_str();
  app.add_option("--msgs", o.msgs, "Messages per side at most (throughput)")->check(CLI::PositiveNumber);
  app.add_option("--size", o.size, "Payload bytes (relais: plaintext bytes before encryption)")
      ->check(CLI::Range(24, limits::max_size))
      ->capture_default_str();
  app.add_option("--window", o.window, "Messages in flight per side (relais: not yet acked or not yet received)")
      ->check(CLI::Range(1, limits::max_window))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "latency: total messages per second")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "Measured seconds")
      ->check(CLI::Range(0.1, limits::max_run_seconds))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "Seconds before measuring")
      ->check(CLI::Range(0.0, limits::max_run_seconds))
      ->capture_default_str();
  app.add_option("--drain", o.drain, "latency: seconds left for the last messages to arrive")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  app.add_option("--conns", o.conns, "idle: connections to hold")
      ->check(CLI::Range(1, limits::max_connections))
      ->capture_default_str();
  app.add_option("--hold", o.hold, "idle: seconds to hold them")
      ->check(CLI::Range(0.0, limits::max_run_seconds))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "io threads of the generator")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--srcips", o.source_addresses, "Spread connections over 127.0.0.1..N")
      ->check(CLI::Range(1, 250))
      ->capture_default_str();
  app.add_option("--connect-concurrency", o.connect_concurrency, "Connections being opened at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--connect-rate", o.connect_rate, "Connections opened per second at most")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "Server process: its CPU per message and RSS per connection");
  app.add_option("--label", o.label, "Free text copied into the JSON line");
  app.add_option("--timeout", o.timeout, "Seconds a setup phase or a stalled run may take")
      ->check(CLI::Range(1.0, limits::max_run_seconds))
      ->capture_default_str();
  app.add_flag("--precomputed", o.precomputed, "relais: one pre-made ciphertext for every message (transport cost)");
  app.add_option("--workers", o.workers, "relais: worker accounts PREFIX1..PREFIXn")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--worker-prefix", o.worker_prefix, "relais: worker account name prefix")->capture_default_str();
  app.add_option("--password-file", o.password_file, "relais: file whose first line is the workers' password");
  app.add_option("--org-key", o.org_key_file, "relais: file holding the organisation key seed (64 hex)");
  app.add_option("--beneficiaries", o.beneficiaries, "queue-storm: beneficiaries waiting in the queue")
      ->check(CLI::Range(1, limits::max_connections - 1000))
      ->capture_default_str();
  app.add_option("--urgent-fraction", o.urgent_fraction, "queue-storm, evening: fraction of beneficiaries joining as urgent")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--arrival-rate", o.arrival_rate, "evening: beneficiaries arriving per second (Poisson), during --duration")
      ->check(CLI::Range(0.01, 1000.0))
      ->capture_default_str();
  app.add_option("--capacity", o.capacity, "evening: conversations each worker holds at once")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  app.add_option("--assign", o.assign,
                 "evening: take (workers send queue.take as they free up) or auto (presence.set capacity; "
                 "relaisd needs [permanence] auto_assign = true)")
      ->check(CLI::IsMember({"take", "auto"}))
      ->capture_default_str();
  app.add_option("--conversation-s", o.conversation_s, "evening: mean seconds a conversation lasts before the worker ends it")
      ->check(CLI::Range(0.5, limits::max_run_seconds))
      ->capture_default_str();
  app.add_option("--think-s", o.think_s, "evening: mean seconds between two messages of one side")
      ->check(CLI::Range(0.05, 600.0))
      ->capture_default_str();
  app.add_option("--reconnect-fraction", o.reconnect_fraction,
                 "evening: fraction of conversations whose beneficiary drops its connection once and resumes with sync")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--offline-s", o.offline_s, "evening: seconds a dropped beneficiary stays away")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  bool no_receipts = false;
  app.add_flag("--no-receipts", no_receipts, "evening: do not send conversation.delivered receipts");
  app.add_option("--seed", o.seed, "evening: seed of the arrivals, lengths and pauses")->capture_default_str();
  app.add_option("--make-org-key", o.make_org_key,
                 "Write a fresh organisation key seed to FILE (mode 0600), print the [org] public_key line, exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  o.protocol = protocol == "relais" ? protocol_kind::relais : protocol_kind::pair;
  o.mode = mode == "latency"       ? mode_kind::latency
           : mode == "idle"        ? mode_kind::idle
           : mode == "queue-storm" ? mode_kind::queue_storm
           : mode == "evening"     ? mode_kind::evening
                                   : mode_kind::throughput;
  o.receipts = !no_receipts;
  if (o.mode == mode_kind::queue_storm) {
    // The scenario: 5 workers taking one each per second for 20 s.
    if (app.count("--workers") == 0) o.workers = 5;
    if (app.count("--duration") == 0) o.duration = 20;
  }
  if (o.mode == mode_kind::evening) {
    // An evening of one minute of arrivals; its clients share state on one io thread (the
    // load is human-paced: a thread is plenty, and no lock is needed).
    if (app.count("--duration") == 0) o.duration = 60;
    o.threads = 1;
  }
  if (!o.make_org_key.empty()) return std::nullopt;
  auto usage = [](const std::string& what) {
    std::cerr << "relais-bench: " << what << '\n';
    return std::optional<int>(2);
  };
  if (o.port == 0) return usage("--port is required");
  if ((o.mode == mode_kind::queue_storm || o.mode == mode_kind::evening) && o.protocol != protocol_kind::relais) {
    return usage(std::string("--mode ") + name_of(o.mode) + " needs --protocol relais (the pair relays have no queue)");
  }
  if (o.mode == mode_kind::evening &&
      o.arrival_rate * o.duration > static_cast<double>(limits::max_connections - o.workers - 100)) {
    return usage("--arrival-rate x --duration beneficiaries need more descriptors than one process has");
  }
  if (o.protocol == protocol_kind::relais) {
    if (o.transport != "ws") return usage("--transport raw is for the pair protocol only");
    if (o.tls) return usage("--tls is for the pair protocol (relais uses TLS unless --plain)");
    o.tls = !o.plain;
    if (o.tls && !o.insecure && o.ca_file.empty()) {
      return usage("relaisd's certificate is self-signed: give --ca DATA_DIR/tls/cert.pem or --insecure");
    }
    if (o.mode != mode_kind::idle && (o.password_file.empty() || o.org_key_file.empty())) {
      return usage("--protocol relais needs --password-file and --org-key for worker accounts");
    }
    if (o.target.empty()) o.target = "/ws";
  } else {
    if (o.precomputed) return usage("--precomputed is for the relais protocol");
    if (o.plain) return usage("--plain is for the relais protocol (the pair protocol is plain without --tls)");
    if (o.tls && o.transport == "raw") return usage("--tls needs --transport ws");
    if (o.target.empty()) o.target = "/";
  }
  if (o.mode == mode_kind::idle && o.protocol == protocol_kind::pair && o.conns % 2 != 0) ++o.conns;
  return std::nullopt;
}

}  // namespace relais::bench
