#include "push/send_queue.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace herald::push {
namespace {

Frame Bytes(size_t n, char c = 'x') {
  return std::make_shared<const std::string>(n, c);
}

TEST(SendQueueTest, BatchesAtMostSixtyFourFrames) {
  SendQueue q;
  for (int i = 0; i < 100; ++i) q.Push(Bytes(10));
  EXPECT_EQ(q.queued_bytes(), 1000u);
  size_t size = 0;
  const auto buffers = q.TakeBatch(&size);
  EXPECT_EQ(buffers.size(), SendQueue::kMaxBatchFrames);
  EXPECT_EQ(size, 640u);
  EXPECT_TRUE(q.writing());
  EXPECT_EQ(q.in_flight_bytes(), 640u);
  EXPECT_EQ(q.queued_bytes(), 360u);
  q.WriteDone();
  EXPECT_EQ(q.in_flight_bytes(), 0u);
  EXPECT_EQ(q.TakeBatch(&size).size(), 36u);
  EXPECT_EQ(size, 360u);
  q.WriteDone();
  EXPECT_FALSE(q.has_pending());
}

TEST(SendQueueTest, BatchesAtMostSixtyFourKibButAlwaysOneFrame) {
  SendQueue q;
  q.Push(Bytes(100 * 1024, 'a'));  // larger than a batch: goes alone
  q.Push(Bytes(40 * 1024, 'b'));
  q.Push(Bytes(30 * 1024, 'c'));
  size_t size = 0;
  auto buffers = q.TakeBatch(&size);
  ASSERT_EQ(buffers.size(), 1u);
  EXPECT_EQ(size, 100u * 1024);
  EXPECT_EQ(static_cast<const char*>(buffers[0].data())[0], 'a');
  q.WriteDone();
  buffers = q.TakeBatch(&size);  // 40 + 30 KiB > 64 KiB: one at a time
  ASSERT_EQ(buffers.size(), 1u);
  EXPECT_EQ(static_cast<const char*>(buffers[0].data())[0], 'b');
  q.WriteDone();
}

TEST(SendQueueTest, ClearDropsQueuedFramesButKeepsTheWriteInFlight) {
  SendQueue q;
  q.Push(Bytes(5, 'a'));
  size_t size = 0;
  const auto buffers = q.TakeBatch(&size);
  q.Push(Bytes(7, 'b'));
  q.Clear();
  EXPECT_FALSE(q.has_pending());
  EXPECT_EQ(q.queued_bytes(), 0u);
  // The batch handed to the transport stays valid until it completes.
  ASSERT_EQ(buffers.size(), 1u);
  EXPECT_EQ(std::string(static_cast<const char*>(buffers[0].data()), 5),
            "aaaaa");
  EXPECT_EQ(q.in_flight_bytes(), 5u);
  q.WriteDone();
}

TEST(SendQueueTest, KeepsOrderAcrossBatchesAndInterleavedPushes) {
  SendQueue q;
  int next_in = 0, next_out = 0;
  auto push = [&](int n) {
    for (int i = 0; i < n; ++i) {
      q.Push(std::make_shared<const std::string>(std::to_string(next_in++)));
    }
  };
  push(300);
  while (q.has_pending()) {
    size_t size = 0;
    for (const auto& b : q.TakeBatch(&size)) {
      EXPECT_EQ(std::string(static_cast<const char*>(b.data()), b.size()),
                std::to_string(next_out++));
    }
    if (next_in < 1000) push(70);  // frames arriving during the write
    q.WriteDone();
    q.ReleaseIdle();
  }
  EXPECT_EQ(next_out, 1000);
  EXPECT_EQ(q.queued_bytes(), 0u);
}

TEST(SendQueueTest, ClearDuringABatchOfSeveralKeepsExactlyThatBatch) {
  SendQueue q;
  for (char c : std::string("abcd")) q.Push(Bytes(3, c));
  size_t size = 0;
  const auto buffers = q.TakeBatch(&size);
  ASSERT_EQ(buffers.size(), 4u);
  q.Push(Bytes(3, 'e'));
  q.Clear();
  EXPECT_FALSE(q.has_pending());
  EXPECT_EQ(q.in_flight_bytes(), 12u);
  EXPECT_EQ(static_cast<const char*>(buffers[3].data())[0], 'd');
  q.WriteDone();
  EXPECT_FALSE(q.has_pending());
  q.Push(Bytes(2, 'f'));  // usable again
  EXPECT_EQ(q.TakeBatch(&size).size(), 1u);
  EXPECT_EQ(size, 2u);
  q.WriteDone();
}

}  // namespace
}  // namespace herald::push
