// The registry's limit flags: defaults, parsing, and their bounds.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/options.h"

namespace herald::service {
namespace {

TEST(MembershipOptionsTest, Defaults) {
  auto o = ParseOptions({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_memberships, 10'000'000u);  // ~1.1 GB at ~110 B each
  EXPECT_EQ(o->max_memberships_per_user, 100'000u);
  EXPECT_EQ(o->max_sessions, 1'000'000u);
}

TEST(MembershipOptionsTest, Parses) {
  auto o = ParseOptions({"--max_memberships=6", "--max_memberships_per_user=2",
                         "--max_sessions=3"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_memberships, 6u);
  EXPECT_EQ(o->max_memberships_per_user, 2u);
  EXPECT_EQ(o->max_sessions, 3u);
}

TEST(MembershipOptionsTest, ZeroIsRefusedNamingTheFlag) {
  for (const char* flag : {"max_memberships", "max_memberships_per_user"}) {
    auto o = ParseOptions({std::string("--") + flag + "=0"});
    ASSERT_FALSE(o.ok()) << flag;
    EXPECT_NE(o.status().message().find(flag), absl::string_view::npos)
        << o.status();
  }
}

}  // namespace
}  // namespace herald::service
