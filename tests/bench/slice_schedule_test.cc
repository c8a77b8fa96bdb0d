#include "bench/loadgen/slice_schedule.h"

#include <gtest/gtest.h>

namespace herald::bench {
namespace {

constexpr int64_t kMs = 1'000'000;

// Two processes of a pair: 100 ms slices, 20 ms settle, epoch at 1 s.
SliceSchedule Phase(int p) {
  return SliceSchedule(1000 * kMs, 100 * kMs, p, 2, 20 * kMs);
}

TEST(SliceScheduleTest, DisabledIsAlwaysActiveAndCounted) {
  SliceSchedule off;
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.Active(5));
  EXPECT_TRUE(off.Counted(5));
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
  EXPECT_FALSE(b.Counted(1119 * kMs));
  EXPECT_TRUE(b.Counted(1120 * kMs));
  EXPECT_TRUE(b.Counted(1199 * kMs));
  EXPECT_FALSE(b.Counted(1200 * kMs));
}

TEST(SliceScheduleTest, NextActiveAndActiveEnd) {
  SliceSchedule a = Phase(0), b = Phase(1);
  EXPECT_EQ(a.NextActive(0), 1000 * kMs);
  EXPECT_EQ(b.NextActive(0), 1100 * kMs);
  EXPECT_EQ(a.NextActive(1150 * kMs), 1200 * kMs);
  EXPECT_EQ(b.NextActive(1250 * kMs), 1300 * kMs);
  EXPECT_EQ(b.NextActive(1150 * kMs), 1150 * kMs);
  EXPECT_EQ(a.ActiveEnd(1234 * kMs), 1300 * kMs);
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
