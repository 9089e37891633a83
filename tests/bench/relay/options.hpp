#pragma once

#include <cstdint>
#include <optional>
#include <string>

// Command line of relais-bench (README.md in this folder documents every option).

namespace relais::bench {

enum class protocol_kind : std::uint8_t { pair, relais };
enum class mode_kind : std::uint8_t { throughput, latency, idle, queue_storm, evening };

/// Everything a run is parameterised by; validated by parse_options.
struct options {
  protocol_kind protocol = protocol_kind::pair;
  mode_kind mode = mode_kind::throughput;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string transport = "ws";  ///< pair protocol: ws or raw
  bool tls = false;              ///< wss:// (pair: --tls; relais: unless --plain)
  bool plain = false;            ///< relais over ws:// to relaisd's plain loopback listener
  std::string target;            ///< WebSocket target; default "/" (pair) or "/ws" (relais)
  bool insecure = false;         ///< do not verify the server certificate
  std::string ca_file;           ///< trust this PEM file instead of the system store

  int pairs = 100;
  long long msgs = 1'000'000'000;  ///< per side; the run ends at --duration anyway
  int size = 300;                  ///< payload (pair) or plaintext (relais) bytes
  int window = 32;                 ///< messages in flight per side
  double rate = 5000;              ///< latency mode: total messages per second
  double duration = 10;            ///< measured seconds (throughput, latency; queue-storm: 20, the take phase; evening: 60, the arrivals)
  double warmup = 1;               ///< seconds before measuring
  double drain = 1;                ///< latency mode: seconds left for the last messages
  int conns = 10000;               ///< idle mode: connections to hold
  double hold = 3;                 ///< idle mode: seconds held after all are open
  unsigned threads = 1;            ///< io threads of the generator
  unsigned source_addresses = 1;   ///< spread connections over 127.0.0.1..N
  int connect_concurrency = 64;    ///< connections being opened at once
  double connect_rate = 2000;      ///< connections opened per second at most
  int server_pid = 0;              ///< read CPU and RSS of this process
  std::string label;               ///< copied into the JSON line
  double timeout = 60;             ///< seconds any setup phase or stall may take

  // Relais protocol only.
  bool precomputed = false;  ///< send one pre-made ciphertext instead of encrypting each message
  int workers = 10;          ///< worker accounts PREFIX1..PREFIXn, pairs spread over them (queue-storm: 5)
  std::string worker_prefix = "bench-w";
  std::string password_file;  ///< first line: the workers' password
  std::string org_key_file;   ///< hex seed of the organisation key (see --make-org-key)
  std::string make_org_key;   ///< write a fresh org key seed there, print its public key, exit

  // queue-storm mode (relais only).
  int beneficiaries = 10'000;   ///< waiting beneficiaries
  double urgent_fraction = 0.1;  ///< of them joining as urgent (queue-storm and evening)

  // evening mode (relais only).
  double arrival_rate = 2;          ///< beneficiaries arriving per second (Poisson) during --duration
  int capacity = 3;                 ///< conversations a worker holds at once
  std::string assign = "take";      ///< take: queue.take as slots free up; auto: the server assigns (auto_assign)
  double conversation_s = 20;       ///< mean length of a conversation, handshake to the worker's end (0.5x..1.5x)
  double think_s = 3;               ///< mean seconds between two messages of one side (0.5x..1.5x)
  double reconnect_fraction = 0.2;  ///< conversations whose beneficiary drops its connection once
  double offline_s = 2;             ///< seconds such a beneficiary stays away before reconnecting
  bool receipts = true;             ///< send conversation.delivered after each message received
  std::uint64_t seed = 1;           ///< arrivals, lengths and pauses are drawn from it
};

/// Parses argv; on error or --help prints to stderr/stdout and returns the exit status to use.
[[nodiscard]] std::optional<int> parse_options(int argc, char** argv, options& out);

/// Wire names for the JSON line.
[[nodiscard]] const char* name_of(protocol_kind p) noexcept;
[[nodiscard]] const char* name_of(mode_kind m) noexcept;

}  // namespace relais::bench
