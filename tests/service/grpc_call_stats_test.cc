#include "service/grpc_call_stats.h"

#include <string>

#include "gtest/gtest.h"

namespace herald::service {
namespace {

TEST(GrpcCallStatsTest, CountsByMethodAndCode) {
  GrpcCallStats stats;
  stats.Count("/herald.v1.Herald/Publish", 0);
  stats.Count("/herald.v1.Herald/Publish", 0);
  stats.Count("/herald.v1.Herald/Publish", 3);
  const auto calls = stats.calls();
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls.at({"herald.v1.Herald/Publish", "OK"}), 2u);
  EXPECT_EQ(calls.at({"herald.v1.Herald/Publish", "INVALID_ARGUMENT"}), 1u);
}

// Method names come from the caller: a client inventing names cannot grow
// the table (or /metrics) past kMaxSeries.
TEST(GrpcCallStatsTest, InventedMethodsAreCappedIntoOther) {
  GrpcCallStats stats;
  const size_t invented = GrpcCallStats::kMaxSeries + 500;
  for (size_t i = 0; i < invented; ++i) {
    stats.Count(("/x.Y/M" + std::to_string(i)).c_str(), 12);
  }
  stats.Count("/x.Y/M0", 12);  // a kept series still counts as itself
  const auto calls = stats.calls();
  EXPECT_EQ(calls.size(), GrpcCallStats::kMaxSeries + 1);  // + "other"
  EXPECT_EQ(calls.at({"x.Y/M0", "UNIMPLEMENTED"}), 2u);
  uint64_t total = 0;
  for (const auto& [key, n] : calls) total += n;
  EXPECT_EQ(total, invented + 1);
  EXPECT_EQ(calls.at({"other", "UNIMPLEMENTED"}),
            invented - (GrpcCallStats::kMaxSeries - 0));
}

}  // namespace
}  // namespace herald::service
