// store_maintenance: the periodic purge against a real SQLite store, and the [store] keys of
// the configuration that drive it (load_config's [store] table is parsed for this class).
#include "relais/app/store_maintenance.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "relais/app/config.hpp"
#include "relais/store/sqlite_store.hpp"
#include "relais/test/process.hpp"

namespace relais::app {
namespace {

using namespace std::chrono_literals;

constexpr core::unix_ms day_ms = 24LL * 3600 * 1000;
constexpr core::unix_ms start_ms = 1'800'000'000'000;  // the injected "now"

template <typename T, typename Start>
std::pair<std::error_code, T> wait_for(Start start) {
  std::promise<std::pair<std::error_code, T>> p;
  auto f = p.get_future();
  start([&p](std::error_code ec, T v) { p.set_value({ec, std::move(v)}); });
  return f.get();
}

template <typename Start>
std::error_code wait_done(Start start) {
  std::promise<std::error_code> p;
  auto f = p.get_future();
  start([&p](std::error_code ec) { p.set_value(ec); });
  return f.get();
}

/// Counts purges and lets a test wait for the n-th one (no sleeps).
class purge_counter {
 public:
  std::function<void(std::error_code, const core::purge_result&)> hook() {
    return [this](std::error_code ec, const core::purge_result& r) {
      std::lock_guard lock(mutex_);
      results_.push_back({ec, r});
      cv_.notify_all();
    };
  }
  /// Waits until `n` purges completed; returns the n-th.
  std::pair<std::error_code, core::purge_result> wait(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return results_.size() >= n; });
    return results_[n - 1];
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::error_code, core::purge_result>> results_;
};

class StoreMaintenance : public ::testing::Test {
 protected:
  void SetUp() override {
    store::sqlite_options o;
    o.path = (std::filesystem::path(dir_.path()) / "relais.db").string();
    store::open_error error;
    store_ = store::sqlite_store::open(o, error);
    ASSERT_TRUE(store_) << error.message;
  }

  /// A conversation with one message, ended `ended_days_ago` days before start_ms (< 0:
  /// still active).
  core::conversation_id conversation(const std::string& beneficiary, int ended_days_ago) {
    core::new_conversation c;
    c.beneficiary_key = beneficiary;
    c.created_at = start_ms - 500 * day_ms;
    c.participants.push_back({beneficiary, core::participant_role::beneficiary, 0, c.created_at, 0, 0, 0});
    auto id = wait_for<core::conversation_id>(
        [&](auto h) { store_->create_conversation(std::move(c), std::move(h)); });
    EXPECT_FALSE(id.first);
    auto appended = wait_for<core::append_result>([&](auto h) {
      store_->append_message({id.second, "m1", beneficiary, "ciphertext", start_ms - 500 * day_ms},
                             std::move(h));
    });
    EXPECT_FALSE(appended.first);
    if (ended_days_ago >= 0) {
      EXPECT_FALSE(wait_done([&](auto h) {
        store_->end_conversation(id.second, start_ms - ended_days_ago * day_ms, std::move(h));
      }));
    }
    return id.second;
  }
  bool exists(core::conversation_id id) {
    auto r = wait_for<core::conversation>([&](auto h) { store_->get_conversation(id, std::move(h)); });
    EXPECT_TRUE(!r.first || r.first == core::store_errc::not_found) << r.first.message();
    return !r.first;
  }
  std::size_t messages(core::conversation_id id) {
    auto r = wait_for<std::vector<core::stored_message>>(
        [&](auto h) { store_->read_messages({id, 0, 10}, std::move(h)); });
    return r.second.size();
  }
  store_maintenance_options options(std::chrono::milliseconds interval) {
    store_maintenance_options o;
    o.retention = std::chrono::hours(24 * 365);
    o.interval = interval;
    o.now = [this] { return now_.load(); };
    o.on_purged = purges_.hook();
    return o;
  }

