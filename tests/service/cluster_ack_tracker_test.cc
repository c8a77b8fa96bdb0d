#include <optional>

#include "gtest/gtest.h"
#include "service/cluster/ack_tracker.h"

namespace herald::service::cluster {
namespace {

using namespace std::chrono_literals;

class AckTrackerTest : public ::testing::Test {
 protected:
  // Runs the context's handlers for `d` (the tracker's timers).
  void RunFor(std::chrono::milliseconds d) {
    context_.restart();
    context_.run_for(d);
  }
  AckTracker::Done Into(std::optional<uint32_t>* out) {
    return [out](uint32_t n) { *out = n; };
  }

  boost::asio::io_context context_;
  AckTracker tracker_{context_, 50ms};
};

TEST_F(AckTrackerTest, SumsTheExpectedAcks) {
  std::optional<uint32_t> sum;
  tracker_.Await(1, 2, Into(&sum));
  tracker_.OnAck(1, 3);
  EXPECT_FALSE(sum);
  tracker_.OnAck(1, 4);
  EXPECT_EQ(sum, 7u);
  EXPECT_EQ(tracker_.pending(), 0u);
}

TEST_F(AckTrackerTest, AcksBeforeTheReceiverCountAreKept) {
  std::optional<uint32_t> sum;
  tracker_.OnAck(2, 5);
  tracker_.OnAck(2, 1);
  tracker_.Await(2, 2, Into(&sum));  // inline: both are in
  EXPECT_EQ(sum, 6u);
  EXPECT_EQ(tracker_.timeouts(), 0u);
}

TEST_F(AckTrackerTest, NoReceiversCompletesAtOnce) {
  std::optional<uint32_t> sum;
  tracker_.Await(3, 0, Into(&sum));
  EXPECT_EQ(sum, 0u);
}

TEST_F(AckTrackerTest, TimeoutAnswersTheSumSoFar) {
  std::optional<uint32_t> sum;
  tracker_.Await(4, 3, Into(&sum));
  tracker_.OnAck(4, 2);
  RunFor(200ms);
  EXPECT_EQ(sum, 2u);
  EXPECT_EQ(tracker_.timeouts(), 1u);
  tracker_.OnAck(4, 9);  // late: kept until its own timeout, then dropped
  RunFor(200ms);
  EXPECT_EQ(sum, 2u);
  EXPECT_EQ(tracker_.pending(), 0u);
  EXPECT_EQ(tracker_.timeouts(), 1u);  // nobody awaited the late one
}

TEST_F(AckTrackerTest, UnawaitedAcksAreDroppedWithoutATimeout) {
  tracker_.OnAck(5, 1);
  RunFor(200ms);
  EXPECT_EQ(tracker_.pending(), 0u);
  EXPECT_EQ(tracker_.timeouts(), 0u);
}

TEST_F(AckTrackerTest, CompleteAllAnswersEveryWait) {
  std::optional<uint32_t> a, b;
  tracker_.Await(6, 2, Into(&a));
  tracker_.OnAck(6, 1);
  tracker_.Await(7, 1, Into(&b));
  tracker_.OnAck(8, 1);
  tracker_.CompleteAll();
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 0u);
  EXPECT_EQ(tracker_.pending(), 0u);
  RunFor(100ms);  // no timer left
  EXPECT_EQ(tracker_.timeouts(), 0u);
}

}  // namespace
}  // namespace herald::service::cluster
