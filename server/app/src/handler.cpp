#include "relais/app/handler.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>

#include "relais/protocol/error.hpp"

namespace relais::app {

// ---------------------------------------------------------------- directory

sharded_directory::shard& sharded_directory::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shard_count];
}

void sharded_directory::add(const std::string& key, const std::shared_ptr<core::session>& s) {
  auto& sh = shard_of(key);
  std::unique_lock lock(sh.mutex);
  sh.sessions[key].push_back(s);
  ++size_;
}

void sharded_directory::remove(const std::string& key, const core::session* s) {
  auto& sh = shard_of(key);
  std::unique_lock lock(sh.mutex);
  auto it = sh.sessions.find(key);
  if (it == sh.sessions.end()) return;
  auto& v = it->second;
  auto before = v.size();
  // The session being removed is mid-destruction or closing: its weak_ptr may already be
  // expired, so expired entries go too.
  std::erase_if(v, [s](const std::weak_ptr<core::session>& w) {
    auto p = w.lock();
    return !p || p.get() == s;
  });
  size_ -= before - v.size();
  if (v.empty()) sh.sessions.erase(it);
}

void sharded_directory::for_each(const std::string& key,
                                 const std::function<void(const std::shared_ptr<core::session>&)>& fn) {
  auto& sh = shard_of(key);
  std::vector<std::shared_ptr<core::session>> found;
  {
    std::shared_lock lock(sh.mutex);
    auto it = sh.sessions.find(key);
    if (it == sh.sessions.end()) return;
    found.reserve(it->second.size());
    for (const auto& w : it->second) {
      if (auto p = w.lock()) found.push_back(std::move(p));
    }
  }
  // Called outside the lock: fn may post, and posting must never wait on a shard.
  for (const auto& p : found) fn(p);
}

std::size_t sharded_directory::size() const { return size_.load(); }

// ---------------------------------------------------------------- per-address limits

memory_address_guard::memory_address_guard(address_rates rates, std::size_t max_addresses)
    : rates_(rates), max_per_shard_(std::max<std::size_t>(1, max_addresses / shard_count)) {}

memory_address_guard::buckets memory_address_guard::fresh() const {
  auto bucket = [](double per_minute) { return core::rate_limiter(per_minute / 60.0, per_minute); };
  return buckets{{bucket(rates_.logins_per_minute), bucket(rates_.queue_joins_per_minute),
                  bucket(rates_.backup_gets_per_minute), bucket(rates_.authentications_per_minute)}};
}

std::optional<core::duration> memory_address_guard::try_take(std::string_view address, core::address_action action) {
  auto& sh = shards_[std::hash<std::string_view>{}(address) % shard_count];
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(sh.mutex);
  auto it = sh.addresses.find(std::string(address));
  if (it == sh.addresses.end()) {
    if (sh.addresses.size() >= max_per_shard_) {
      // Forget the addresses that are idle (every bucket full again) first; if none is, the
      // oldest half: the table never grows past its bound, even under a flood of addresses.
      for (auto e = sh.addresses.begin(); e != sh.addresses.end();) {
        auto& limiters = e->second.limiters;
        bool idle = std::all_of(limiters.begin(), limiters.end(), [now](core::rate_limiter& l) {
          return l.available(now) >= l.burst();
        });
        e = idle ? sh.addresses.erase(e) : std::next(e);
      }
      while (sh.addresses.size() >= max_per_shard_) sh.addresses.erase(sh.addresses.begin());
    }
    it = sh.addresses.emplace(std::string(address), fresh()).first;
  }
  auto& limiter = it->second.limiters[static_cast<std::size_t>(action)];
  if (limiter.try_take(now)) return std::nullopt;
  // One token comes back every 60/rate seconds.
  double per_minute = action == core::address_action::login        ? rates_.logins_per_minute
                      : action == core::address_action::queue_join ? rates_.queue_joins_per_minute
                      : action == core::address_action::backup_get ? rates_.backup_gets_per_minute
                                                                   : rates_.authentications_per_minute;
  return std::chrono::duration_cast<core::duration>(std::chrono::duration<double>(60.0 / per_minute));
}

// ---------------------------------------------------------------- clock

core::time_point system_clock::now() const { return std::chrono::steady_clock::now(); }
std::int64_t system_clock::unix_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::int64_t system_clock::unix_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------- per-connection glue

