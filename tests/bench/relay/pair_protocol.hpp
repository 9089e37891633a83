#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "modes.hpp"

// The trivial "pair relay" protocol of ../shared/peers: a client sends `join:<pair>:<a|b>`,
// then every frame it sends goes to the other side of its pair. No reply, no ack.

namespace relais::bench {

/// The join frame of side 0 (a) or 1 (b) of pair `pair`.
[[nodiscard]] std::string pair_join_frame(std::size_t pair, int side);

/// A measured payload of `size` bytes (at least 21): the stamp as 20 decimal digits, '|', filler.
[[nodiscard]] std::string pair_payload(std::uint64_t stamp_ns, std::size_t size);

/// The stamp of a payload made by pair_payload, or nullopt if it does not start with one.
[[nodiscard]] std::optional<std::uint64_t> pair_payload_stamp(std::string_view frame) noexcept;

/// Both sides of one pair, on one io thread. Setup: one phase, "connect" (open both and join).
class pair_link final : public bench_link {
 public:
  pair_link(io_pool& pool, unsigned io_index, const endpoint& ep, std::size_t index, std::size_t payload_size);

  [[nodiscard]] unsigned io_index() const noexcept override { return io_index_; }
  [[nodiscard]] std::vector<std::string> phases() const override { return {"connect"}; }
  [[nodiscard]] int phase_concurrency(std::size_t) const override { return 0; }
  [[nodiscard]] double phase_connections(std::size_t) const override { return 2; }
  void run_phase(std::size_t p, std::function<void()> done) override;
  void send(int side, std::uint64_t stamp_ns) override;
  [[nodiscard]] bool acked_protocol() const noexcept override { return false; }
  [[nodiscard]] std::size_t queued(int side) const noexcept override;

 private:
  /// One side's connection events.
  class side_handler final : public transport_handler {
   public:
    side_handler(pair_link& owner, int side) : owner_(owner), side_(side) {}
    void on_open() override;
    void on_frame(std::string_view frame) override;
    void on_closed(const std::string& why) override;

   private:
    pair_link& owner_;
    int side_;
  };

  void side_open(int side);

  io_pool& pool_;
  unsigned io_index_;
  endpoint ep_;
  std::size_t index_;
  std::size_t payload_size_;
  std::array<std::unique_ptr<side_handler>, 2> handlers_;
  std::array<std::shared_ptr<transport>, 2> conns_;
  int opened_ = 0;
  std::function<void()> connected_;
};

}  // namespace relais::bench
