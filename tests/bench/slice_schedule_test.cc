#include "bench/loadgen/slice_schedule.h"

#include <gtest/gtest.h>

namespace herald::bench {
namespace {

constexpr int64_t kMs = 1'000'000;

// Two processes of a pair: 100 ms slices, 20 ms settle, epoch at 1 s.
SliceSchedule Phase(int p, int64_t tail_ns = 0, bool by_publish = false) {
  SliceSchedule::Config c;
  c.slice_ns = 100 * kMs;
  c.phase = p;
  c.settle_ns = 20 * kMs;
  c.tail_ns = tail_ns;
  c.by_publish = by_publish;
  return SliceSchedule(1000 * kMs, c);
}

TEST(SliceScheduleTest, DisabledIsAlwaysActiveAndCounted) {
  SliceSchedule off;
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.Active(5));
  EXPECT_TRUE(off.InCountedSpan(5));
  EXPECT_TRUE(off.CountsReceipt(1, 5));
  EXPECT_EQ(off.NextActive(5), 5);
  EXPECT_EQ(off.CountedNs(10, 110), 100);
}

TEST(SliceScheduleTest, PhasesTakeTurnsAndNeverOverlap) {
  SliceSchedule a = Phase(0), b = Phase(1);
  for (int64_t t = 900 * kMs; t < 2000 * kMs; t += kMs) {
    EXPECT_FALSE(a.Active(t) && b.Active(t)) << t;
    if (t >= 1000 * kMs) {
      EXPECT_TRUE(a.Active(t) || b.Active(t)) << t;
    }
  }
  EXPECT_FALSE(a.Active(999 * kMs));  // nothing before the epoch
  EXPECT_TRUE(a.Active(1000 * kMs));
  EXPECT_FALSE(a.Active(1100 * kMs));
  EXPECT_TRUE(b.Active(1100 * kMs));
  EXPECT_TRUE(a.Active(1200 * kMs));
}

TEST(SliceScheduleTest, CountsOnlyAfterTheSettle) {
  SliceSchedule b = Phase(1);
  EXPECT_FALSE(b.InCountedSpan(1119 * kMs));
  EXPECT_TRUE(b.InCountedSpan(1120 * kMs));
  EXPECT_TRUE(b.InCountedSpan(1199 * kMs));
  EXPECT_FALSE(b.InCountedSpan(1200 * kMs));
  // A closed loop counts a receipt by its arrival.
  EXPECT_TRUE(b.CountsReceipt(1110 * kMs, 1150 * kMs));
  EXPECT_FALSE(b.CountsReceipt(1150 * kMs, 1210 * kMs));
}

TEST(SliceScheduleTest, TailStopsPublishingBeforeTheSliceEnds) {
  SliceSchedule a = Phase(0, 30 * kMs);
  EXPECT_TRUE(a.Active(1069 * kMs));
  EXPECT_FALSE(a.Active(1070 * kMs));
  EXPECT_EQ(a.NextActive(1070 * kMs), 1200 * kMs);
  // By arrival, the tail is still counted: the loop's own drain.
  EXPECT_TRUE(a.InCountedSpan(1090 * kMs));
  EXPECT_EQ(a.CountedNs(1000 * kMs, 1200 * kMs), 80 * kMs);
}

TEST(SliceScheduleTest, OpenLoopCountsWholeEventsByPublishTime) {
  SliceSchedule a = Phase(0, 30 * kMs, /*by_publish=*/true);
  EXPECT_TRUE(a.by_publish());
  // Published in the span, received after the slice: counted.
  EXPECT_TRUE(a.CountsReceipt(1060 * kMs, 1130 * kMs));
  // Published in the settle: not counted, whenever it arrives.
  EXPECT_FALSE(a.CountsReceipt(1010 * kMs, 1050 * kMs));
  // The counted span ends where publishing stops.
  EXPECT_FALSE(a.InCountedSpan(1075 * kMs));
  EXPECT_EQ(a.CountedNs(1000 * kMs, 1200 * kMs), 50 * kMs);
}

TEST(SliceScheduleTest, NextActiveAndActiveEnd) {
  SliceSchedule a = Phase(0), b = Phase(1);
  EXPECT_EQ(a.NextActive(0), 1000 * kMs);
  EXPECT_EQ(b.NextActive(0), 1100 * kMs);
  EXPECT_EQ(a.NextActive(1150 * kMs), 1200 * kMs);
  EXPECT_EQ(b.NextActive(1250 * kMs), 1300 * kMs);
  EXPECT_EQ(b.NextActive(1150 * kMs), 1150 * kMs);
}

TEST(SliceScheduleTest, CountedNsClipsEverySlice) {
  SliceSchedule a = Phase(0);
  // Ten periods: ten counted parts of 80 ms.
  EXPECT_EQ(a.CountedNs(1000 * kMs, 3000 * kMs), 800 * kMs);
  // Starting inside a counted part, ending inside the settle of the next.
  EXPECT_EQ(a.CountedNs(1050 * kMs, 1210 * kMs), 50 * kMs);
  // Before the epoch nothing counts.
  EXPECT_EQ(a.CountedNs(0, 1000 * kMs), 0);
  EXPECT_EQ(a.CountedNs(5, 5), 0);
}

TEST(SliceScheduleTest, NextEpochStartsAPeriodAfterTheLead) {
  EXPECT_EQ(SliceSchedule::NextEpoch(1050 * kMs, 200 * kMs, 1000 * kMs),
            2200 * kMs);
  EXPECT_EQ(SliceSchedule::NextEpoch(1000 * kMs, 200 * kMs, 1000 * kMs),
            2000 * kMs);
}

}  // namespace
}  // namespace herald::bench
