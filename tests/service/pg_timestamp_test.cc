#include "service/pg_timestamp.h"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "gtest/gtest.h"

namespace herald::service {
namespace {

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// Formats, or returns "<out of range>" when AppendPgTimestamp refuses.
std::string Format(int64_t seconds, int32_t nanos) {
  std::string out;
  if (!AppendPgTimestamp(out, Ts(seconds, nanos))) return "<out of range>";
  return out;
}

// date -u -d '2024-12-04 18:36:14' +%s
constexpr int64_t k20241204183614 = 1733337374;

TEST(PgTimestampTest, SeedValues) {
  EXPECT_EQ(Format(k20241204183614, 45681000), "2024-12-04 18:36:14.045681+00");
  // date -u -d '2025-01-11 01:05:03' +%s
  EXPECT_EQ(Format(1736557503, 80518000), "2025-01-11 01:05:03.080518+00");
}

TEST(PgTimestampTest, FractionDigitsZeroToSix) {
  EXPECT_EQ(Format(k20241204183614, 0), "2024-12-04 18:36:14+00");
  EXPECT_EQ(Format(k20241204183614, 100000000), "2024-12-04 18:36:14.1+00");
  EXPECT_EQ(Format(k20241204183614, 40000000), "2024-12-04 18:36:14.04+00");
  EXPECT_EQ(Format(k20241204183614, 45000000), "2024-12-04 18:36:14.045+00");
  EXPECT_EQ(Format(k20241204183614, 45600000), "2024-12-04 18:36:14.0456+00");
  EXPECT_EQ(Format(k20241204183614, 45680000), "2024-12-04 18:36:14.04568+00");
  EXPECT_EQ(Format(k20241204183614, 45681000), "2024-12-04 18:36:14.045681+00");
  EXPECT_EQ(Format(k20241204183614, 1000), "2024-12-04 18:36:14.000001+00");
  EXPECT_EQ(Format(k20241204183614, 999999000),
            "2024-12-04 18:36:14.999999+00");
}

TEST(PgTimestampTest, SubMicrosecondsTruncated) {
  EXPECT_EQ(Format(k20241204183614, 999), "2024-12-04 18:36:14+00");
  EXPECT_EQ(Format(k20241204183614, 45681999), "2024-12-04 18:36:14.045681+00");
  EXPECT_EQ(Format(k20241204183614, 999999999),
            "2024-12-04 18:36:14.999999+00");
}

TEST(PgTimestampTest, Epoch) {
  EXPECT_EQ(Format(0, 0), "1970-01-01 00:00:00+00");
  EXPECT_EQ(Format(-1, 0), "1969-12-31 23:59:59+00");
  EXPECT_EQ(Format(-1, 500000000), "1969-12-31 23:59:59.5+00");
  EXPECT_EQ(Format(86399, 0), "1970-01-01 23:59:59+00");
  EXPECT_EQ(Format(86400, 0), "1970-01-02 00:00:00+00");
}

TEST(PgTimestampTest, LeapDays) {
  // date -u -d '2000-02-29 12:34:56' +%s
  EXPECT_EQ(Format(951827696, 0), "2000-02-29 12:34:56+00");
  EXPECT_EQ(Format(951827696 + 86400, 0), "2000-03-01 12:34:56+00");
  // 1900 is not a leap year: 1900-02-28 + 1 day = 1900-03-01.
  // date -u -d '1900-02-28 00:00:00' +%s
  EXPECT_EQ(Format(-2203977600, 0), "1900-02-28 00:00:00+00");
  EXPECT_EQ(Format(-2203977600 + 86400, 0), "1900-03-01 00:00:00+00");
}

TEST(PgTimestampTest, YearBounds) {
  // date -u -d '0001-01-01 00:00:00' +%s
  EXPECT_EQ(Format(-62135596800, 0), "0001-01-01 00:00:00+00");
  // date -u -d '9999-12-31 23:59:59' +%s
  EXPECT_EQ(Format(253402300799, 999999999), "9999-12-31 23:59:59.999999+00");
  // date -u -d '0999-06-15 08:09:10' +%s
  EXPECT_EQ(Format(-30627474650, 0), "0999-06-15 08:09:10+00");
  EXPECT_EQ(kMinPgTimestampSeconds, -62135596800);
  EXPECT_EQ(kMaxPgTimestampSeconds, 253402300799);
}

TEST(PgTimestampTest, OutOfRange) {
  EXPECT_EQ(Format(-62135596801, 0), "<out of range>");
  EXPECT_EQ(Format(253402300800, 0), "<out of range>");
  EXPECT_EQ(Format(INT64_MIN, 0), "<out of range>");
  EXPECT_EQ(Format(INT64_MAX, 0), "<out of range>");
  EXPECT_EQ(Format(0, -1), "<out of range>");
  EXPECT_EQ(Format(0, 1000000000), "<out of range>");
  EXPECT_FALSE(PgTimestampInRange(Ts(0, -1)));
  EXPECT_TRUE(PgTimestampInRange(Ts(0, 0)));
}

// Cross-check the date arithmetic against glibc's gmtime_r over the whole
// supported range, stepping by an odd number of seconds.
TEST(PgTimestampTest, MatchesGmtimeAcrossRange) {
  constexpr int64_t kStep = 7777777 * 3 + 12345;  // ~270 days, odd
  int checked = 0;
  for (int64_t s = kMinPgTimestampSeconds; s <= kMaxPgTimestampSeconds;
       s += kStep) {
    const time_t t = static_cast<time_t>(s);
    struct tm tm;
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char expected[40];
    std::snprintf(expected, sizeof(expected),
                  "%04d-%02d-%02d %02d:%02d:%02d+00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT_EQ(Format(s, 0), expected) << "seconds " << s;
    ++checked;
  }
  EXPECT_GT(checked, 10000);
}

TEST(PgTimestampTest, FailureAppendsNothing) {
  std::string out = "keep";
  EXPECT_FALSE(AppendPgTimestamp(out, Ts(253402300800, 0)));
  EXPECT_EQ(out, "keep");
  EXPECT_TRUE(AppendPgTimestamp(out, Ts(0, 0)));
  EXPECT_EQ(out, "keep1970-01-01 00:00:00+00");
}

}  // namespace
}  // namespace herald::service
