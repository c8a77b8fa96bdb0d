#include "service/cluster/session_expiry_closer.h"

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace herald::service::cluster {
namespace {

class RecordingRouter : public push::Router {
 public:
  void Route(push::Delivery, RoutedCallback done) override {
    if (done) std::move(done)(0);
  }
  void CloseUser(int64_t user_id, std::string token, uint16_t code,
                 std::string reason) override {
    closed.emplace_back(user_id, std::move(token), code, std::move(reason));
  }
  void CloseConnection(push::ConnectionId, uint16_t, std::string) override {}

  std::vector<std::tuple<int64_t, std::string, uint16_t, std::string>> closed;
};

// Lookups answered by the test, one by one.
struct FakeSessions {
  struct Pending {
    std::string key;
    int64_t now_us;
    SessionExpiryCloser::LookupDone done;
  };
  SessionExpiryCloser::Lookup Lookup() {
    return [this](const std::string& key, int64_t now_us,
                  SessionExpiryCloser::LookupDone done) {
      pending.push_back(Pending{key, now_us, std::move(done)});
    };
  }
  void Answer(absl::StatusOr<std::optional<SessionInfo>> session) {
    ASSERT_FALSE(pending.empty());
    auto done = std::move(pending.front().done);
    pending.erase(pending.begin());
    std::move(done)(std::move(session));
  }
  std::vector<Pending> pending;
};

TEST(SessionExpiryCloserTest, ClosesTheSessionOnceItIsGone) {
  RecordingRouter router;
  FakeSessions sessions;
  SessionExpiryCloser closer(sessions.Lookup(), router, /*run_thread=*/false);
  closer.Track(1, 7, "key-a", 1000);
  closer.Track(2, 7, "key-a", 1000);  // a second socket, same session
  closer.Track(3, 8, "key-b", 5000);
  closer.Track(4, 9, "key-c", 0);  // never expires: not tracked
  EXPECT_EQ(closer.tracked(), 3u);
  closer.Tick(999);
  EXPECT_TRUE(sessions.pending.empty());
  closer.Tick(1000);
  ASSERT_EQ(sessions.pending.size(), 1u);  // one lookup per session
  EXPECT_EQ(sessions.pending[0].key, "key-a");
  sessions.Answer(std::optional<SessionInfo>());  // gone
  ASSERT_EQ(router.closed.size(), 1u);
  EXPECT_EQ(router.closed[0],
            std::make_tuple(int64_t{7}, std::string("key-a"), uint16_t{4004},
                            std::string("session expired")));
  EXPECT_EQ(closer.tracked(), 1u);
  closer.Untrack(1);  // the close's own Untrack finds nothing
  closer.Tick(2000);
  EXPECT_TRUE(sessions.pending.empty());
}

TEST(SessionExpiryCloserTest, AReopenedSessionIsKeptWithItsNewExpiry) {
  RecordingRouter router;
  FakeSessions sessions;
  SessionExpiryCloser closer(sessions.Lookup(), router, /*run_thread=*/false);
  closer.Track(1, 7, "key-a", 1000);
  closer.Tick(1500);
  sessions.Answer(std::optional<SessionInfo>(SessionInfo{7, 9000}));
  EXPECT_TRUE(router.closed.empty());
  closer.Tick(8999);
  EXPECT_TRUE(sessions.pending.empty());
  closer.Tick(9000);
  ASSERT_EQ(sessions.pending.size(), 1u);
  // Now without expiry: no longer tracked, never closed.
  sessions.Answer(std::optional<SessionInfo>(SessionInfo{7, 0}));
  EXPECT_TRUE(router.closed.empty());
  EXPECT_EQ(closer.tracked(), 0u);
}

TEST(SessionExpiryCloserTest, AFailedLookupIsRetriedAndAnotherUserCloses) {
  RecordingRouter router;
  FakeSessions sessions;
  SessionExpiryCloser closer(sessions.Lookup(), router, /*run_thread=*/false);
  closer.Track(1, 7, "key-a", 1000);
  closer.Tick(1000);
  sessions.Answer(absl::UnavailableError("redis: not connected"));
  EXPECT_TRUE(router.closed.empty());
  EXPECT_EQ(closer.tracked(), 1u);
  closer.Tick(2000);
  ASSERT_EQ(sessions.pending.size(), 1u);
  // The token now names another user: this user's sockets go.
  sessions.Answer(std::optional<SessionInfo>(SessionInfo{8, 0}));
  ASSERT_EQ(router.closed.size(), 1u);
  EXPECT_EQ(std::get<0>(router.closed[0]), 7);
}

TEST(SessionExpiryCloserTest, ClosedConnectionsAndLateAnswersAreIgnored) {
  RecordingRouter router;
  FakeSessions sessions;
  SessionExpiryCloser closer(sessions.Lookup(), router, /*run_thread=*/false);
  closer.Track(1, 7, "key-a", 1000);
  closer.Tick(1000);
  closer.Untrack(1);  // closed while its lookup ran
  sessions.Answer(std::optional<SessionInfo>());
  EXPECT_TRUE(router.closed.empty());
  closer.Track(2, 7, "key-b", 1000);
  closer.Tick(1000);
  closer.Stop();
  sessions.Answer(std::optional<SessionInfo>());  // after Stop: nothing
  EXPECT_TRUE(router.closed.empty());
}

TEST(SessionExpiryCloserTest, LookupsPerTickAreBounded) {
  RecordingRouter router;
  FakeSessions sessions;
  SessionExpiryCloser closer(sessions.Lookup(), router, /*run_thread=*/false);
  const size_t n = SessionExpiryCloser::kMaxLookupsPerTick + 5;
  for (size_t i = 0; i < n; ++i) {
    closer.Track(i + 1, 7, "key-" + std::to_string(i), 1000);
  }
  closer.Tick(1000);
  EXPECT_EQ(sessions.pending.size(), SessionExpiryCloser::kMaxLookupsPerTick);
  closer.Tick(1000);
  EXPECT_EQ(sessions.pending.size(), n);
}

}  // namespace
}  // namespace herald::service::cluster
