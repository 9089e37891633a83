// relais-bench: load generator for relaisd and the minimal pair relays of ../shared/peers.
// Builds the clients of the chosen protocol, sets them up in phases, runs one mode, prints
// one JSON line on stdout (and a one-line summary on stderr), and exits without tearing down
// thousands of sockets one by one (the kernel closes them).
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "evening.hpp"
#include "modes.hpp"
#include "options.hpp"
#include "pair_protocol.hpp"
#include "queue_storm.hpp"
#include "relais/crypto/sodium_init.hpp"
#include "relais_protocol_client.hpp"
#include "transport.hpp"

namespace {

using namespace relais::bench;

/// Raises the soft descriptor limit to the hard one (idle runs hold thousands of sockets).
void raise_descriptor_limit(std::size_t needed) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && needed + 64 > rl.rlim_cur) {
    fatal(std::to_string(needed) + " connections need more descriptors than the limit of " +
          std::to_string(rl.rlim_cur) + " (spread the clients over several processes)");
  }
}

std::string read_password(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) fatal("cannot read a password from " + path);
  return line;
}

void summary(const nlohmann::json& j) {
  auto num = [&](const char* key) { return j.contains(key) ? j[key].dump() : std::string("-"); };
  std::fprintf(stderr, "relais-bench %s %s: msgs/s %s, server us/msg %s, p50 %s us, p99 %s us, bytes/conn %s\n",
               j["protocol"].get<std::string>().c_str(), j["mode"].get<std::string>().c_str(),
               num("msgs_per_s").c_str(), num("server_us_per_msg").c_str(), num("p50_us").c_str(),
               num("p99_us").c_str(), num("bytes_per_conn").c_str());
}

