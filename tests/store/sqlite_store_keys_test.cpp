// key_store: bundles, one-time prekeys handed out at most once, backups.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "store_test_support.hpp"

namespace relais::store {
namespace {

using core::store_errc;
using testing::open_store;
using testing::options_in;
using testing::temp_dir;
using testing::wait_done;
using testing::wait_for;

class Keys : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::unique_ptr<sqlite_store> s_ = open_store(options_in(dir_));

  std::error_code publish(const std::string& key, const std::string& bundle, core::unix_ms at = 1) {
    return wait_done([&](auto h) { s_->publish_bundle({key, bundle, at}, std::move(h)); });
  }
  testing::outcome<std::int64_t> add(const std::string& key, std::int64_t first, std::int64_t n) {
    std::vector<core::one_time_prekey> keys;
    for (std::int64_t i = first; i < first + n; ++i) keys.push_back({i, "opk-" + std::to_string(i)});
    return wait_for<std::int64_t>(
        [&](auto h) { s_->add_one_time_prekeys(key, std::move(keys), std::move(h)); });
  }
  testing::outcome<core::claimed_bundle> claim(const std::string& key) {
    return wait_for<core::claimed_bundle>([&](auto h) { s_->claim_bundle(key, std::move(h)); });
  }
};

TEST_F(Keys, ClaimsBundleWithOneTimePrekeysInOrderThenNone) {
  ASSERT_FALSE(publish("id", "bundle-v1"));
  auto added = add("id", 1, 2);
  ASSERT_FALSE(added.ec);
  EXPECT_EQ(added.value, 2);
  auto c1 = claim("id");
  ASSERT_FALSE(c1.ec);
  EXPECT_EQ(c1.value.bundle.bundle, "bundle-v1");
  ASSERT_TRUE(c1.value.one_time);
  EXPECT_EQ(c1.value.one_time->key_id, 1);
  EXPECT_EQ(c1.value.one_time->public_key, "opk-1");
  EXPECT_EQ(c1.value.remaining, 1);
  EXPECT_EQ(claim("id").value.one_time->key_id, 2);
  auto none = claim("id");
  ASSERT_FALSE(none.ec);
  EXPECT_FALSE(none.value.one_time);  // "none left" is an answer, not an error
  EXPECT_EQ(none.value.remaining, 0);
}

TEST_F(Keys, RepublishingKeepsOneTimePrekeys) {
  ASSERT_FALSE(publish("id", "v1"));
  ASSERT_FALSE(add("id", 1, 3).ec);
  ASSERT_FALSE(publish("id", "v2", 2));
  auto c = claim("id");
  EXPECT_EQ(c.value.bundle.bundle, "v2");
  EXPECT_EQ(c.value.bundle.updated_at, 2);
  EXPECT_EQ(c.value.remaining, 2);
}

TEST_F(Keys, UnknownIdentityIsNotFound) {
  EXPECT_EQ(claim("nobody").ec, store_errc::not_found);
  EXPECT_EQ(add("nobody", 1, 1).ec, store_errc::not_found);
}

TEST_F(Keys, RepeatedKeyIdIsRefusedAndNothingOfTheUploadKept) {
  ASSERT_FALSE(publish("id", "b"));
  ASSERT_FALSE(add("id", 1, 2).ec);
  EXPECT_EQ(add("id", 2, 3).ec, store_errc::already_exists);
  auto n = wait_for<std::int64_t>([&](auto h) { s_->count_one_time_prekeys("id", std::move(h)); });
  EXPECT_EQ(n.value, 2);
}

TEST_F(Keys, RefusesEmptyAndOversizeInput) {
  EXPECT_EQ(publish("", "b"), store_errc::invalid_argument);
  EXPECT_EQ(publish("id", ""), store_errc::invalid_argument);
  EXPECT_EQ(publish("id", std::string(core::limits::max_stored_blob_bytes + 1, 'b')),
            store_errc::too_large);
  ASSERT_FALSE(publish("id", "b"));
  EXPECT_EQ(add("id", 0, static_cast<std::int64_t>(core::limits::max_one_time_prekeys_per_upload) + 1).ec,
            store_errc::invalid_argument);
}

// The store constraint behind "1,000 concurrent bundle fetches get 1,000 distinct one-time
// prekeys or an explicit none left" (issue 6).
TEST_F(Keys, ConcurrentClaimsNeverShareAOneTimePrekey) {
  ASSERT_FALSE(publish("id", "b"));
  ASSERT_FALSE(add("id", 1, 1000).ec);
  constexpr int threads = 20;
  constexpr int per_thread = 55;  // 1,100 claims for 1,000 keys
  std::mutex m;
  std::multiset<std::int64_t> handed_out;
  int none_left = 0;
  int errors = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        auto c = claim("id");
        std::lock_guard lock(m);
        if (c.ec) {
          ++errors;
        } else if (c.value.one_time) {
          handed_out.insert(c.value.one_time->key_id);
        } else {
          ++none_left;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(handed_out.size(), 1000u);
  EXPECT_EQ(std::set<std::int64_t>(handed_out.begin(), handed_out.end()).size(), 1000u);
  EXPECT_EQ(none_left, 100);
}

TEST_F(Keys, StoresReplacesAndDeletesBackups) {
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "blob1", 1, 10}, std::move(h)); }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "blob2", 2, 20}, std::move(h)); }));
  auto b = wait_for<core::backup_blob>([&](auto h) { s_->get_backup("look", std::move(h)); });
  ASSERT_FALSE(b.ec);
  EXPECT_EQ(b.value.lookup_id, "look");
  EXPECT_EQ(b.value.blob, "blob2");
  EXPECT_EQ(b.value.version, 2);
  EXPECT_EQ(b.value.updated_at, 20);
  ASSERT_FALSE(wait_done([&](auto h) { s_->delete_backup("look", std::move(h)); }));
  EXPECT_EQ(wait_for<core::backup_blob>([&](auto h) { s_->get_backup("look", std::move(h)); }).ec,
            store_errc::not_found);
  EXPECT_EQ(wait_done([&](auto h) { s_->delete_backup("look", std::move(h)); }),
            store_errc::not_found);
}

