#include "relais/app/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <limits>
#include <set>

#include "relais/log/log.hpp"
#include "relais/protocol/base64url.hpp"

namespace relais::app {
namespace {

using key_set = std::set<std::string, std::less<>>;

// The keys each table accepts; anything else is an error (a typo must not pass silently).
const std::map<std::string, key_set, std::less<>>& known_keys() {
  static const std::map<std::string, key_set, std::less<>> keys{
      {"server",
       {"listen", "data_dir", "web_root", "public_url", "threads", "max_connections", "allowed_origins"}},
      {"tls", {"certificate", "private_key", "hsts_max_age_seconds"}},
      {"limits",
       {"max_message_bytes", "max_http_header_bytes", "outbound_queue_bytes", "outbound_queue_messages",
        "tls_handshake_timeout_seconds", "http_idle_timeout_seconds", "ws_idle_timeout_seconds",
        "shutdown_timeout_seconds", "auth_timeout_seconds", "max_errors_per_minute", "messages_per_second",
        "messages_burst", "logins_per_minute_per_address", "queue_joins_per_minute_per_address",
        "backup_gets_per_minute_per_address", "authentications_per_minute_per_address"}},
      {"auth", {"totp_required", "session_days", "max_failed_logins", "lockout_minutes", "totp_issuer"}},
      {"org", {"public_key"}},
      {"log", {"level"}},
      {"store",
       {"path", "synchronous", "allow_unsafe_durability", "retention_days", "purge_interval_minutes",
        "max_queued_writes", "max_queued_reads", "reader_threads", "busy_timeout_ms", "quick_check_on_open"}},
  };
  return keys;
}

/// Reads typed values out of one table, remembering the first error.
class reader {
 public:
  reader(std::string file, std::string table, const toml::table* t, std::string& error)
      : file_(std::move(file)), table_(std::move(table)), t_(t), error_(error) {}

  template <typename Int>
  void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    auto* node = find(key);
    if (node == nullptr) return;
    auto v = node->value<std::int64_t>();
    if (!node->is_integer() || !v) return fail(key, "must be an integer");
    if (*v < min || *v > max) {
      return fail(key, "is " + std::to_string(*v) + ", must be between " + std::to_string(min) + " and " +
                           std::to_string(max));
    }
    out = static_cast<Int>(*v);
  }
  void boolean(std::string_view key, bool& out) {
    auto* node = find(key);
    if (node == nullptr) return;
    if (!node->is_boolean()) return fail(key, "must be true or false");
    out = *node->value<bool>();
  }
  void string(std::string_view key, std::string& out) {
    auto* node = find(key);
    if (node == nullptr) return;
    if (!node->is_string()) return fail(key, "must be a string");
    out = *node->value<std::string>();
  }
  void path(std::string_view key, std::filesystem::path& out) {
    std::string s;
    bool had = find(key) != nullptr;
    string(key, s);
    if (had && error_.empty()) out = s;
  }
  void string_list(std::string_view key, std::vector<std::string>& out) {
    auto* node = find(key);
    if (node == nullptr) return;
    auto* arr = node->as_array();
    if (arr == nullptr) return fail(key, "must be an array of strings");
    std::vector<std::string> values;
    for (const auto& item : *arr) {
      if (!item.is_string()) return fail(key, "must be an array of strings");
      values.push_back(*item.value<std::string>());
    }
    out = std::move(values);
  }
  void fail(std::string_view key, const std::string& what) {
    if (error_.empty()) error_ = file_ + ": [" + table_ + "] " + std::string(key) + " " + what;
  }

 private:
  const toml::node* find(std::string_view key) const { return t_ ? t_->get(key) : nullptr; }

  std::string file_;
  std::string table_;
  const toml::table* t_;
  std::string& error_;
};

}  // namespace

bool parse_listen(const std::string& text, std::string& address, std::uint16_t& port, std::string& error) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "listen '" + text + "' must be ADDRESS:PORT (IPv6 as [::1]:8443)";
      return false;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      error = "listen '" + text + "' must be ADDRESS:PORT (IPv6 as [::1]:8443)";
      return false;
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty() || port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    error = "listen '" + text + "' must be ADDRESS:PORT with a port from 0 to 65535";
    return false;
  }
  in6_addr probe{};
  if (::inet_pton(AF_INET, host.c_str(), &probe) != 1 && ::inet_pton(AF_INET6, host.c_str(), &probe) != 1) {
    error = "listen '" + text + "': '" + host + "' is not an IPv4 or IPv6 address";
    return false;
  }
  auto p = std::stoul(port_text);
  if (p > 65535) {
    error = "listen '" + text + "' has a port above 65535";
    return false;
  }
  address = host;
  port = static_cast<std::uint16_t>(p);
  return true;
}

