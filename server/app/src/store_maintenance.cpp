#include "relais/app/store_maintenance.hpp"

#include <condition_variable>
#include <mutex>
#include <utility>

#include "relais/log/log.hpp"

namespace relais::app {

struct store_maintenance::shared {
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;   // guarded by mutex
  bool triggered = false;  // guarded by mutex
  bool in_flight = false;  // guarded by mutex
};

namespace {

core::unix_ms system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

core::purge_request store_maintenance::cutoffs(core::unix_ms now, std::chrono::hours retention) {
  const auto kept =
      std::chrono::duration_cast<std::chrono::milliseconds>(retention).count();
  core::purge_request r;
  r.conversations_ended_before = now - kept;
  // Finished queue entries hold the encrypted pre-chat answers and answered inbox entries
  // the message left: they follow the conversations' retention.
  r.queue_entries_before = now - kept;
  r.inbox_answered_before = now - kept;
  // An expired session is of no use to anyone.
  r.sessions_expired_before = now;
  r.revocations_before =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::hours(limits::revocation_log_hours))
                .count();
  return r;
}

store_maintenance::store_maintenance(core::retention_store& store, store_maintenance_options options)
    : store_(store), options_(std::move(options)), state_(std::make_shared<shared>()) {
  if (!options_.now) options_.now = system_now_ms;
  thread_ = std::thread([this] { run(); });
}

store_maintenance::~store_maintenance() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

void store_maintenance::trigger() {
  {
    std::lock_guard lock(state_->mutex);
    state_->triggered = true;
  }
  state_->cv.notify_all();
}

void store_maintenance::run() {
  std::unique_lock lock(state_->mutex);
  while (!state_->stopping) {
    state_->in_flight = true;
    state_->triggered = false;
    lock.unlock();
    const auto request = cutoffs(options_.now(), options_.retention);
    // The handler holds the shared state, not `this`: destruction need not wait for it.
    store_.purge_expired(request, [state = state_, on_purged = options_.on_purged](
                                      std::error_code ec, core::purge_result r) {
      if (ec) {
        log::error("store.purge_failed", {{"error", ec.message()}});
      } else {
        log::info("store.purge", {{"conversations", r.conversations},
                                  {"messages", r.messages},
                                  {"queue_entries", r.queue_entries},
                                  {"inbox_entries", r.inbox_entries},
                                  {"sessions", r.sessions},
                                  {"revocations", r.revocations}});
      }
      if (on_purged) on_purged(ec, r);
      {
        std::lock_guard done_lock(state->mutex);
        state->in_flight = false;
      }
      state->cv.notify_all();
    });
    lock.lock();
    // One purge at a time: a slow one (a large backlog after an outage) is not stacked.
    state_->cv.wait(lock, [this] { return state_->stopping || !state_->in_flight; });
    if (state_->stopping) break;
    state_->cv.wait_for(lock, options_.interval,
                        [this] { return state_->stopping || state_->triggered; });
  }
}

}  // namespace relais::app
