#include "delivery_ledger.hpp"

namespace relais::bench {

seq_tracker::result seq_tracker::add(std::int64_t seq, std::string_view id) {
  auto [it, inserted] = ids_.try_emplace(seq, id);
  if (!inserted) return it->second == id ? result::repeat : result::conflict;
  while (ids_.count(prefix_ + 1) != 0) ++prefix_;
  return result::added;
}

void delivery_ledger::sent(const std::string& id) { entries_.try_emplace(id); }

bool delivery_ledger::acked(const std::string& id, std::int64_t seq) {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    ++unknown_;
    return false;
  }
  auto& e = it->second;
  if (e.acked_seq == seq) return true;  // acked again after a resend: the original seq
  if (e.acked_seq != 0 || (e.received_seq != 0 && e.received_seq != seq)) {
    ++duplicates_;
    return false;
  }
  e.acked_seq = seq;
  ++acked_;
  return true;
}

delivery_ledger::arrival delivery_ledger::received(const std::string& id, std::int64_t seq) {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    ++unknown_;
    return arrival::unknown;
  }
  auto& e = it->second;
  if (e.received_seq == seq) {
    ++repeats_;
    return arrival::repeat;
  }
  if (e.received_seq != 0 || (e.acked_seq != 0 && e.acked_seq != seq)) {
    ++duplicates_;
    return arrival::duplicate;
  }
  e.received_seq = seq;
  ++received_;
  return arrival::fresh;
}

void delivery_ledger::resent(const std::string& id) {
  if (auto it = entries_.find(id); it != entries_.end()) it->second.resent = true;
}

bool delivery_ledger::was_resent(const std::string& id) const {
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.resent;
}

bool delivery_ledger::is_acked(const std::string& id) const {
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.acked_seq != 0;
}

std::size_t delivery_ledger::lost() const noexcept {
  std::size_t n = 0;
  for (const auto& [id, e] : entries_) n += e.acked_seq != 0 && e.received_seq == 0 ? 1U : 0U;
  return n;
}

}  // namespace relais::bench