  // Declared before the store: a purge still in flight when a test ends completes while the
  // store closes, and its handlers use these.
  test::temp_dir dir_;
  std::atomic<core::unix_ms> now_{start_ms};
  purge_counter purges_;
  std::unique_ptr<store::sqlite_store> store_;
};

TEST_F(StoreMaintenance, PurgesConversationsEndedLongerAgoThanTheRetentionAtStart) {
  auto old_one = conversation("old", 400);
  auto recent = conversation("recent", 10);
  auto active = conversation("active", -1);
  {
    // A day-long interval: only the purge at start can run during this test.
    store_maintenance m(*store_, options(24h));
    auto [ec, r] = purges_.wait(1);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.conversations, 1);
    EXPECT_EQ(r.messages, 1);
  }
  EXPECT_FALSE(exists(old_one));
  EXPECT_EQ(messages(old_one), 0u);
  EXPECT_TRUE(exists(recent));
  EXPECT_EQ(messages(recent), 1u);
  EXPECT_TRUE(exists(active));
  EXPECT_EQ(messages(active), 1u);
}

TEST_F(StoreMaintenance, TheNextPurgeUsesTheClockOfItsTime) {
  auto recent = conversation("recent", 10);
  store_maintenance m(*store_, options(24h));
  ASSERT_FALSE(purges_.wait(1).first);
  EXPECT_TRUE(exists(recent));
  // 356 days later the conversation ended 366 days ago: past the 365-day retention.
  now_ += 356 * day_ms;
  m.trigger();
  auto [ec, r] = purges_.wait(2);
  ASSERT_FALSE(ec);
  EXPECT_EQ(r.conversations, 1);
  EXPECT_FALSE(exists(recent));
}

TEST_F(StoreMaintenance, PurgesAgainEveryInterval) {
  auto old_one = conversation("old", 400);
  store_maintenance m(*store_, options(1ms));
  purges_.wait(3);  // returns only if the timer fires again and again
  EXPECT_FALSE(exists(old_one));
}

TEST_F(StoreMaintenance, StopsAtOnceDespiteALongInterval) {
  auto m = std::make_unique<store_maintenance>(*store_, options(24h));
  ASSERT_FALSE(purges_.wait(1).first);
  const auto t0 = std::chrono::steady_clock::now();
  m.reset();  // waits on the condition variable, not on the day-long timer
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(StoreMaintenanceCutoffs, FollowTheRetentionAndKeepRevocationsADay) {
  const auto r = store_maintenance::cutoffs(start_ms, std::chrono::hours(24 * 30));
  EXPECT_EQ(r.conversations_ended_before, start_ms - 30 * day_ms);
  EXPECT_EQ(r.queue_entries_before, start_ms - 30 * day_ms);
  EXPECT_EQ(r.inbox_answered_before, start_ms - 30 * day_ms);
  EXPECT_EQ(r.sessions_expired_before, start_ms);
  EXPECT_EQ(r.revocations_before, start_ms - day_ms);
}

/// A retention store that fails as long as told to.
class failing_store final : public core::retention_store {
 public:
  std::atomic<bool> fail{true};
  void purge_expired(core::purge_request, core::store_handler<core::purge_result> done) override {
    done(fail ? make_error_code(core::store_errc::disk_full) : std::error_code{}, {});
  }
  void erase_beneficiary(core::erase_request, core::store_handler<core::purge_result> done) override {
    done(core::store_errc::internal, {});
  }
};

TEST(StoreMaintenanceFailures, AFailedPurgeIsReportedAndTheNextOneRuns) {
  failing_store s;
  purge_counter purges;
  store_maintenance_options o;
  o.interval = 24h;
  o.on_purged = purges.hook();
  store_maintenance m(s, o);
  EXPECT_EQ(purges.wait(1).first, core::store_errc::disk_full);
  s.fail = false;
  m.trigger();
  EXPECT_FALSE(purges.wait(2).first);
}

// ---------------------------------------------------------------- the [store] keys

class StoreConfig : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& toml) {
    auto p = std::filesystem::path(dir_.path()) / "relais.toml";
    std::ofstream(p) << toml;
    return p;
  }
  std::string load_error(const std::string& toml) {
    config c;
    std::string error;
    EXPECT_FALSE(load_config(write(toml), {}, c, error));
    return error;
  }
  test::temp_dir dir_;
};

