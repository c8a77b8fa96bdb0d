// The admission tables and the descriptor budget: PeerLimits (per-IP open
// sockets and rate), UserQuota (per-user connections), FitDescriptorBudget.
#include <chrono>

#include "gtest/gtest.h"
#include "push/fd_budget.h"
#include "push/peer_limits.h"
#include "push/user_quota.h"

namespace herald::push {
namespace {

using std::chrono::milliseconds;

PeerLimits::Key Ip(const char* text) {
  return PeerLimits::KeyOf(boost::asio::ip::make_address(text));
}

TEST(PeerLimitsTest, OpenSocketsPerIpAreCapped) {
  PeerLimits peers;
  const auto now = PeerLimits::Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 3, 0, now),
              PeerLimits::Verdict::kOk);
  }
  EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 3, 0, now),
            PeerLimits::Verdict::kTooManyOpen);
  EXPECT_EQ(peers.TryOpen(Ip("10.0.0.2"), 3, 0, now), PeerLimits::Verdict::kOk);
  peers.Close(Ip("10.0.0.1"));
  EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 3, 0, now), PeerLimits::Verdict::kOk);
}

TEST(PeerLimitsTest, Ipv4AndItsMappedIpv6FormAreOnePeer) {
  EXPECT_EQ(Ip("192.0.2.7"), Ip("::ffff:192.0.2.7"));
  EXPECT_NE(Ip("192.0.2.7"), Ip("192.0.2.8"));
}

TEST(PeerLimitsTest, NewSocketsPerSecondIsATokenBucket) {
  PeerLimits peers;
  const auto t0 = PeerLimits::Clock::now();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 0, 4, t0),
              PeerLimits::Verdict::kOk);
  }
  EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 0, 4, t0),
            PeerLimits::Verdict::kTooFast);
  // A quarter second refills one token at 4/s.
  EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 0, 4, t0 + milliseconds(260)),
            PeerLimits::Verdict::kOk);
  EXPECT_EQ(peers.TryOpen(Ip("10.0.0.1"), 0, 4, t0 + milliseconds(260)),
            PeerLimits::Verdict::kTooFast);
}

TEST(PeerLimitsTest, IdleFullEntriesAreSwept) {
  PeerLimits peers;
  const auto t0 = PeerLimits::Clock::now();
  ASSERT_EQ(peers.TryOpen(Ip("10.0.0.1"), 0, 10, t0), PeerLimits::Verdict::kOk);
  ASSERT_EQ(peers.TryOpen(Ip("10.0.0.2"), 0, 10, t0), PeerLimits::Verdict::kOk);
  peers.Close(Ip("10.0.0.1"));
  EXPECT_EQ(peers.tracked(), 2u);
  // Two seconds later 10.0.0.1 has no socket and a full bucket: forgotten.
  ASSERT_EQ(peers.TryOpen(Ip("10.0.0.3"), 0, 10, t0 + std::chrono::seconds(2)),
            PeerLimits::Verdict::kOk);
  EXPECT_EQ(peers.tracked(), 2u);  // 10.0.0.2 (open) and 10.0.0.3
}

TEST(UserQuotaTest, CountsPerUserAndForgetsUsersWithoutConnections) {
  UserQuota quota;
  EXPECT_TRUE(quota.TryAcquire(7, 2));
  EXPECT_TRUE(quota.TryAcquire(7, 2));
  EXPECT_FALSE(quota.TryAcquire(7, 2));
  EXPECT_TRUE(quota.TryAcquire(8, 2));
  quota.Release(7);
  EXPECT_TRUE(quota.TryAcquire(7, 2));
  quota.Release(7);
  quota.Release(7);
  quota.Release(8);
  EXPECT_EQ(quota.users(), 0u);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(quota.TryAcquire(9, 0));  // 0: off
  EXPECT_EQ(quota.users(), 1u);
}

TEST(FdBudgetTest, DerivesLimitsFromTheDescriptorLimit) {
  PushOptions o;
  ASSERT_TRUE(FitDescriptorBudget(o, 20000, false, false).ok());
  EXPECT_EQ(o.max_handshaking, 1024u);
  EXPECT_EQ(o.max_connections, 20000u - 256u - 1024u);
  PushOptions small;
  ASSERT_TRUE(FitDescriptorBudget(small, 1024, false, false).ok());
  EXPECT_EQ(small.max_handshaking, (1024u - 256u) / 8);
  EXPECT_EQ(small.max_connections, 1024u - 256u - small.max_handshaking);
}

TEST(FdBudgetTest, ExplicitLimitsMustFit) {
  PushOptions o;
  o.max_connections = 100000;
  const absl::Status st = FitDescriptorBudget(o, 20000, true, false);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "--max_connections=100000 plus --max_handshaking=1024 needs 101024 "
            "descriptors, but RLIMIT_NOFILE is 20000 and --fd_reserve=256 "
            "leaves 19744; raise the limit (ulimit -n, LimitNOFILE=) or lower "
            "the flags");
  PushOptions fits;
  fits.max_connections = 19000;  // the handshake share shrinks to fit
  ASSERT_TRUE(FitDescriptorBudget(fits, 20000, true, false).ok());
  EXPECT_EQ(fits.max_handshaking, 744u);
  PushOptions reserve;
  reserve.fd_reserve = 500;
  EXPECT_FALSE(FitDescriptorBudget(reserve, 500, false, false).ok());
}

}  // namespace
}  // namespace herald::push
