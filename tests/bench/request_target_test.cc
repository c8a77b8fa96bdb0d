#include "bench/peers/beast/request_target.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace herald::beast_peer {
namespace {

using Servers = std::vector<uint64_t>;

TEST(RequestTargetTest, SubPathListsServers) {
  EXPECT_EQ(RequestTarget::ServersOf("/sub/1"), Servers({1}));
  EXPECT_EQ(RequestTarget::ServersOf("/sub/3,1,2000"), Servers({3, 1, 2000}));
  EXPECT_EQ(RequestTarget::ServersOf("/sub/1,,2,"), Servers({1, 2}));
}

TEST(RequestTargetTest, ServersQueryWinsOverPath) {
  EXPECT_EQ(RequestTarget::ServersOf("/?servers=4,5"), Servers({4, 5}));
  EXPECT_EQ(RequestTarget::ServersOf("/sub/1?x=1&servers=7"), Servers({7}));
  EXPECT_EQ(RequestTarget::ServersOf("/?servers="), Servers());
}

TEST(RequestTargetTest, NoServersElsewhere) {
  EXPECT_EQ(RequestTarget::ServersOf("/"), Servers());
  EXPECT_EQ(RequestTarget::ServersOf("/pub/1"), Servers());
  EXPECT_EQ(RequestTarget::ServersOf("/sub/x,2"), Servers({2}));
}

TEST(RequestTargetTest, PublishServer) {
  EXPECT_EQ(RequestTarget::PublishServer("/pub/12"), 12u);
  EXPECT_FALSE(RequestTarget::PublishServer("/pub/").has_value());
  EXPECT_FALSE(RequestTarget::PublishServer("/pub/1,2").has_value());
  EXPECT_FALSE(RequestTarget::PublishServer("/pub/1?x").has_value());
  EXPECT_FALSE(RequestTarget::PublishServer("/sub/1").has_value());
  EXPECT_FALSE(
      RequestTarget::PublishServer("/pub/99999999999999999999").has_value());
}

}  // namespace
}  // namespace herald::beast_peer