TEST_F(StoreConfig, Defaults) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config({}, {}, c, error)) << error;
  EXPECT_EQ(c.retention_days, 365u);
  EXPECT_EQ(c.purge_interval_minutes, 60u);
  EXPECT_EQ(c.store_max_queued_writes, store::limits::default_max_queued_writes);
  EXPECT_EQ(c.store_max_queued_reads, store::limits::default_max_queued_reads);
  EXPECT_EQ(c.store_reader_threads, store::limits::default_reader_threads);
  EXPECT_EQ(c.store_busy_timeout_ms, static_cast<unsigned>(store::limits::default_busy_timeout_ms));
  EXPECT_TRUE(c.store_quick_check_on_open);
}

TEST_F(StoreConfig, ReadsEveryKey) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(write("[store]\nretention_days = 30\npurge_interval_minutes = 15\n"
                                "max_queued_writes = 1000\nmax_queued_reads = 2000\nreader_threads = 4\n"
                                "busy_timeout_ms = 0\nquick_check_on_open = false\n"),
                          {}, c, error))
      << error;
  EXPECT_EQ(c.retention_days, 30u);
  EXPECT_EQ(c.purge_interval_minutes, 15u);
  EXPECT_EQ(c.store_max_queued_writes, 1000u);
  EXPECT_EQ(c.store_max_queued_reads, 2000u);
  EXPECT_EQ(c.store_reader_threads, 4u);
  EXPECT_EQ(c.store_busy_timeout_ms, 0u);
  EXPECT_FALSE(c.store_quick_check_on_open);
}

TEST_F(StoreConfig, TheExampleFileHasEveryKeyAtItsDefault) {
  config c;
  std::string error;
  ASSERT_TRUE(load_config(RELAIS_EXAMPLE_CONFIG, {}, c, error)) << error;
  const config defaults;
  EXPECT_EQ(c.retention_days, defaults.retention_days);
  EXPECT_EQ(c.purge_interval_minutes, defaults.purge_interval_minutes);
  EXPECT_EQ(c.store_max_queued_writes, defaults.store_max_queued_writes);
  EXPECT_EQ(c.store_reader_threads, defaults.store_reader_threads);
  const std::string text = [] {
    std::ifstream in(RELAIS_EXAMPLE_CONFIG);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  for (const char* key : {"retention_days", "purge_interval_minutes", "max_queued_writes", "max_queued_reads",
                          "reader_threads", "busy_timeout_ms", "quick_check_on_open"}) {
    EXPECT_NE(text.find(std::string("\n") + key + " = "), std::string::npos) << key;
  }
}

TEST_F(StoreConfig, OutOfRangeValuesNameFileTableAndKey) {
  const struct {
    const char* toml;
    const char* key;
  } cases[] = {
      {"retention_days = 0", "retention_days"},
      {"retention_days = 3651", "retention_days"},
      {"purge_interval_minutes = 0", "purge_interval_minutes"},
      {"purge_interval_minutes = 1441", "purge_interval_minutes"},
      {"max_queued_writes = 0", "max_queued_writes"},
      {"max_queued_reads = 0", "max_queued_reads"},
      {"reader_threads = 0", "reader_threads"},
      {"reader_threads = 65", "reader_threads"},
      {"busy_timeout_ms = -1", "busy_timeout_ms"},
      {"busy_timeout_ms = 600001", "busy_timeout_ms"},
  };
  for (const auto& c : cases) {
    const auto e = load_error(std::string("[store]\n") + c.toml + "\n");
    EXPECT_NE(e.find("relais.toml"), std::string::npos) << e;
    EXPECT_NE(e.find(std::string("[store] ") + c.key + " is "), std::string::npos) << e;
    EXPECT_NE(e.find("must be between"), std::string::npos) << e;
  }
}

TEST_F(StoreConfig, WrongTypesAreRefused) {
  EXPECT_NE(load_error("[store]\nretention_days = \"a year\"\n").find("[store] retention_days must be an integer"),
            std::string::npos);
  EXPECT_NE(load_error("[store]\npurge_interval_minutes = 1.5\n").find("[store] purge_interval_minutes must be an integer"),
            std::string::npos);
  EXPECT_NE(load_error("[store]\nquick_check_on_open = 1\n").find("[store] quick_check_on_open must be true or false"),
            std::string::npos);
}

TEST_F(StoreConfig, AnUnknownKeyIsRefused) {
  const auto e = load_error("[store]\nretention_day = 30\n");
  EXPECT_NE(e.find("unknown key retention_day in [store]"), std::string::npos) << e;
}

}  // namespace
}  // namespace relais::app
