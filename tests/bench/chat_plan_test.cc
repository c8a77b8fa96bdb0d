#include "bench/loadgen/chat_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

namespace herald::bench {
namespace {

ChatPlan::Params Full() {
  ChatPlan::Params p;
  p.connections = 19000;
  p.servers = ChatPlan::DefaultServers(19000);
  p.seed = 1;
  return p;
}

TEST(ChatPlanTest, DefaultServersScaleWithThePopulation) {
  EXPECT_EQ(ChatPlan::DefaultServers(19000), 2000);
  EXPECT_EQ(ChatPlan::DefaultServers(2000), 210);
  EXPECT_EQ(ChatPlan::DefaultServers(10), 20);
}

TEST(ChatPlanTest, SameSeedSameMemberships) {
  ChatPlan a(Full());
  ChatPlan b(Full());
  std::vector<int32_t> x;
  std::vector<int32_t> y;
  for (int64_t u = 1; u <= a.users(); u += 97) {
    a.ServersOf(u, &x);
    b.ServersOf(u, &y);
    EXPECT_EQ(x, y) << u;
  }
  ChatPlan::Params other = Full();
  other.seed = 2;
  ChatPlan c(other);
  c.ServersOf(1, &y);
  a.ServersOf(1, &x);
  EXPECT_NE(x, y);
}

TEST(ChatPlanTest, MembershipsAreDistinctSortedAndInRange) {
  ChatPlan plan(Full());
  std::vector<int32_t> s;
  for (int64_t u = 1; u <= plan.users(); u += 13) {
    plan.ServersOf(u, &s);
    ASSERT_GE(s.size(), 3u);
    ASSERT_LE(s.size(), 20u);
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    EXPECT_EQ(std::set<int32_t>(s.begin(), s.end()).size(), s.size());
    EXPECT_GE(s.front(), 1);
    EXPECT_LE(s.back(), 2000);
  }
}

TEST(ChatPlanTest, AFewUsersHoldTwoConnections) {
  ChatPlan plan(Full());
  EXPECT_EQ(plan.users() + plan.dual_users(), 19000);
  EXPECT_GT(plan.dual_users(), 19000 * 2 / 100);
  EXPECT_LT(plan.dual_users(), 19000 * 4 / 100);
  // Every connection maps to a user; the second connections hit distinct
  // users, each of which ConnectionsOf reports as having two.
  std::set<int64_t> seconds;
  for (int64_t i = plan.users(); i < 19000; ++i) {
    int64_t u = plan.UserOfConnection(i);
    ASSERT_GE(u, 1);
    ASSERT_LE(u, plan.users());
    EXPECT_EQ(plan.ConnectionsOf(u), 2) << u;
    seconds.insert(u);
  }
  EXPECT_EQ(static_cast<int64_t>(seconds.size()), plan.dual_users());
  int64_t duals = 0;
  for (int64_t u = 1; u <= plan.users(); ++u) {
    duals += plan.ConnectionsOf(u) == 2;
  }
  EXPECT_EQ(duals, plan.dual_users());
}

TEST(ChatPlanTest, ServerSizesAreZipfShaped) {
  ChatPlan plan(Full());
  std::vector<int64_t> members;
  std::vector<int64_t> connections;
  plan.Sizes(&members, &connections);
  std::vector<int64_t> sorted(members.begin() + 1, members.end());
  std::sort(sorted.begin(), sorted.end());
  int64_t median = sorted[sorted.size() / 2];
  // Most servers have tens of members, a few have thousands.
  EXPECT_GE(median, 10);
  EXPECT_LT(median, 100);
  EXPECT_GE(sorted.back(), 2000);
  EXPECT_GE(std::count_if(sorted.begin(), sorted.end(),
                          [](int64_t m) { return m >= 1000; }),
            5);
  // Rank 1 is the biggest of its neighbourhood, and connections count
  // the two-connection users twice.
  EXPECT_GT(members[1], members[100]);
  EXPECT_GT(members[100], members[1900]);
  for (int s = 1; s <= 2000; ++s) ASSERT_GE(connections[s], members[s]);
}

}  // namespace
}  // namespace herald::bench