int run(const options& o) {
  if (!relais::crypto::sodium_init_once()) fatal("libsodium cannot start");
  nlohmann::json out;
  out["tool"] = "relais-bench";
  out["label"] = o.label;
  out["mode"] = name_of(o.mode);
  out["protocol"] = name_of(o.protocol);
  out["transport"] = o.protocol == protocol_kind::pair && o.transport == "raw" ? "raw" : (o.tls ? "wss" : "ws");
  out["threads"] = o.threads;
  if (o.protocol == protocol_kind::relais) out["payload"] = o.precomputed ? "precomputed" : "e2e";
  if (o.mode == mode_kind::idle) {
    out["conns"] = o.conns;
  } else if (o.mode != mode_kind::queue_storm && o.mode != mode_kind::evening) {
    out["pairs"] = o.pairs;
    out["size"] = o.size;
    if (o.mode == mode_kind::throughput) out["window"] = o.window;
  }

  const std::size_t connections =
      o.mode == mode_kind::idle ? static_cast<std::size_t>(o.conns)
      : o.mode == mode_kind::queue_storm
          ? static_cast<std::size_t>(o.beneficiaries) + static_cast<std::size_t>(o.workers)
      : o.mode == mode_kind::evening
          ? static_cast<std::size_t>(std::ceil(o.arrival_rate * o.duration)) + static_cast<std::size_t>(o.workers)
          : 2 * static_cast<std::size_t>(o.pairs);
  raise_descriptor_limit(connections);

  std::unique_ptr<tls_client> tls;
  if (o.tls) tls = std::make_unique<tls_client>(!o.insecure, o.ca_file);
  endpoint ep;
  ep.kind = o.transport == "raw" ? transport_kind::raw : (o.tls ? transport_kind::wss : transport_kind::ws);
  ep.host = o.host;
  ep.port = o.port;
  ep.target = o.target;
  ep.tls = tls.get();
  ep.source_addresses = o.source_addresses;

  io_pool pool(o.threads);
  auto io_of = [&](std::size_t i) { return static_cast<unsigned>(i % o.threads); };

  // Units and links live until the process exits: connections call back into them.
  std::vector<std::unique_ptr<client_unit>> owned;
  std::vector<std::unique_ptr<worker_account>> accounts;
  relais_run_settings settings;
  settings.ep = ep;
  settings.plaintext_size = static_cast<std::size_t>(o.size);
  settings.precomputed = o.precomputed;

  if (o.mode == mode_kind::queue_storm) {
    // Its clients are its own (beneficiaries that wait, workers that take): built by the mode.
    const auto org = load_org_key_file(o.org_key_file);
    settings.org_public = org.public_key_bytes();
    pool.start();
    run_queue_storm(pool, o, settings, org, read_password(o.password_file), out);
    std::printf("%s\n", out.dump().c_str());
    print_queue_storm_table(out);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(0);
  }
  if (o.mode == mode_kind::evening) {
    // Its clients arrive over time and share the conversations' state: built by the mode.
    const auto org = load_org_key_file(o.org_key_file);
    settings.org_public = org.public_key_bytes();
    if (o.precomputed) settings.precomputed_ciphertext = make_precomputed_ciphertext(settings.plaintext_size);
    pool.start();
    const bool ok = run_evening(pool, o, settings, org, read_password(o.password_file), out);
    std::printf("%s\n", out.dump().c_str());
    print_evening_table(out);
    if (!ok) {
      std::fprintf(stderr,
                   "relais-bench: evening: FAILED: messages lost or duplicated, seqs missing or conversations "
                   "unsettled (lost, duplicates, seq_gaps, unsettled in the JSON line)\n");
    }
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(ok ? 0 : 1);
  }
  if (o.mode == mode_kind::idle) {
    if (o.protocol == protocol_kind::pair) {
      for (std::size_t i = 0; i < connections / 2; ++i) {
        owned.push_back(std::make_unique<pair_link>(pool, io_of(i), ep, i, static_cast<std::size_t>(o.size)));
      }
    } else {
      for (std::size_t i = 0; i < connections; ++i) {
        owned.push_back(std::make_unique<relais_idle_beneficiary>(pool, io_of(i), i, ep));
      }
    }
  } else if (o.protocol == protocol_kind::pair) {
    for (std::size_t i = 0; i < static_cast<std::size_t>(o.pairs); ++i) {
      owned.push_back(std::make_unique<pair_link>(pool, io_of(i), ep, i, static_cast<std::size_t>(o.size)));
    }
  } else {
    const auto org = load_org_key_file(o.org_key_file);
    settings.org_public = org.public_key_bytes();
    if (o.precomputed) settings.precomputed_ciphertext = make_precomputed_ciphertext(settings.plaintext_size);
    const auto password = read_password(o.password_file);
    const int workers = std::min(o.workers, o.pairs);
    const int per_account = (o.pairs + workers - 1) / workers;
    for (int w = 0; w < workers; ++w) {
      accounts.push_back(std::make_unique<worker_account>(o.worker_prefix + std::to_string(w + 1), password, org,
                                                          per_account + 4));
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(o.pairs); ++i) {
      auto& account = *accounts[i % static_cast<std::size_t>(workers)];
      const bool publishes = i < static_cast<std::size_t>(workers);
      owned.push_back(std::make_unique<relais_link>(pool, io_of(i), i, account, publishes, settings));
    }
    out["workers"] = workers;
    out["devices_per_account"] = per_account;
    if (per_account > 1) {
      // Every device of an account follows all the account's conversations (PROTOCOL.md §7),
      // so the server sends each message to the other devices too: not a 1:1 relay.
      std::fprintf(stderr,
                   "relais-bench: warning: %d devices per worker account: each message is also sent to the "
                   "account's other devices (give --workers %d with as many accounts for a 1:1 relay)\n",
                   per_account, o.pairs);
    }
  }

  std::vector<client_unit*> units;
  for (auto& u : owned) units.push_back(u.get());
  pool.start();
  if (o.mode == mode_kind::idle) {
    run_idle(pool, units, o, out);
  } else {
    run_setup(pool, units, o, out);
    std::vector<bench_link*> links;
    for (auto* u : units) links.push_back(static_cast<bench_link*>(u));
    if (o.mode == mode_kind::throughput) {
      run_throughput(pool, links, o, out);
    } else {
      run_latency(pool, links, o, out);
    }
    if (o.protocol == protocol_kind::relais) {
      std::uint64_t copies = 0;  // the io threads are stopped
      for (auto* l : links) copies += static_cast<relais_link*>(l)->other_device_copies();
      out["other_device_copies"] = copies;
    }
  }
  std::printf("%s\n", out.dump().c_str());
  summary(out);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (auto rc = parse_options(argc, argv, o)) return *rc;
  try {
    if (!o.make_org_key.empty()) {
      if (!relais::crypto::sodium_init_once()) fatal("libsodium cannot start");
      std::printf("public_key = \"%s\"\n", make_org_key_file(o.make_org_key).c_str());
      return 0;
    }
    return run(o);
  } catch (const std::exception& e) {
    fatal(e.what());
  }
}
