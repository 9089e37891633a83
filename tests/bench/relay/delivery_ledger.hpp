#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

// The bookkeeping that lets the evening mode say "nothing lost, nothing duplicated": what each
// side of a conversation sent, what the server acknowledged with which seq, what the other side
// received with which seq, and which seqs a client holds (its sync cursor). No I/O.

namespace relais::bench {

/// The sequence numbers one client holds for one conversation (its own acknowledged messages
/// and those it received), each with the client_msg_id it belongs to. PROTOCOL.md §7: both
/// sides' messages share one gapless sequence, so the highest seq below which nothing is
/// missing is the cursor a client may give to `sync` and the cumulative delivery receipt.
class seq_tracker {
 public:
  enum class result : std::uint8_t {
    added,     ///< a new seq
    repeat,    ///< this seq was held already, for the same message
    conflict,  ///< this seq was held already, for another message: the server numbered two messages alike
  };
  /// Records that `seq` (>= 1) is the seq of message `id`.
  result add(std::int64_t seq, std::string_view id);
  /// Highest h such that 1..h are all held (0 when 1 is missing).
  [[nodiscard]] std::int64_t contiguous() const noexcept { return prefix_; }
  /// Seqs held.
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }

 private:
  std::unordered_map<std::int64_t, std::string> ids_;
  std::int64_t prefix_ = 0;
};

/// One direction of one conversation (sender -> receiver): every message the sender wrote, the
/// seq the server acknowledged it with, and the seq the receiver got it with. A message is
/// "lost" when it was acknowledged (the server promised delivery) and never received; a
/// "duplicate" when the server gave one message two seqs (stored it twice) or the receiver got
/// a message nobody sent; a "repeat" is the same (message, seq) received again, which the
/// protocol allows (at-least-once) and the client drops by seq.
class delivery_ledger {
 public:
  enum class arrival : std::uint8_t { fresh, repeat, duplicate, unknown };

  /// The sender wrote `id` (before sending it).
  void sent(const std::string& id);
  /// The sender learned that the server stored `id` as `seq` (a conversation.ack, or its own
  /// message replayed by sync); false when the server had stored it under another seq (a
  /// duplicate, counted) or `id` was never sent (counted as unknown).
  bool acked(const std::string& id, std::int64_t seq);
  /// The receiver got `id` as `seq`.
  arrival received(const std::string& id, std::int64_t seq);
  /// Marks `id` as sent again (after a reconnection): its latency is not the relay's.
  void resent(const std::string& id);
  [[nodiscard]] bool was_resent(const std::string& id) const;
  /// Whether the server acknowledged `id` already.
  [[nodiscard]] bool is_acked(const std::string& id) const;

  [[nodiscard]] std::size_t sent_count() const noexcept { return entries_.size(); }
  /// Sent and not yet acknowledged.
  [[nodiscard]] std::size_t unacked() const noexcept { return entries_.size() - acked_; }
  /// Sent and not yet received by the other side.
  [[nodiscard]] std::size_t undelivered() const noexcept { return entries_.size() - received_; }
  /// Acknowledged and not received: the messages a run that stops now has lost.
  [[nodiscard]] std::size_t lost() const noexcept;
  /// Everything sent was acknowledged and received.
  [[nodiscard]] bool settled() const noexcept { return unacked() == 0 && undelivered() == 0; }
  [[nodiscard]] std::uint64_t duplicates() const noexcept { return duplicates_; }
  [[nodiscard]] std::uint64_t unknown() const noexcept { return unknown_; }
  [[nodiscard]] std::uint64_t repeats() const noexcept { return repeats_; }

 private:
  struct entry {
    std::int64_t acked_seq = 0;
    std::int64_t received_seq = 0;
    bool resent = false;
  };
  std::unordered_map<std::string, entry> entries_;
  std::size_t acked_ = 0;
  std::size_t received_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t unknown_ = 0;
  std::uint64_t repeats_ = 0;
};

}  // namespace relais::bench
