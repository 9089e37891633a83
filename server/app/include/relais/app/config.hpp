#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "relais/core/relay.hpp"
#include "relais/net/server.hpp"

namespace relais::app {

/// relaisd's whole configuration: the TOML file (config/README.md documents every key) with
/// command-line overrides applied.
struct config {
  // [server]
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8443;
  std::filesystem::path data_dir = "data";
  std::filesystem::path web_root;  // empty: the built web clients of this source tree
  std::string public_url;          // empty: https://<listen address>:<port>
  std::string plain_listen_address;  // empty: no plain listener (loopback only, for a reverse proxy)
  std::uint16_t plain_port = 0;
  unsigned threads = 0;
  std::size_t max_connections = 16384;
  std::vector<std::string> allowed_origins;
  // [tls]
  std::filesystem::path certificate;  // empty (with private_key empty): self-signed in data_dir/tls
  std::filesystem::path private_key;
  long hsts_max_age_seconds = 63'072'000;
  // [limits]
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_http_header_bytes = 8 * 1024;
  std::size_t outbound_queue_bytes = 1024 * 1024;
  std::size_t outbound_queue_messages = 4096;
  unsigned tls_handshake_timeout_seconds = 10;
  unsigned http_idle_timeout_seconds = 30;
  unsigned ws_idle_timeout_seconds = 60;
  unsigned shutdown_timeout_seconds = 5;
  unsigned auth_timeout_seconds = 10;
  unsigned max_errors_per_minute = 20;
  unsigned messages_per_second = 20;          // conversation.send and receipts, per connection
  unsigned messages_burst = 100;
  unsigned logins_per_minute_per_address = 20;
  unsigned queue_joins_per_minute_per_address = 30;
  unsigned backup_gets_per_minute_per_address = 20;
  unsigned authentications_per_minute_per_address = 600;
  // [auth]
  bool totp_required = true;
  unsigned session_days = 30;
  unsigned max_failed_logins = 5;
  unsigned lockout_minutes = 15;
  std::string totp_issuer = "Relais";
  // [org]
  std::string org_public_key;  // base64url Ed25519 public key; empty: worker keys are refused
  // [log]
  std::string log_level = "info";
  // [store]
  std::filesystem::path store_path;  // empty: <data_dir>/relais.db
  std::string store_synchronous = "full";
  bool allow_unsafe_durability = false;
  unsigned retention_days = 365;               // conversations ended longer ago are purged
  unsigned purge_interval_minutes = 60;
  std::size_t store_max_queued_writes = 16384;  // sqlite_options::max_queued_writes
  std::size_t store_max_queued_reads = 16384;
  std::size_t store_reader_threads = 2;
  unsigned store_busy_timeout_ms = 5000;
  bool store_quick_check_on_open = true;
  // [permanence] (config/README.md): validated at load, the schedule already bound to its time
  // zone; to_relay_settings hands it to the relay as relay_settings::permanence.
  std::string permanence_country = "FR";  // "FR", "BE" or "": which default emergency numbers
  core::permanence_settings permanence;   // emergency numbers: the listed ones, else the country's
};

/// Values given on the command line; each replaces the file's value when present.
struct overrides {
  std::optional<std::string> listen;  // ADDRESS:PORT, IPv6 as [::1]:8443
  std::optional<std::filesystem::path> data_dir;
  std::optional<std::filesystem::path> web_root;
  std::optional<std::string> log_level;
};

/// Loads `path` (or only defaults when empty) and applies the overrides. Every key is checked:
/// an unknown key, a wrong type or a value out of range gives false and one line in `error`
/// naming the file, the key and what is wrong. Never a silent default for a key given wrong.
[[nodiscard]] bool load_config(const std::filesystem::path& path, const overrides& cli, config& out,
                               std::string& error);

/// Parses "127.0.0.1:8443", "[::1]:8443" or "0.0.0.0:443" into address and port.
[[nodiscard]] bool parse_listen(const std::string& text, std::string& address, std::uint16_t& port,
                                std::string& error);

/// The relay's settings (limits, authentication, organisation key) for this configuration.
[[nodiscard]] core::relay_settings to_relay_settings(const config& c);

/// The network options for this configuration (TLS files must already be resolved).
[[nodiscard]] net::server_options to_server_options(const config& c);

}  // namespace relais::app
