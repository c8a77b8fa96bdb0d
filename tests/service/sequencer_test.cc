#include "service/cluster/sequencer.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace herald::service::cluster {
namespace {

TEST(SequencerTest, TasksThatReleaseAtOnceRunInCallOrder) {
  Sequencer seq;
  std::vector<int> order;
  // Many, to show the loop does not nest (no stack growth per task).
  for (int i = 0; i < 100000; ++i) {
    seq.Run([&order, i](Sequencer::Release release) {
      order.push_back(i);
      std::move(release)();
    });
  }
  ASSERT_EQ(order.size(), 100000u);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(order[i], i);
  EXPECT_EQ(seq.queued(), 0u);
}

TEST(SequencerTest, AHeldTaskHoldsLaterOnesUntilItReleases) {
  Sequencer seq;
  std::vector<int> order;
  Sequencer::Release held;
  seq.Run([&](Sequencer::Release release) {
    order.push_back(1);
    held = std::move(release);  // phase 2 not sent yet
  });
  seq.Run([&](Sequencer::Release release) {
    order.push_back(2);
    std::move(release)();
  });
  seq.Run([&](Sequencer::Release release) {
    order.push_back(3);
    std::move(release)();
  });
  EXPECT_EQ(order, std::vector<int>({1}));
  EXPECT_EQ(seq.queued(), 2u);
  std::move(held)();  // runs the waiting tasks on this thread, in order
  EXPECT_EQ(order, std::vector<int>({1, 2, 3}));
  EXPECT_EQ(seq.queued(), 0u);
}

TEST(SequencerTest, ReleaseFromAnotherThreadStartsTheNextTask) {
  constexpr int kTasks = 200;
  Sequencer seq;
  std::mutex mu;
  std::vector<std::thread> threads;  // guarded by mu
  int finished = 0;                  // task bodies returned; guarded by mu
  std::atomic<int> last{-1};
  std::atomic<bool> out_of_order{false};
  for (int i = 0; i < kTasks; ++i) {
    seq.Run([&, i](Sequencer::Release release) {
      if (last.exchange(i) != i - 1) out_of_order = true;
      std::lock_guard<std::mutex> lock(mu);
      // Every other task releases later, from another thread, possibly
      // before this body returns.
      if (i % 2 == 0) {
        threads.emplace_back(
            [release = std::move(release)]() mutable { std::move(release)(); });
      } else {
        // Never runs the next task inside this body (that is the loop).
        std::move(release)();
      }
      ++finished;
    });
  }
  for (;;) {
    std::lock_guard<std::mutex> lock(mu);
    if (finished == kTasks) break;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(last.load(), kTasks - 1);
  EXPECT_FALSE(out_of_order.load());
  EXPECT_EQ(seq.queued(), 0u);
}

}  // namespace
}  // namespace herald::service::cluster