namespace {

/// core's view of one WebSocket: every call goes to net's thread-safe peer, if still there.
class ws_port final : public core::session_port {
 public:
  explicit ws_port(std::weak_ptr<net::ws_peer> peer) : peer_(std::move(peer)) {}
  void send(std::shared_ptr<const std::string> frame) override {
    if (auto p = peer_.lock()) p->send(std::move(frame));
  }
  void close(std::uint16_t code, std::string reason) override {
    if (auto p = peer_.lock()) p->close(code, std::move(reason));
  }
  void post(std::function<void()> fn) override {
    if (auto p = peer_.lock()) p->post(std::move(fn));
  }
  void set_timer(core::duration after) override {
    if (auto p = peer_.lock()) p->set_timer(std::chrono::duration_cast<std::chrono::milliseconds>(after));
  }
  void when_drained(std::function<void()> fn) override {
    if (auto p = peer_.lock()) p->when_drained(std::move(fn));
  }

 private:
  std::weak_ptr<net::ws_peer> peer_;
};

/// Carries frames and timer events from net to the connection's core::session.
class protocol_handler final : public net::ws_handler {
 public:
  protocol_handler(core::relay_services& services, std::weak_ptr<net::ws_peer> peer, std::string remote)
      : session_(std::make_shared<core::session>(services, std::make_shared<ws_port>(std::move(peer)),
                                                 std::move(remote))) {
    session_->open();
  }
  ~protocol_handler() override { session_->on_closed(); }
  void on_text(std::string_view frame) override { session_->on_frame(frame); }
  void on_timer() override { session_->on_timer(); }
  void on_closed() override { session_->on_closed(); }

 private:
  std::shared_ptr<core::session> session_;  // strand-only, like the handler itself
};

}  // namespace

relay_runtime::relay_runtime(core::store& store, core::credentials& credentials, core::relay_settings settings,
                             address_rates rates)
    : addresses_(rates),
      permanence_(store, directory_, clock_, settings.permanence),
      services_{store, credentials, directory_, addresses_, clock_, random_, std::move(settings), permanence_} {}

relay_runtime::~relay_runtime() { stop_background(); }

void relay_runtime::stop_background() {
  {
    std::lock_guard lock(watch_mutex_);
    watch_stop_ = true;
  }
  watch_wake_.notify_all();
  if (watch_.joinable()) watch_.join();
}

std::error_code relay_runtime::start_background(std::chrono::milliseconds revocation_interval) {
  std::promise<std::error_code> loaded;
  auto load = loaded.get_future();
  permanence_.start([&loaded](std::error_code ec) { loaded.set_value(ec); });
  if (auto ec = load.get()) return ec;
  watch_ = std::thread([this, revocation_interval] {
    constexpr std::chrono::milliseconds tick(250);
    auto since = clock_.unix_ms();
    auto next_poll = std::chrono::steady_clock::now();
    std::unique_lock lock(watch_mutex_);
    while (!watch_wake_.wait_for(lock, tick, [this] { return watch_stop_; })) {
      lock.unlock();
      permanence_.tick();
      if (std::chrono::steady_clock::now() < next_poll) {
        lock.lock();
        continue;
      }
      next_poll = std::chrono::steady_clock::now() + revocation_interval;
      std::promise<std::vector<core::revocation>> got;
      auto future = got.get_future();
      // From a little before the last one seen: another process may commit a revocation
      // stamped a moment earlier than one already read. Seeing one twice is harmless.
      services_.store.list_revoked_since(since - 2000, [&got](std::error_code ec, std::vector<core::revocation> rows) {
        got.set_value(ec ? std::vector<core::revocation>{} : std::move(rows));
      });
      for (const auto& r : future.get()) {
        since = std::max(since, r.at);
        directory_.for_each("w:" + std::to_string(r.worker), [&r](const std::shared_ptr<core::session>& s) {
          s->revoke(r.token_hash, static_cast<std::uint16_t>(protocol::close_code::session_revoked), "session revoked");
        });
      }
      lock.lock();
    }
  });
  return {};
}

net::ws_handler_factory relay_runtime::handler_factory() {
  return [this](std::weak_ptr<net::ws_peer> peer, const net::connection_info& info) {
    return std::make_unique<protocol_handler>(services_, std::move(peer), info.remote_address);
  };
}

}  // namespace relais::app
