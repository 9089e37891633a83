#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "options.hpp"
#include "transport.hpp"

// What the modes drive, whatever the protocol: client units that are set up in phases (open,
// authenticate, join...), and links (two clients sending to each other through the server).
// The modes (throughput, latency, idle) and the phase runner live in modes.cpp.

namespace relais::bench {

/// Prints "relais-bench: <what>" on stderr and exits with status 1 at once: a protocol error,
/// an unexpected close or a timeout ends the whole run (figures of a broken run are worthless).
[[noreturn]] void fatal(const std::string& what);

/// Nanoseconds of the steady clock, the stamp carried by every measured message.
[[nodiscard]] std::uint64_t now_ns() noexcept;

/// A client (or a pair of clients) that needs setting up before the measured part.
class client_unit {
 public:
  virtual ~client_unit() = default;
  /// The io thread the unit's connections live on.
  [[nodiscard]] virtual unsigned io_index() const noexcept = 0;
  /// Setup phases, run one after the other over all units (each one done everywhere before
  /// the next starts), e.g. "connect", "join".
  [[nodiscard]] virtual std::vector<std::string> phases() const = 0;
  /// How many units may run phase `p` at once: 0 = --connect-concurrency (and --connect-rate
  /// applies), 1 = one at a time (steps whose order matters, like taking from the queue).
  [[nodiscard]] virtual int phase_concurrency(std::size_t p) const = 0;
  /// Connections phase `p` opens (what --connect-rate counts).
  [[nodiscard]] virtual double phase_connections(std::size_t) const { return 1; }
  /// Runs phase `p` on the unit's io thread; calls `done` once when it succeeded (failures are
  /// fatal).
  virtual void run_phase(std::size_t p, std::function<void()> done) = 0;
};

/// Receives what happens to measured messages, on the link's io thread.
class link_listener {
 public:
  /// Side `receiver` received a message its peer stamped `sent_ns`.
  virtual void on_delivered(std::size_t link, int receiver, std::uint64_t sent_ns) = 0;
  /// Side `sender` got the server's (durable) ack of a message stamped `sent_ns`.
  virtual void on_acked(std::size_t link, int sender, std::uint64_t sent_ns) = 0;

 protected:
  ~link_listener() = default;
};

/// Two clients sending to each other through the server (pair relay sides a/b; Relais
/// beneficiary/worker of one conversation).
class bench_link : public client_unit {
 public:
  /// Sends one measured message from `side` (0 or 1), stamped `stamp_ns`.
  virtual void send(int side, std::uint64_t stamp_ns) = 0;
  /// Whether the server acks each message (Relais: conversation.ack after the durable commit).
  [[nodiscard]] virtual bool acked_protocol() const noexcept = 0;
  /// Frames queued on `side`'s connection, not yet written.
  [[nodiscard]] virtual std::size_t queued(int side) const noexcept = 0;
  /// Where events go; set before the measured part.
  void set_listener(link_listener* l) noexcept { listener_ = l; }

 protected:
  link_listener* listener_ = nullptr;
};

/// Runs every setup phase over `units` with the concurrency, rate and timeout of `o`; adds the
/// seconds each phase took to `out["setup_s"]`.
void run_setup(io_pool& pool, const std::vector<client_unit*>& units, const options& o, nlohmann::json& out);

/// The three modes; each fills `out` with its figures. `links` are set up already (the idle
/// mode sets its units up itself, to measure the server's memory before and after).
void run_throughput(io_pool& pool, const std::vector<bench_link*>& links, const options& o, nlohmann::json& out);
void run_latency(io_pool& pool, const std::vector<bench_link*>& links, const options& o, nlohmann::json& out);
void run_idle(io_pool& pool, const std::vector<client_unit*>& units, const options& o, nlohmann::json& out);

}  // namespace relais::bench