bool load_config(const std::filesystem::path& path, const overrides& cli, config& out, std::string& error) {
  error.clear();
  config c;
  if (!path.empty()) {
    toml::table root;
    try {
      root = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      error = path.string() + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
              std::string(e.description());
      return false;
    }
    const auto file = path.string();
    for (const auto& [name, node] : root) {
      auto table_it = known_keys().find(name.str());
      if (table_it == known_keys().end()) {
        error = file + ": unknown table [" + std::string(name.str()) + "]";
        return false;
      }
      auto* table = node.as_table();
      if (table == nullptr) {
        error = file + ": " + std::string(name.str()) + " must be a table";
        return false;
      }
      for (const auto& [key, value] : *table) {
        if (!table_it->second.contains(key.str())) {
          error = file + ": unknown key " + std::string(key.str()) + " in [" + std::string(name.str()) + "]";
          return false;
        }
      }
    }
    {
      reader r(file, "server", root["server"].as_table(), error);
      std::string listen;
      r.string("listen", listen);
      if (error.empty() && !listen.empty()) {
        std::string why;
        if (!parse_listen(listen, c.listen_address, c.port, why)) r.fail("listen", "is invalid: " + why);
      }
      r.path("data_dir", c.data_dir);
      r.path("web_root", c.web_root);
      r.string("public_url", c.public_url);
      if (error.empty() && !c.public_url.empty() && c.public_url.rfind("https://", 0) != 0) {
        r.fail("public_url", "must start with https://");
      }
      r.integer("threads", c.threads, 0, 256);
      r.integer("max_connections", c.max_connections, 1, 1'000'000);
      r.string_list("allowed_origins", c.allowed_origins);
      for (const auto& o : c.allowed_origins) {
        if (error.empty() && o.rfind("https://", 0) != 0 && o.rfind("http://", 0) != 0) {
          r.fail("allowed_origins", "entry '" + o + "' must be an origin such as https://example.org");
        }
      }
    }
    {
      reader r(file, "tls", root["tls"].as_table(), error);
      r.path("certificate", c.certificate);
      r.path("private_key", c.private_key);
      r.integer("hsts_max_age_seconds", c.hsts_max_age_seconds, 0, 63'072'000);
      if (error.empty() && c.certificate.empty() != c.private_key.empty()) {
        r.fail(c.certificate.empty() ? "certificate" : "private_key",
               "is missing: certificate and private_key go together (or both empty for self-signed)");
      }
    }
    {
      reader r(file, "limits", root["limits"].as_table(), error);
      r.integer("max_message_bytes", c.max_message_bytes, 1024, 1024 * 1024);
      r.integer("max_http_header_bytes", c.max_http_header_bytes, 1024, 64 * 1024);
      r.integer("outbound_queue_bytes", c.outbound_queue_bytes, 64 * 1024, 64 * 1024 * 1024);
      r.integer("outbound_queue_messages", c.outbound_queue_messages, 16, 1'000'000);
      r.integer("tls_handshake_timeout_seconds", c.tls_handshake_timeout_seconds, 1, 120);
      r.integer("http_idle_timeout_seconds", c.http_idle_timeout_seconds, 1, 3600);
      r.integer("ws_idle_timeout_seconds", c.ws_idle_timeout_seconds, 5, 3600);
      r.integer("shutdown_timeout_seconds", c.shutdown_timeout_seconds, 1, 300);
      r.integer("auth_timeout_seconds", c.auth_timeout_seconds, 1, 300);
      r.integer("max_errors_per_minute", c.max_errors_per_minute, 1, 10'000);
      r.integer("messages_per_second", c.messages_per_second, 1, 100'000);
      r.integer("messages_burst", c.messages_burst, 1, 100'000);
      r.integer("logins_per_minute_per_address", c.logins_per_minute_per_address, 1, 100'000);
      r.integer("queue_joins_per_minute_per_address", c.queue_joins_per_minute_per_address, 1, 100'000);
      r.integer("backup_gets_per_minute_per_address", c.backup_gets_per_minute_per_address, 1, 100'000);
      r.integer("authentications_per_minute_per_address", c.authentications_per_minute_per_address, 1, 1'000'000);
    }
    {
      reader r(file, "auth", root["auth"].as_table(), error);
      r.boolean("totp_required", c.totp_required);
      r.integer("session_days", c.session_days, 1, 365);
      r.integer("max_failed_logins", c.max_failed_logins, 1, 100);
      r.integer("lockout_minutes", c.lockout_minutes, 1, 24 * 60);
      r.string("totp_issuer", c.totp_issuer);
      if (error.empty() && (c.totp_issuer.empty() || c.totp_issuer.size() > 64)) {
        r.fail("totp_issuer", "must be 1 to 64 bytes");
      }
    }
    {
      reader r(file, "org", root["org"].as_table(), error);
      r.string("public_key", c.org_public_key);
      if (error.empty() && !c.org_public_key.empty()) {
        std::error_code ec;
        auto key = protocol::encoded_bytes::from_text(c.org_public_key, ec);
        if (ec || key.size() != 32) r.fail("public_key", "must be the organisation's Ed25519 public key, 43 base64url characters");
      }
    }
    {
      reader r(file, "log", root["log"].as_table(), error);
      r.string("level", c.log_level);
      if (error.empty() && !log::parse_level(c.log_level)) r.fail("level", "must be debug, info, warn or error");
    }
    {
      reader r(file, "store", root["store"].as_table(), error);
      r.path("path", c.store_path);
      r.string("synchronous", c.store_synchronous);
      r.boolean("allow_unsafe_durability", c.allow_unsafe_durability);
      r.integer("retention_days", c.retention_days, 1, 3650);
      r.integer("purge_interval_minutes", c.purge_interval_minutes, 1, 1440);
      r.integer("max_queued_writes", c.store_max_queued_writes, 1, 1'000'000);
      r.integer("max_queued_reads", c.store_max_queued_reads, 1, 1'000'000);
      r.integer("reader_threads", c.store_reader_threads, 1, 64);
      r.integer("busy_timeout_ms", c.store_busy_timeout_ms, 0, 600'000);
      r.boolean("quick_check_on_open", c.store_quick_check_on_open);
      if (error.empty() && c.store_synchronous != "full" && c.store_synchronous != "normal" &&
          c.store_synchronous != "off") {
        r.fail("synchronous", "must be full, normal or off");
      }
      if (error.empty() && c.store_synchronous != "full" && !c.allow_unsafe_durability) {
        r.fail("synchronous", "is '" + c.store_synchronous +
                                  "': acknowledged messages could be lost on a crash; set "
                                  "allow_unsafe_durability = true only for throwaway test servers");
      }
    }
    if (!error.empty()) return false;
  }
  if (cli.listen && !parse_listen(*cli.listen, c.listen_address, c.port, error)) {
    error = "--listen: " + error;
    return false;
  }
  if (cli.data_dir) c.data_dir = *cli.data_dir;
  if (cli.web_root) c.web_root = *cli.web_root;
  if (cli.log_level) {
    if (!log::parse_level(*cli.log_level)) {
      error = "--log-level must be debug, info, warn or error";
      return false;
    }
    c.log_level = *cli.log_level;
  }
  out = std::move(c);
  return true;
}

core::relay_settings to_relay_settings(const config& c) {
  core::relay_settings s;
  s.auth_timeout = std::chrono::seconds(c.auth_timeout_seconds);
  s.max_errors_per_minute = c.max_errors_per_minute;
  s.messages_per_second = c.messages_per_second;
  s.messages_burst = c.messages_burst;
  s.totp_required = c.totp_required;
  s.session_lifetime = std::chrono::hours(24) * c.session_days;
  s.max_failed_logins = static_cast<int>(c.max_failed_logins);
  s.lockout = std::chrono::minutes(c.lockout_minutes);
  s.totp_issuer = c.totp_issuer;
  if (!c.org_public_key.empty()) {
    std::error_code ec;
    auto encoded = protocol::encoded_bytes::from_text(c.org_public_key, ec);
    std::array<std::uint8_t, 32> key{};
    if (!ec && !encoded.decode_into(key)) s.org_public_key = key;
  }
  return s;
}

net::server_options to_server_options(const config& c) {
  net::server_options o;
  o.listen_address = c.listen_address;
  o.port = c.port;
  o.web_root = c.web_root;
  o.tls = {c.certificate, c.private_key};
  o.allowed_origins = c.allowed_origins;
  // Listing the sites that embed the widget must not lock out relaisd's own pages (the
  // console): the origin of public_url is always allowed too.
  if (!o.allowed_origins.empty() && !c.public_url.empty()) {
    auto end = c.public_url.find('/', 8);  // after "https://"
    o.allowed_origins.push_back(c.public_url.substr(0, end));
  }
  o.threads = c.threads;
  o.max_connections = c.max_connections;
  o.max_message_bytes = c.max_message_bytes;
  o.max_header_bytes = c.max_http_header_bytes;
  o.outbound_queue_bytes = c.outbound_queue_bytes;
  o.outbound_queue_messages = c.outbound_queue_messages;
  o.tls_handshake_timeout = std::chrono::seconds(c.tls_handshake_timeout_seconds);
  o.http_idle_timeout = std::chrono::seconds(c.http_idle_timeout_seconds);
  o.ws_idle_timeout = std::chrono::seconds(c.ws_idle_timeout_seconds);
  o.shutdown_timeout = std::chrono::seconds(c.shutdown_timeout_seconds);
  o.hsts_max_age_seconds = c.hsts_max_age_seconds;
  return o;
}

}  // namespace relais::app
