#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "relais/core/clock.hpp"
#include "relais/core/permanence_settings.hpp"
#include "relais/core/relay.hpp"
#include "relais/core/store.hpp"
#include "relais/protocol/messages.hpp"

// The permanence (issue 7): the waiting queue, the workers' on-call shifts, assignment,
// continuity, transfers, the closed-hours inbox and the public status. One per relaisd.
//
// The store is the source of truth for everything that must survive a restart (waiting
// entries, shift modes, conversations, inbox); this object keeps the live view in memory
// (serving order, who is connected, what was last pushed) so that a position update costs
// O(changes), and reloads it from the store at start.
//
// Threading: every public function is thread-safe (one mutex; nothing slow runs under it).
// Sessions call in from their strands, store completions from store threads, tick() from the
// runtime's timer. Answers go back to sessions through their thread-safe deliver_* calls.

namespace relais::core {

class session;

/// The live permanence: queue, shifts, status and their pushes.
class permanence {
 public:
  permanence(core::store& store, session_directory& directory, const core::clock& clock,
             permanence_settings settings);
  permanence(const permanence&) = delete;
  permanence& operator=(const permanence&) = delete;

  /// Loads workers, shift modes, waiting entries and open conversations from the store
  /// (a restart keeps every place). `done` runs on a store thread.
  void start(std::function<void(std::error_code)> done);
  /// Timed work: schedule transitions and their hand-overs, grace periods, long waits, the
  /// closing notice, automatic assignment, and the coalesced pushes (at most one of each kind
  /// a second). The runtime calls it about four times a second.
  void tick();

  // ---- status (any connection)
  /// Replies permanence.status and pushes it to `s` on every change from now on.
  void get_status(const std::shared_ptr<session>& s, const std::optional<std::string>& rid);

  // ---- workers
  /// A worker authenticated: her account (identity key, names) may be new or changed.
  void worker_seen(const worker_account& account);
  /// A worker published her identity key (first key setup, restore): she can be a transfer,
  /// inbox or assignment target at once, not only after her next login.
  void identity_published(worker_id w, const bytes& identity);
  void start_shift(const std::shared_ptr<session>& s, worker_id w, const std::optional<std::string>& rid);
  void stop_shift(const std::shared_ptr<session>& s, worker_id w, std::optional<protocol::handover_policy> handover,
                  const std::optional<std::string>& rid);
  void set_holiday(const std::shared_ptr<session>& s, worker_id w, const protocol::shift_holiday& m);
  void set_presence(const std::shared_ptr<session>& s, worker_id w, const protocol::presence_set& m);
  /// Replies shift.state with the worker's current state (sent after login too).
  void send_shift_state(const std::shared_ptr<session>& s, worker_id w, const std::optional<std::string>& rid);
  [[nodiscard]] bool on_call(worker_id w) const;
  [[nodiscard]] std::string display_name(worker_id w) const;

  // ---- queue
  void join(const std::shared_ptr<session>& s, const bytes& identity, const protocol::queue_join& m);
  void leave(const std::shared_ptr<session>& s, const bytes& identity, const std::optional<std::string>& rid);
  void list(const std::shared_ptr<session>& s, worker_id w, const std::optional<std::string>& rid);
  void take(const std::shared_ptr<session>& s, worker_id w, const bytes& worker_key, const protocol::queue_take& m);
  /// A beneficiary's first connection came back: keeps its place and gets queue.position.
  void beneficiary_connected(const std::shared_ptr<session>& s, const bytes& identity);
  /// A beneficiary's last connection closed: its place is kept for the grace period.
  void beneficiary_disconnected(const bytes& identity);

  // ---- conversations
  /// A conversation ended (by a participant): frees the worker, feeds the handling time.
  void conversation_ended(conversation_id id);
  /// A signed transfer by the current worker `from` (the session checked she is it).
  void transfer(const std::shared_ptr<session>& s, worker_id from, const bytes& from_key,
                const protocol::conversation_transfer& m);

  // ---- inbox
  void inbox_recipients(const std::shared_ptr<session>& s, const std::optional<std::string>& rid);
  void inbox_send(const std::shared_ptr<session>& s, const bytes& identity, const protocol::inbox_send& m);
  void inbox_list(const std::shared_ptr<session>& s, worker_id w, const protocol::inbox_list& m);
  void inbox_answer(const std::shared_ptr<session>& s, worker_id w, const bytes& worker_key,
                    const protocol::inbox_answer& m);
  /// shift.schedule: her scheduled windows, the opening hours and the closed days ahead.
  void schedule_week(const std::shared_ptr<session>& s, worker_id w, const protocol::shift_schedule& m);
  /// inbox.dismiss: a recipient on shift takes an entry out of every unread list (a feedback).
  void inbox_dismiss(const std::shared_ptr<session>& s, worker_id w, const protocol::inbox_dismiss& m);

  // ---- facts for tests and the bench
  [[nodiscard]] std::size_t waiting_count() const;
  /// Frames pushed by the permanence so far (positions, snapshots, status): the queue
  /// storm's cost measure.
  [[nodiscard]] std::uint64_t pushes() const;
  /// The estimate of the average handling time now (recent handled conversations).
  [[nodiscard]] duration average_handling_time() const;

