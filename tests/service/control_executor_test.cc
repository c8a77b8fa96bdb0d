#include "service/control_executor.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace herald::service {
namespace {

TEST(ControlExecutorTest, RunsTasksInOrderOnItsOwnThread) {
  ControlExecutor executor;
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 100; ++i) {
    executor.Post([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  }
  executor.Stop();  // runs everything posted so far
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  for (auto id : threads) {
    EXPECT_EQ(id, threads[0]);
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

// A completion posts from a thread that holds a lock the task needs: Post
// must not run the task there (it would deadlock or run under the lock).
TEST(ControlExecutorTest, PostNeverRunsTheTaskOnTheCaller) {
  // Declared before the executor: its thread may still be releasing `mu`
  // after Notify(), so the executor (joined first) must die first.
  absl::Mutex mu;
  absl::Notification ran;
  std::thread::id ran_on;
  ControlExecutor executor;
  {
    absl::MutexLock lock(&mu);
    executor.Post([&] {
      absl::MutexLock inner(&mu);  // waits until the poster released it
      ran_on = std::this_thread::get_id();
      ran.Notify();
    });
    EXPECT_FALSE(ran.HasBeenNotified());
  }
  ran.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(ControlExecutorTest, TasksPostedByTasksDuringStopStillRun) {
  ControlExecutor executor;
  std::atomic<int> runs{0};
  executor.Post([&] {
    ++runs;
    executor.Post([&] { ++runs; });
  });
  executor.Stop();
  EXPECT_EQ(runs.load(), 2);
  executor.Post([&] { ++runs; });  // after Stop: inline
  EXPECT_EQ(runs.load(), 3);
  executor.Stop();  // idempotent
}

}  // namespace
}  // namespace herald::service
