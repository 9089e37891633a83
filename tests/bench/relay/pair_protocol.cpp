#include "pair_protocol.hpp"

#include <charconv>
#include <cstdio>

namespace relais::bench {

namespace limits {
/// Characters: the stamp is 20 decimal digits (UINT64_MAX has 20) and a separator.
inline constexpr std::size_t stamp_chars = 20;
}  // namespace limits

std::string pair_join_frame(std::size_t pair, int side) {
  return "join:" + std::to_string(pair) + ":" + (side == 0 ? "a" : "b");
}

std::string pair_payload(std::uint64_t stamp_ns, std::size_t size) {
  std::array<char, limits::stamp_chars + 2> stamp{};
  std::snprintf(stamp.data(), stamp.size(), "%020llu|", static_cast<unsigned long long>(stamp_ns));
  std::string out(stamp.data(), limits::stamp_chars + 1);
  if (size > out.size()) out.append(size - out.size(), 'x');
  return out;
}

std::optional<std::uint64_t> pair_payload_stamp(std::string_view frame) noexcept {
  if (frame.size() <= limits::stamp_chars || frame[limits::stamp_chars] != '|') return std::nullopt;
  std::uint64_t v = 0;
  const auto* end = frame.data() + limits::stamp_chars;
  auto [p, ec] = std::from_chars(frame.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

pair_link::pair_link(io_pool& pool, unsigned io_index, const endpoint& ep, std::size_t index,
                     std::size_t payload_size)
    : pool_(pool), io_index_(io_index), ep_(ep), index_(index), payload_size_(payload_size) {
  for (int s = 0; s < 2; ++s) handlers_[static_cast<std::size_t>(s)] = std::make_unique<side_handler>(*this, s);
}

void pair_link::run_phase(std::size_t, std::function<void()> done) {
  connected_ = std::move(done);
  for (std::size_t s = 0; s < 2; ++s) {
    conns_[s] = make_transport(pool_, io_index_, ep_, *handlers_[s]);
    conns_[s]->start(2 * index_ + s);
  }
}

void pair_link::side_open(int side) {
  // The join goes out first on each connection; no reply comes (the servers just register it).
  conns_[static_cast<std::size_t>(side)]->send(pair_join_frame(index_, side));
  if (++opened_ == 2 && connected_) {
    auto done = std::move(connected_);
    connected_ = nullptr;
    done();
  }
}

void pair_link::send(int side, std::uint64_t stamp_ns) {
  conns_[static_cast<std::size_t>(side)]->send(pair_payload(stamp_ns, payload_size_));
}

std::size_t pair_link::queued(int side) const noexcept { return conns_[static_cast<std::size_t>(side)]->queued(); }

void pair_link::side_handler::on_open() { owner_.side_open(side_); }

void pair_link::side_handler::on_frame(std::string_view frame) {
  auto stamp = pair_payload_stamp(frame);
  if (!stamp) fatal("pair " + std::to_string(owner_.index_) + ": received a frame that is not a bench payload");
  if (owner_.listener_ != nullptr) owner_.listener_->on_delivered(owner_.index_, side_, *stamp);
}

void pair_link::side_handler::on_closed(const std::string& why) {
  fatal("pair " + std::to_string(owner_.index_) + " side " + (side_ == 0 ? "a" : "b") + ": " + why);
}

}  // namespace relais::bench
