#include "engine.hpp"

#include <gtest/gtest.h>

#include <future>

#include "store_test_support.hpp"

namespace relais::store::detail {
namespace {

using core::store_errc;
using testing::options_in;
using testing::temp_dir;

class Engine : public ::testing::Test {
 protected:
  void SetUp() override {
    open_error error;
    engine_ = engine::start(options_in(dir_), error);
    ASSERT_TRUE(engine_) << error.message;
  }
  std::future<std::error_code> submit(std::function<std::error_code(connection&)> apply) {
    auto p = std::make_shared<std::promise<std::error_code>>();
    auto f = p->get_future();
    engine_->submit_write({std::move(apply), [p](std::error_code ec) { p->set_value(ec); }});
    return f;
  }
  std::int64_t count_backups() {
    auto p = std::make_shared<std::promise<std::int64_t>>();
    auto f = p->get_future();
    auto n = std::make_shared<std::int64_t>(0);
    engine_->submit_read({[n](connection& c) {
                            std::error_code ec;
                            *n = std::stoll(c.query_text("SELECT count(*) FROM backups", ec));
                            return ec;
                          },
                          [p, n](std::error_code) { p->set_value(*n); }});
    return f.get();
  }
  static std::error_code insert(connection& c, const std::string& id) {
    std::error_code ec;
    auto q = c.prepare("INSERT INTO backups(lookup_id, blob, updated_at) VALUES(?1, x'00', 0)", ec);
    if (ec) return ec;
    q.bind_blob(1, id);
    return q.run();
  }

  temp_dir dir_;
  std::unique_ptr<engine> engine_;
};

// Held open by a blocking completion so that the next three operations share one batch.
std::promise<void> hold_writer(engine& e) {
  std::promise<void> release;
  auto released = std::make_shared<std::shared_future<void>>(release.get_future().share());
  std::promise<void> holding;
  auto held = holding.get_future();
  e.submit_write({[](connection&) { return std::error_code{}; },
                  [released, h = std::make_shared<std::promise<void>>(std::move(holding))](
                      std::error_code) {
                    h->set_value();
                    released->wait();
                  }});
  held.wait();
  return release;
}

TEST_F(Engine, ALogicalFailureIsUndoneAloneInsideTheBatch) {
  auto release = hold_writer(*engine_);
  auto a = submit([](connection& c) { return insert(c, "a"); });
  auto bad = submit([](connection& c) -> std::error_code {
    if (auto ec = insert(c, "half-done")) return ec;
    return store_errc::conflict;  // after a write: the savepoint must undo it
  });
  auto b = submit([](connection& c) { return insert(c, "b"); });
  release.set_value();
  EXPECT_FALSE(a.get());
  EXPECT_EQ(bad.get(), store_errc::conflict);
  EXPECT_FALSE(b.get());
  EXPECT_EQ(count_backups(), 2);
  EXPECT_EQ(engine_->stats().failed_commits, 0u);
}

TEST_F(Engine, AStorageFailureFailsTheWholeBatchAndReopensTheWriter) {
  auto release = hold_writer(*engine_);
  auto a = submit([](connection& c) { return insert(c, "a"); });
  auto broken = submit([](connection&) -> std::error_code { return store_errc::io_error; });
  auto b = submit([](connection& c) { return insert(c, "b"); });
  release.set_value();
  EXPECT_EQ(a.get(), store_errc::io_error);  // never reported committed
  EXPECT_EQ(broken.get(), store_errc::io_error);
  EXPECT_EQ(b.get(), store_errc::io_error);
  EXPECT_EQ(count_backups(), 0);
  EXPECT_FALSE(submit([](connection& c) { return insert(c, "c"); }).get());
  EXPECT_EQ(count_backups(), 1);
  auto st = engine_->stats();
  EXPECT_EQ(st.failed_commits, 1u);
  EXPECT_EQ(st.writer_reopens, 1u);
}

TEST_F(Engine, AThrowingHandlerDoesNotStopTheWriter) {
  engine_->submit_write({[](connection& c) { return insert(c, "x"); },
                         [](std::error_code) { throw std::runtime_error("caller bug"); }});
  EXPECT_FALSE(submit([](connection& c) { return insert(c, "y"); }).get());
  EXPECT_EQ(count_backups(), 2);
}

}  // namespace
}  // namespace relais::store::detail