TEST_F(Keys, BackupVersionOneOnlyCreates) {
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "first", 1, 10}, std::move(h)); }));
  // A second device creating the same backup from scratch loses.
  EXPECT_EQ(wait_done([&](auto h) { s_->put_backup({"look", "other", 1, 11}, std::move(h)); }),
            store_errc::conflict);
  auto b = wait_for<core::backup_blob>([&](auto h) { s_->get_backup("look", std::move(h)); });
  EXPECT_EQ(b.value.blob, "first");
  EXPECT_EQ(b.value.version, 1);
}

TEST_F(Keys, BackupVersionMustFollowTheStoredOne) {
  // No backup yet: only version 1 may be put.
  EXPECT_EQ(wait_done([&](auto h) { s_->put_backup({"look", "b", 2, 10}, std::move(h)); }),
            store_errc::conflict);
  EXPECT_EQ(wait_done([&](auto h) { s_->put_backup({"look", "b", 0, 10}, std::move(h)); }),
            store_errc::conflict);
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v1", 1, 10}, std::move(h)); }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v2", 2, 20}, std::move(h)); }));
  // Skipping a version, going back, or writing from a stale version: conflict, nothing stored.
  for (std::int64_t v : {4, 2, 1, -1}) {
    EXPECT_EQ(wait_done([&](auto h) { s_->put_backup({"look", "stale", v, 30}, std::move(h)); }),
              store_errc::conflict)
        << "version " << v;
  }
  auto b = wait_for<core::backup_blob>([&](auto h) { s_->get_backup("look", std::move(h)); });
  EXPECT_EQ(b.value.blob, "v2");
  EXPECT_EQ(b.value.version, 2);
  EXPECT_EQ(b.value.updated_at, 20);
}

TEST_F(Keys, ARetriedBackupPutOfTheStoredVersionSucceeds) {
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v1", 1, 10}, std::move(h)); }));
  // Its ack was lost: the client sends the same request again.
  EXPECT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v1", 1, 11}, std::move(h)); }));
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v2", 2, 20}, std::move(h)); }));
  EXPECT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v2", 2, 21}, std::move(h)); }));
  // Same version, other bytes: another writer, a real conflict.
  EXPECT_EQ(wait_done([&](auto h) { s_->put_backup({"look", "v2-other", 2, 22}, std::move(h)); }),
            store_errc::conflict);
}

TEST_F(Keys, ConcurrentBackupPutsFromOneVersionHaveOneWinner) {
  ASSERT_FALSE(wait_done([&](auto h) { s_->put_backup({"look", "v1", 1, 10}, std::move(h)); }));
  std::vector<std::future<std::error_code>> results;
  for (int i = 0; i < 8; ++i) {
    auto p = std::make_shared<std::promise<std::error_code>>();
    results.push_back(p->get_future());
    s_->put_backup({"look", "device-" + std::to_string(i), 2, 20},
                   [p](std::error_code ec) { p->set_value(ec); });
  }
  int ok = 0;
  int conflicts = 0;
  for (auto& f : results) {
    const auto ec = f.get();
    if (!ec) ++ok;
    if (ec == store_errc::conflict) ++conflicts;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflicts, 7);
}

TEST_F(Keys, RefusesEmptyLookupIdAndOversizeBackup) {
  EXPECT_EQ(wait_done([&](auto h) { s_->put_backup({"", "b", 1, 0}, std::move(h)); }),
            store_errc::invalid_argument);
  EXPECT_EQ(wait_done([&](auto h) {
              s_->put_backup({"id", std::string(core::limits::max_stored_blob_bytes + 1, 'x'), 1, 0},
                             std::move(h));
            }),
            store_errc::too_large);
}

}  // namespace
}  // namespace relais::store