 private:
  struct worker_info {
    worker_id id = 0;
    std::string username;
    std::string display_name;
    bytes identity;
    bool disabled = false;
    shift_mode mode = shift_mode::scheduled;
    unix_ms until = 0;                         // holiday or manual stop end; 0: none
    std::int32_t capacity = 1;
    bool busy = false;                         // presence
    bool on_call = false;                      // as last evaluated by tick()
    std::unordered_set<conversation_id> open;  // conversations she currently holds
    std::int32_t assigning = 0;                // automatic takes in flight
  };
  struct waiting_entry {
    queue_entry_id id = 0;
    bytes identity;
    bool urgent = false;
    unix_ms joined_at = 0;
    unix_ms away_since = 0;                    // 0: connected
    std::vector<worker_id> followers;          // most recent first (continuity)
    std::int64_t sent_position = 0;            // last pushed; 0: never
    std::int64_t sent_wait = -1;
    bool offered_long_wait = false;
    bool offered_closing = false;
    bool taking = false;                       // a take is in flight
  };
  struct open_conversation {
    worker_id worker = 0;
    bytes beneficiary;
    unix_ms started_at = 0;
  };
  using lock = std::unique_lock<std::mutex>;
  /// Work decided under mu_ and done after it is released (store calls, pushes): a store
  /// completion may run inline and take mu_ again.
  using effects = std::vector<std::function<void()>>;
  using rid_t = std::optional<std::string>;

  // Under mu_.
  [[nodiscard]] bool evaluate_on_call(worker_info& w, unix_ms now);
  [[nodiscard]] protocol::shift_state shift_state_of(const worker_info& w, unix_ms now) const;
  [[nodiscard]] protocol::permanence_status status_now(unix_ms now) const;
  [[nodiscard]] std::size_t on_call_count() const;
  [[nodiscard]] std::size_t idle_count() const;
  [[nodiscard]] std::int64_t estimate_s(std::int64_t position) const;
  [[nodiscard]] std::vector<waiting_entry>::iterator find_ticket(queue_entry_id id);
  [[nodiscard]] std::vector<waiting_entry>::iterator find_identity(const bytes& identity);
  [[nodiscard]] std::vector<waiting_entry>::iterator next_for(const worker_info& w, unix_ms now);
  [[nodiscard]] bool is_queue_open() const;
  void insert_waiting(waiting_entry e);
  [[nodiscard]] std::int64_t position_of(queue_entry_id id) const;
  [[nodiscard]] protocol::queue_snapshot snapshot_for(worker_id w) const;
  worker_info* worker_ptr(worker_id w);
  [[nodiscard]] const worker_info* worker_ptr(worker_id w) const;
  /// The shift of `w` ended (schedule, stop, holiday): her conversations are requeued for a
  /// colleague or ended; her connections close (4004) when configured.
  void end_of_shift(effects& fx, worker_id w, protocol::handover_policy policy, bool close_sessions);
  void close_queue(effects& fx, unix_ms now);
  void start_take(effects& fx, const std::shared_ptr<session>& requester, worker_id w, bytes worker_key,
                  queue_entry_id ticket, rid_t rid);
  void push_positions(effects& fx, unix_ms now);
  void push_snapshots(effects& fx, unix_ms now);
  void push_status(effects& fx, unix_ms now);
  void persist_shift(effects& fx, const worker_info& w, unix_ms now);
  void tick_worker_shifts(effects& fx, unix_ms now);
  void tick_waiting(effects& fx, unix_ms now);
  void auto_assign(effects& fx, unix_ms now);
  void refresh_workers();
  static void run(effects& fx);

  // Outside mu_ (they reach sessions).
  void to_worker(worker_id w, const std::shared_ptr<const std::string>& frame);
  void to_beneficiary(const bytes& identity, const std::shared_ptr<const std::string>& frame);
  void reply_error(const std::shared_ptr<session>& s, protocol::error code, const rid_t& rid,
                   std::optional<std::string> text = {});
  void reply_store_error(const std::shared_ptr<session>& s, std::error_code ec, const rid_t& rid,
                         protocol::error not_found, protocol::error conflict);
  template <typename T>
  void reply(const std::shared_ptr<session>& s, const T& message);

  core::store& store_;
  session_directory& directory_;
  const core::clock& clock_;
  const permanence_settings settings_;

  mutable std::mutex mu_;
  std::unordered_map<worker_id, worker_info> workers_;
  std::vector<waiting_entry> queue_;  // serving order: urgent first, then joined_at, then id
  std::unordered_set<bytes> joining_;  // enqueues in flight (a double join races nothing)
  std::deque<queue_entry_id> recently_taken_;  // the last tickets taken, oldest first (bounded)
  std::unordered_map<conversation_id, open_conversation> open_;
  std::vector<std::int64_t> handled_ms_;  // recent handling times, a ring of the last 20
  std::size_t handled_next_ = 0;
  std::vector<std::weak_ptr<session>> status_watchers_;
  std::uint64_t queue_version_ = 0;         // bumps on every queue change
  std::uint64_t snapshot_version_sent_ = 0;
  unix_ms last_position_round_ = 0;
  unix_ms last_snapshot_round_ = 0;
  unix_ms last_status_round_ = 0;
  unix_ms last_worker_refresh_ = 0;
  std::optional<protocol::permanence_status> status_sent_;
  bool positions_dirty_ = false;
  bool started_ = false;
  std::uint64_t pushes_ = 0;
};

}  // namespace relais::core
