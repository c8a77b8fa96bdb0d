// ClusterState against a real redis-server (tests/service/
// redis_server_fixture.h): every method, the limits, expiry, the receivers
// of the scripts' notifications (counted by a second, subscribed client)
// and the reaping of dead nodes.
#include "service/cluster/cluster_state.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/clock.h"
#include "service/redis/redis_client.h"
#include "tests/service/redis_server_fixture.h"

namespace herald::service::cluster {
namespace {

using redis::RedisReply;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr auto kWait = std::chrono::seconds(5);

// Runs `start(done)` and waits for `done`'s result.
template <typename T, typename Start>
absl::StatusOr<T> Await(Start start) {
  std::promise<absl::StatusOr<T>> promise;
  std::future<absl::StatusOr<T>> future = promise.get_future();
  start([&promise](absl::StatusOr<T> result) {
    promise.set_value(std::move(result));
  });
  if (future.wait_for(kWait) != std::future_status::ready) {
    return absl::DeadlineExceededError("no answer");
  }
  return future.get();
}

template <typename Start>
absl::Status AwaitStatus(Start start) {
  std::promise<absl::Status> promise;
  std::future<absl::Status> future = promise.get_future();
  start([&promise](absl::Status status) { promise.set_value(status); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    return absl::DeadlineExceededError("no answer");
  }
  return future.get();
}

// Messages a subscribed client received.
class Inbox {
 public:
  void Add(std::string_view channel, std::string_view payload) {
    absl::MutexLock lock(&mu_);
    messages_.emplace_back(std::string(channel), std::string(payload));
  }
  // Waits until `n` messages arrived; returns them all.
  std::vector<std::pair<std::string, std::string>> WaitFor(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (messages_.size() >= n ||
            std::chrono::steady_clock::now() > deadline) {
          return messages_;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    messages_.clear();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> messages_
      ABSL_GUARDED_BY(mu_);
};

using Messages = std::vector<std::pair<std::string, std::string>>;
using Msg = std::pair<std::string, std::string>;
using VoiceMap = std::map<int64_t, std::vector<int64_t>>;

MATCHER_P5(IsPresence, user, server, channel, node, connection, "") {
  return arg.user_id == user && arg.server_id == server &&
         arg.channel_id == channel && arg.node_id == node &&
         arg.connection == static_cast<uint64_t>(connection);
}

class ClusterStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = herald::testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto url = redis::RedisUrl::Parse(server_->Url());
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    client_ = StartClient(nullptr);
    subscriber_ = StartClient(&inbox_);
    limits_.max_sessions = 100;
    limits_.max_memberships = 6;
    limits_.max_memberships_per_user = 3;
    state_ = std::make_unique<ClusterState>(*client_, limits_);
    ASSERT_TRUE(
        AwaitStatus([&](auto done) { state_->Init(std::move(done)); }).ok());
  }

  void TearDown() override {
    state_.reset();
    subscriber_.reset();
    client_.reset();
  }

  // A connected client; its messages go to `inbox` (if any). Counts its
  // connects in connects_ (client_'s).
  std::unique_ptr<redis::RedisClient> StartClient(Inbox* inbox) {
    auto connected = std::make_shared<std::promise<void>>();
    redis::RedisHandlers handlers;
    handlers.on_message = [inbox](std::string_view channel,
                                  std::string_view payload) {
      if (inbox) inbox->Add(channel, payload);
    };
    handlers.on_connected = [this, inbox, connected, once = true]() mutable {
      if (!inbox) ++connects_;
      if (once) connected->set_value();
      once = false;
    };
    redis::RedisClientOptions options;
    options.url = url_;
    std::unique_ptr<redis::RedisClient> client =
        redis::RedisClient::Start(options, std::move(handlers));
    EXPECT_EQ(connected->get_future().wait_for(kWait),
              std::future_status::ready);
    return client;
  }

  void Subscribe(const std::string& channel) {
    ASSERT_TRUE(AwaitStatus([&](auto done) {
                  subscriber_->Subscribe(channel, std::move(done));
                }).ok());
  }

  RedisReply Command(std::vector<std::string> argv) {
    absl::StatusOr<RedisReply> reply = Await<RedisReply>(
        [&](auto done) { client_->Command(std::move(argv), std::move(done)); });
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *std::move(reply) : RedisReply{};
  }

  // Publishes a sentinel on `channel` and returns what the subscriber got
  // up to and including it (so "nothing else was published" is checkable).
  Messages Drain(const std::string& channel) {
    Command({"PUBLISH", channel, "sentinel"});
    for (int i = 0; i < 500; ++i) {
      Messages got = inbox_.WaitFor(1);
      if (!got.empty() && got.back() == Msg{channel, "sentinel"}) {
        got.pop_back();
        inbox_.Clear();
        return got;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "sentinel never arrived on " << channel;
    return {};
  }

  // Shorthands for the calls, waiting for their answers.
  absl::StatusOr<std::optional<int64_t>> Open(const std::string& key,
                                              int64_t user,
                                              int64_t expires_at_us = 0) {
    auto change = OpenPublishing(key, user, expires_at_us, "");
    if (!change.ok()) return change.status();
    EXPECT_EQ(change->receivers, 0);
    return change->user;
  }
  absl::StatusOr<std::optional<int64_t>> Close(const std::string& key) {
    auto change = ClosePublishing(key, "");
    if (!change.ok()) return change.status();
    EXPECT_EQ(change->receivers, 0);
    return change->user;
  }
  absl::StatusOr<ClusterState::SessionChange> OpenPublishing(
      const std::string& key, int64_t user, int64_t expires_at_us,
      std::string close_user) {
    return Await<ClusterState::SessionChange>([&](auto done) {
      state_->OpenSession(key, user, expires_at_us, std::move(close_user),
                          std::move(done));
    });
  }
  absl::StatusOr<ClusterState::SessionChange> ClosePublishing(
      const std::string& key, std::string close_user) {
    return Await<ClusterState::SessionChange>([&](auto done) {
      state_->CloseSession(key, std::move(close_user), std::move(done));
    });
  }
  absl::StatusOr<std::optional<SessionInfo>> Lookup(const std::string& key,
                                                    int64_t now_us) {
    return Await<std::optional<SessionInfo>>([&](auto done) {
      state_->LookupSession(key, now_us, std::move(done));
    });
  }
  absl::StatusOr<ClusterState::Changed> Set(int64_t user,
                                            std::vector<int64_t> servers,
                                            std::string channel = "herald:x",
                                            std::string message = "set") {
    return Await<ClusterState::Changed>([&](auto done) {
      state_->SetMemberships(user, std::move(servers),
                             {std::move(channel), std::move(message)},
                             std::move(done));
    });
  }
  absl::StatusOr<ClusterState::Changed> Add(int64_t user, int64_t server,
                                            std::string channel = "herald:x",
                                            std::string message = "add") {
    return Await<ClusterState::Changed>([&](auto done) {
      state_->AddMembership(user, server,
                            {std::move(channel), std::move(message)},
                            std::move(done));
    });
  }
  std::vector<int64_t> ServersOf(int64_t user) {
    absl::StatusOr<std::vector<int64_t>> servers = Await<std::vector<int64_t>>(
        [&](auto done) { state_->ServersOf(user, std::move(done)); });
    EXPECT_TRUE(servers.ok()) << servers.status();
    return servers.ok() ? *servers : std::vector<int64_t>{};
  }
  ClusterState::Counts Counts() {
    absl::StatusOr<ClusterState::Counts> counts = Await<ClusterState::Counts>(
        [&](auto done) { state_->GetCounts(std::move(done)); });
    EXPECT_TRUE(counts.ok()) << counts.status();
    return counts.ok() ? *counts : ClusterState::Counts{};
  }
  void Grant(int64_t user, int64_t server, int64_t channel,
             std::optional<VoicePresence>* ended = nullptr) {
    absl::StatusOr<ClusterState::GrantResult> result =
        Await<ClusterState::GrantResult>([&](auto done) {
          state_->SetGrant(user, server, channel, std::move(done));
        });
    ASSERT_TRUE(result.ok()) << result.status();
    if (ended) *ended = result->ended;
  }
  absl::StatusOr<ClusterState::VoiceAdmit> Admit(const std::string& key,
                                                 int64_t channel,
                                                 const std::string& node,
                                                 uint64_t connection,
                                                 int64_t now_us = 0) {
    if (now_us == 0) now_us = NowMicros();
    return Await<ClusterState::VoiceAdmit>([&](auto done) {
      state_->AdmitVoice(key, channel, node, connection, now_us,
                         std::move(done));
    });
  }
  absl::StatusOr<std::vector<VoicePresence>> Presences(
      absl::AnyInvocable<void(ClusterState::Result<std::vector<VoicePresence>>)>
          call) {
    return Await<std::vector<VoicePresence>>(
        [&](auto done) { call(std::move(done)); });
  }
  std::map<int64_t, std::vector<int64_t>> State(int64_t server) {
    auto state = Await<std::map<int64_t, std::vector<int64_t>>>(
        [&](auto done) { state_->VoiceState(server, std::move(done)); });
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : std::map<int64_t, std::vector<int64_t>>{};
  }
  // A session for `user` whose key is returned.
  std::string SessionFor(int64_t user) {
    std::string key = state_->SessionKey("token-" + std::to_string(user));
    EXPECT_TRUE(Open(key, user).ok());
    return key;
  }

  std::unique_ptr<herald::testing::RedisServer> server_;
  redis::RedisUrl url_;
  std::atomic<int> connects_{0};
  RegistryLimits limits_;
  Inbox inbox_;
  std::unique_ptr<redis::RedisClient> client_, subscriber_;
  std::unique_ptr<ClusterState> state_;
};

// Init and SessionKey.

TEST_F(ClusterStateTest, SecretIsSharedAndKeysAreHmacs) {
  RedisReply secret = Command({"GET", "herald:secret"});
  ASSERT_EQ(secret.type, RedisReply::Type::kString);
  EXPECT_EQ(secret.str.size(), 32u);
  // A second node reads the first node's secret (SET NX): same keys.
  ClusterState other(*client_, limits_);
  ASSERT_TRUE(
      AwaitStatus([&](auto done) { other.Init(std::move(done)); }).ok());
  EXPECT_EQ(Command({"GET", "herald:secret"}).str, secret.str);
  EXPECT_EQ(other.SessionKey("tok"), state_->SessionKey("tok"));
  EXPECT_EQ(state_->SessionKey("tok").size(), 32u);
  EXPECT_NE(state_->SessionKey("tok"), state_->SessionKey("tok2"));
  // HMAC-SHA256(secret, token): RFC 4231 test case 2's key and data.
  Command({"SET", "herald:secret", "Jefe"});
  ClusterState jefe(*client_, limits_);
  ASSERT_TRUE(AwaitStatus([&](auto done) { jefe.Init(std::move(done)); }).ok());
  EXPECT_EQ(
      absl::BytesToHexString(jefe.SessionKey("what do ya want for nothing?")),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// Sessions.

TEST_F(ClusterStateTest, OpenLookupCloseSession) {
  const std::string key = state_->SessionKey("t1");
  EXPECT_EQ(*Open(key, 7), std::nullopt);
  auto info = Lookup(key, NowMicros());
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->user_id, 7);
  EXPECT_EQ((*info)->expires_at_us, 0);
  EXPECT_EQ(
      Command({"HGET", "herald:sess:" + absl::BytesToHexString(key), "u"}).str,
      "7");
  // Reopening returns the user the key named before.
  EXPECT_EQ(*Open(key, 8), std::optional<int64_t>(7));
  EXPECT_EQ((*Lookup(key, NowMicros()))->user_id, 8);
  EXPECT_EQ(*Close(key), std::optional<int64_t>(8));
  EXPECT_EQ(*Close(key), std::nullopt);
  EXPECT_EQ(*Lookup(key, NowMicros()), std::nullopt);
  EXPECT_EQ(Counts().sessions, 0);
}

// The close of a reassigned or closed session's sockets is published by
// the script itself, on the channel of the user whose sockets must go: a
// session never changes without it.
TEST_F(ClusterStateTest, SessionScriptsPublishTheClose) {
  Subscribe("herald:u:7");
  Subscribe("herald:u:8");
  const std::string key = state_->SessionKey("t1");
  // New key, then the same user again: nobody to close.
  auto change = OpenPublishing(key, 7, 0, "close-a");
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->user, std::nullopt);
  EXPECT_EQ(change->receivers, 0);
  change = OpenPublishing(key, 7, 0, "close-b");
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->user, std::optional<int64_t>(7));
  EXPECT_EQ(change->receivers, 0);
  EXPECT_EQ(Drain("herald:u:7"), Messages{});
  // Reassigned to user 8: user 7's channel gets the close.
  change = OpenPublishing(key, 8, 0, "close-c");
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->user, std::optional<int64_t>(7));
  EXPECT_EQ(change->receivers, 1);
  EXPECT_EQ(Drain("herald:u:7"), (Messages{{"herald:u:7", "close-c"}}));
  EXPECT_EQ(Drain("herald:u:8"), Messages{});
  // Closed: user 8's channel gets it; closing again publishes nothing.
  change = ClosePublishing(key, "close-d");
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->user, std::optional<int64_t>(8));
  EXPECT_EQ(change->receivers, 1);
  EXPECT_EQ(Drain("herald:u:8"), (Messages{{"herald:u:8", "close-d"}}));
  change = ClosePublishing(key, "close-e");
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->user, std::nullopt);
  EXPECT_EQ(change->receivers, 0);
  EXPECT_EQ(Drain("herald:u:8"), Messages{});
}

TEST_F(ClusterStateTest, SessionExpiry) {
  const std::string key = state_->SessionKey("t1");
  const int64_t expires = NowMicros() + 60'000'000;
  ASSERT_TRUE(Open(key, 7, expires).ok());
  auto live = Lookup(key, expires - 1);
  ASSERT_TRUE(live.ok() && live->has_value());
  EXPECT_EQ((*live)->expires_at_us, expires);
  EXPECT_EQ(*Lookup(key, expires), std::nullopt);  // expired at expires
  // Redis drops the key at the expiry (PEXPIREAT, rounded up to the ms).
  RedisReply at =
      Command({"PEXPIRETIME", "herald:sess:" + absl::BytesToHexString(key)});
  EXPECT_EQ(at.integer, (expires + 999) / 1000);
  // Reopened without expiry: persistent again.
  ASSERT_TRUE(Open(key, 7, 0).ok());
  EXPECT_EQ(
      Command({"PTTL", "herald:sess:" + absl::BytesToHexString(key)}).integer,
      -1);
  EXPECT_TRUE(Lookup(key, std::numeric_limits<int64_t>::max())->has_value());
  // A short expiry: the key is gone soon after.
  ASSERT_TRUE(Open(key, 7, NowMicros() + 50'000).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(*Lookup(key, 0), std::nullopt);
  EXPECT_EQ(*Close(key), std::nullopt);
}

TEST_F(ClusterStateTest, MaxSessions) {
  RegistryLimits limits = limits_;
  limits.max_sessions = 3;
  ClusterState state(*client_, limits);
  ASSERT_TRUE(
      AwaitStatus([&](auto done) { state.Init(std::move(done)); }).ok());
  auto open = [&](const std::string& token, int64_t user,
                  int64_t expires_at_us =
                      0) -> absl::StatusOr<std::optional<int64_t>> {
    auto change = Await<ClusterState::SessionChange>([&](auto done) {
      state.OpenSession(state.SessionKey(token), user, expires_at_us, "close",
                        std::move(done));
    });
    if (!change.ok()) return change.status();
    return change->user;
  };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(open(std::to_string(i), i + 1).ok());
  auto refused = open("x", 9);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "too many sessions (the limit is --max_sessions=3)");
  EXPECT_EQ(*Lookup(state.SessionKey("x"), NowMicros()), std::nullopt);
  // Reopening an existing key is not a new session.
  EXPECT_EQ(*open("0", 5), std::optional<int64_t>(1));
  EXPECT_EQ(Counts().sessions, 3);
  // An expired session does not count.
  ASSERT_TRUE(open("0", 5, NowMicros() + 20'000).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Counts().sessions, 2);
  EXPECT_TRUE(open("x", 9).ok());
  EXPECT_EQ(Counts().sessions, 3);
  EXPECT_EQ(open("y", 9).status().code(), absl::StatusCode::kResourceExhausted);
}

// Memberships.

TEST_F(ClusterStateTest, SetMembershipsDiffsAndPublishes) {
  Subscribe("herald:u:7");
  auto changed = Set(7, {102, 100, 101, 100}, "herald:u:7", "servers1");
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(changed->diff.added, ElementsAre(100, 101, 102));
  EXPECT_THAT(changed->diff.removed, IsEmpty());
  EXPECT_EQ(changed->receivers, 1);
  EXPECT_THAT(ServersOf(7), ElementsAre(100, 101, 102));
  // Nothing changes: nothing published.
  changed = Set(7, {100, 101, 102}, "herald:u:7", "servers2");
  ASSERT_TRUE(changed.ok());
  EXPECT_THAT(changed->diff.added, IsEmpty());
  EXPECT_THAT(changed->diff.removed, IsEmpty());
  EXPECT_EQ(changed->receivers, 0);
  changed = Set(7, {103, 100}, "herald:u:7", "servers3");
  ASSERT_TRUE(changed.ok());
  EXPECT_THAT(changed->diff.added, ElementsAre(103));
  EXPECT_THAT(changed->diff.removed, ElementsAre(101, 102));
  EXPECT_EQ(changed->receivers, 1);
  EXPECT_THAT(Drain("herald:u:7"), ElementsAre(Msg{"herald:u:7", "servers1"},
                                               Msg{"herald:u:7", "servers3"}));
  // Nobody subscribed: 0 receivers.
  changed = Set(8, {100});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->receivers, 0);
  EXPECT_EQ(Counts().memberships, 3);
  changed = Set(7, {});
  ASSERT_TRUE(changed.ok());
  EXPECT_THAT(changed->diff.removed, ElementsAre(100, 103));
  EXPECT_THAT(ServersOf(7), IsEmpty());
  EXPECT_EQ(Counts().memberships, 1);
  EXPECT_EQ(Command({"SMEMBERS", "herald:sm:100"}).elements.size(), 1u);
}

TEST_F(ClusterStateTest, SetMembershipsLimits) {
  Subscribe("herald:u:7");
  auto refused = Set(7, {1, 2, 3, 4}, "herald:u:7");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "user 7 would be a member of 4 servers (the limit is "
            "--max_memberships_per_user=3)");
  ASSERT_TRUE(Set(7, {1, 2, 3}).ok());
  ASSERT_TRUE(Set(8, {1, 2}).ok());
  refused = Set(9, {1, 2}, "herald:u:7");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "herald would hold 7 memberships (the limit is "
            "--max_memberships=6)");
  EXPECT_THAT(ServersOf(9), IsEmpty());
  EXPECT_EQ(Counts().memberships, 5);
  // Not growing is allowed at the limit; refusals published nothing.
  ASSERT_TRUE(Set(9, {1}).ok());
  auto swapped = Set(9, {2});
  ASSERT_TRUE(swapped.ok());
  EXPECT_THAT(swapped->diff.added, ElementsAre(2));
  EXPECT_THAT(swapped->diff.removed, ElementsAre(1));
  EXPECT_THAT(Drain("herald:u:7"), IsEmpty());
  // Above a lowered limit (6 held, limit 4) shrinking is still allowed.
  RegistryLimits lowered = limits_;
  lowered.max_memberships = 4;
  ClusterState state(*client_, lowered);
  auto set = [&](int64_t user, std::vector<int64_t> servers) {
    return Await<ClusterState::Changed>([&](auto done) {
      state.SetMemberships(user, std::move(servers), {"herald:x", "m"},
                           std::move(done));
    });
  };
  EXPECT_TRUE(set(7, {1, 2}).ok());
  EXPECT_TRUE(set(7, {1, 3}).ok());
  EXPECT_EQ(set(7, {1, 2, 3}).status().message(),
            "herald would hold 6 memberships (the limit is "
            "--max_memberships=4)");
  EXPECT_THAT(ServersOf(7), ElementsAre(1, 3));
}

TEST_F(ClusterStateTest, AddMembership) {
  Subscribe("herald:u:7");
  auto added = Add(7, 100, "herald:u:7", "join");
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_THAT(added->diff.added, ElementsAre(100));
  EXPECT_EQ(added->receivers, 1);
  // Already a member: no change, nothing published.
  added = Add(7, 100, "herald:u:7", "again");
  ASSERT_TRUE(added.ok());
  EXPECT_THAT(added->diff.added, IsEmpty());
  EXPECT_EQ(added->receivers, 0);
  ASSERT_TRUE(Add(7, 101).ok());
  ASSERT_TRUE(Add(7, 102).ok());
  auto refused = Add(7, 103, "herald:u:7");
  EXPECT_EQ(refused.status().message(),
            "user 7 would be a member of 4 servers (the limit is "
            "--max_memberships_per_user=3)");
  ASSERT_TRUE(Set(8, {100, 101, 102}).ok());
  refused = Add(9, 100, "herald:u:7");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "herald would hold 7 memberships (the limit is "
            "--max_memberships=6)");
  EXPECT_THAT(ServersOf(9), IsEmpty());
  EXPECT_THAT(ServersOf(7), ElementsAre(100, 101, 102));
  EXPECT_EQ(Counts().memberships, 6);
  EXPECT_THAT(Drain("herald:u:7"), ElementsAre(Msg{"herald:u:7", "join"}));
}

TEST_F(ClusterStateTest, RemoveMembershipPublishesEvenForNonMembers) {
  Subscribe("herald:s:100");
  ASSERT_TRUE(Set(7, {100, 101}).ok());
  auto removed = Await<ClusterState::Published>([&](auto done) {
    state_->RemoveMembership(7, 100, {"herald:s:100", "left"}, std::move(done));
  });
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->receivers, 1);
  EXPECT_THAT(ServersOf(7), ElementsAre(101));
  removed = Await<ClusterState::Published>([&](auto done) {
    state_->RemoveMembership(7, 100, {"herald:s:100", "left again"},
                             std::move(done));
  });
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->receivers, 1);
  EXPECT_EQ(Counts().memberships, 1);
  EXPECT_THAT(Drain("herald:s:100"),
              ElementsAre(Msg{"herald:s:100", "left"},
                          Msg{"herald:s:100", "left again"}));
}

TEST_F(ClusterStateTest, ReceiversCountEverySubscribedClient) {
  Inbox second_inbox;
  std::unique_ptr<redis::RedisClient> second = StartClient(&second_inbox);
  Subscribe("herald:s:1");
  ASSERT_TRUE(AwaitStatus([&](auto done) {
                second->Subscribe("herald:s:1", std::move(done));
              }).ok());
  auto removed = Await<ClusterState::Published>([&](auto done) {
    state_->RemoveMembership(7, 1, {"herald:s:1", "left"}, std::move(done));
  });
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->receivers, 2);
  EXPECT_THAT(second_inbox.WaitFor(1), ElementsAre(Msg{"herald:s:1", "left"}));
  EXPECT_THAT(Drain("herald:s:1"), ElementsAre(Msg{"herald:s:1", "left"}));
}

TEST_F(ClusterStateTest, DropServer) {
  Subscribe("herald:s:100");
  ASSERT_TRUE(Set(7, {100, 101}).ok());
  ASSERT_TRUE(Set(8, {100}).ok());
  auto dropped = Await<ClusterState::Published>([&](auto done) {
    state_->DropServer(100, {"herald:s:100", "deleted"}, std::move(done));
  });
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->receivers, 1);
  EXPECT_THAT(ServersOf(7), ElementsAre(101));
  EXPECT_THAT(ServersOf(8), IsEmpty());
  EXPECT_EQ(Counts().memberships, 1);
  EXPECT_EQ(Command({"EXISTS", "herald:sm:100"}).integer, 0);
  // Dropping an empty server still publishes.
  dropped = Await<ClusterState::Published>([&](auto done) {
    state_->DropServer(100, {"herald:s:100", "again"}, std::move(done));
  });
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->receivers, 1);
  EXPECT_EQ(Counts().memberships, 1);
  EXPECT_THAT(Drain("herald:s:100"), ElementsAre(Msg{"herald:s:100", "deleted"},
                                                 Msg{"herald:s:100", "again"}));
}

TEST_F(ClusterStateTest, SnapshotServersPublishesTheMarker) {
  Subscribe("herald:u:7");
  ASSERT_TRUE(Set(7, {5, 3}).ok());
  auto servers = Await<std::vector<int64_t>>([&](auto done) {
    state_->SnapshotServers(7, {"herald:u:7", "marker"}, std::move(done));
  });
  ASSERT_TRUE(servers.ok()) << servers.status();
  EXPECT_THAT(*servers, ElementsAre(3, 5));
  EXPECT_THAT(Drain("herald:u:7"), ElementsAre(Msg{"herald:u:7", "marker"}));
}

TEST_F(ClusterStateTest, IdsBeyondDoublePrecision) {
  // 2^53 + 1 and INT64_MAX would be rounded by a Lua number.
  const int64_t big = (int64_t{1} << 53) + 1;
  const int64_t max = std::numeric_limits<int64_t>::max();
  auto changed = Set(max, {big, big - 2, max});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(changed->diff.added, ElementsAre(big - 2, big, max));
  EXPECT_THAT(ServersOf(max), ElementsAre(big - 2, big, max));
  const std::string key = SessionFor(max);
  Grant(max, big, big + 2);
  auto admit = Admit(key, big + 2, "n", std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(admit.ok()) << admit.status();
  EXPECT_EQ(admit->refusal_code, 0);
  EXPECT_EQ(admit->user_id, max);
  EXPECT_EQ(admit->server_id, big);
  EXPECT_EQ(Admit(key, big, "n", 1)->refusal_code, 4003);
  auto ended = Presences(
      [&](auto done) { state_->EndForChannel(big, big + 2, std::move(done)); });
  ASSERT_TRUE(ended.ok());
  EXPECT_THAT(*ended,
              ElementsAre(IsPresence(max, big, big + 2, "n",
                                     std::numeric_limits<uint64_t>::max())));
}

// Voice.

TEST_F(ClusterStateTest, AdmitVoiceRefusals) {
  auto refused = Admit(state_->SessionKey("nobody"), 5, "n1", 1);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->refusal_code, 4001);
  const std::string key = SessionFor(7);
  EXPECT_EQ(Admit(key, 5, "n1", 1)->refusal_code, 4003);  // no grant
  Grant(7, 100, 5);
  EXPECT_EQ(Admit(key, 6, "n1", 1)->refusal_code, 4003);  // other channel
  // Expired at now_us.
  const int64_t expires = NowMicros() + 60'000'000;
  ASSERT_TRUE(Open(key, 7, expires).ok());
  EXPECT_EQ(Admit(key, 5, "n1", 1, expires)->refusal_code, 4001);
  EXPECT_EQ(Admit(key, 5, "n1", 1, expires - 1)->refusal_code, 0);
  EXPECT_EQ(State(100), (VoiceMap{{5, {7}}}));
}

// The admission answers the session's expiry (SessionExpiryCloser closes
// voice connections on expired sessions too).
TEST_F(ClusterStateTest, AdmitVoiceAnswersTheSessionExpiry) {
  const std::string key = state_->SessionKey("expiring");
  const int64_t expires = NowMicros() + 60'000'000;
  ASSERT_TRUE(Open(key, 7, expires).ok());
  Grant(7, 100, 5);
  auto admit = Admit(key, 5, "n1", 11);
  ASSERT_TRUE(admit.ok()) << admit.status();
  EXPECT_EQ(admit->refusal_code, 0);
  EXPECT_EQ(admit->expires_at_us, expires);
  // With a replaced presence behind it.
  admit = Admit(key, 5, "n1", 12);
  ASSERT_TRUE(admit.ok());
  EXPECT_EQ(admit->expires_at_us, expires);
  ASSERT_TRUE(admit->replaced.has_value());
  EXPECT_THAT(*admit->replaced, IsPresence(7, 100, 5, "n1", 11));
}

TEST_F(ClusterStateTest, AdmitVoiceReplaces) {
  const std::string key = SessionFor(7);
  Grant(7, 100, 5);
  auto first = Admit(key, 5, "n1", 11);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->refusal_code, 0);
  EXPECT_EQ(first->user_id, 7);
  EXPECT_EQ(first->server_id, 100);
  EXPECT_EQ(first->replaced, std::nullopt);
  EXPECT_FALSE(first->same_place);
  EXPECT_EQ(first->expires_at_us, 0);  // the session never expires
  // The same channel from another node: replaced, same place.
  auto second = Admit(key, 5, "n2", 12);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->replaced.has_value());
  EXPECT_THAT(*second->replaced, IsPresence(7, 100, 5, "n1", 11));
  EXPECT_TRUE(second->same_place);
  // The old connection's close changes nothing now.
  auto closed = Await<std::optional<VoicePresence>>(
      [&](auto done) { state_->VoiceClosed(7, "n1", 11, std::move(done)); });
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(*closed, std::nullopt);
  // Another channel (a new grant moved the user; the grant ended n2/12).
  std::optional<VoicePresence> ended;
  Grant(7, 101, 6, &ended);
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended, IsPresence(7, 100, 5, "n2", 12));
  EXPECT_THAT(State(100), IsEmpty());
  ASSERT_TRUE(Admit(key, 6, "n2", 13).ok());
  // Replaced in another place: same_place false.
  Command({"HSET", "herald:grant:7", "s", "100", "c", "5"});
  Command({"SREM", "herald:sg:101", "7"});
  Command({"SADD", "herald:sg:100", "7"});
  auto moved = Admit(key, 5, "n1", 14);
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(moved->replaced.has_value());
  EXPECT_THAT(*moved->replaced, IsPresence(7, 101, 6, "n2", 13));
  EXPECT_FALSE(moved->same_place);
  EXPECT_THAT(State(101), IsEmpty());
  EXPECT_EQ(State(100), (VoiceMap{{5, {7}}}));
  closed = Await<std::optional<VoicePresence>>(
      [&](auto done) { state_->VoiceClosed(7, "n1", 14, std::move(done)); });
  ASSERT_TRUE(closed.ok() && closed->has_value());
  EXPECT_THAT(**closed, IsPresence(7, 100, 5, "n1", 14));
  EXPECT_THAT(State(100), IsEmpty());
  // The grant stays after the connection closed.
  EXPECT_EQ(Counts().grants, 1);
}

TEST_F(ClusterStateTest, SetGrantKeepsPresenceInTheSamePlace) {
  const std::string key = SessionFor(7);
  Grant(7, 100, 5);
  ASSERT_TRUE(Admit(key, 5, "n1", 1).ok());
  std::optional<VoicePresence> ended;
  Grant(7, 100, 5, &ended);
  EXPECT_EQ(ended, std::nullopt);
  EXPECT_EQ(Counts().grants, 1);
  // Same channel id in another server is another place.
  Grant(7, 200, 5, &ended);
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended, IsPresence(7, 100, 5, "n1", 1));
  EXPECT_EQ(Counts().grants, 1);
  EXPECT_EQ(Command({"SISMEMBER", "herald:sg:100", "7"}).integer, 0);
  EXPECT_EQ(Command({"SISMEMBER", "herald:sg:200", "7"}).integer, 1);
}

TEST_F(ClusterStateTest, Leave) {
  auto left = Await<ClusterState::LeaveResult>(
      [&](auto done) { state_->Leave(7, std::move(done)); });
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_FALSE(left->existed);
  Grant(7, 100, 5);
  left = Await<ClusterState::LeaveResult>(
      [&](auto done) { state_->Leave(7, std::move(done)); });
  EXPECT_TRUE(left->existed);
  EXPECT_EQ(left->ended, std::nullopt);
  EXPECT_EQ(Counts().grants, 0);
  const std::string key = SessionFor(7);
  Grant(7, 100, 5);
  ASSERT_TRUE(Admit(key, 5, "n1", 1).ok());
  left = Await<ClusterState::LeaveResult>(
      [&](auto done) { state_->Leave(7, std::move(done)); });
  EXPECT_TRUE(left->existed);
  ASSERT_TRUE(left->ended.has_value());
  EXPECT_THAT(*left->ended, IsPresence(7, 100, 5, "n1", 1));
  EXPECT_EQ(Admit(key, 5, "n1", 2)->refusal_code, 4003);
  EXPECT_THAT(State(100), IsEmpty());
}

TEST_F(ClusterStateTest, EndForUserInServer) {
  const std::string key = SessionFor(7);
  Grant(7, 100, 5);
  ASSERT_TRUE(Admit(key, 5, "n1", 1).ok());
  auto ended = Presences(
      [&](auto done) { state_->EndForUserInServer(7, 999, std::move(done)); });
  ASSERT_TRUE(ended.ok());
  EXPECT_THAT(*ended, IsEmpty());
  EXPECT_EQ(Counts().grants, 1);
  ended = Presences(
      [&](auto done) { state_->EndForUserInServer(7, 100, std::move(done)); });
  ASSERT_TRUE(ended.ok());
  EXPECT_THAT(*ended, ElementsAre(IsPresence(7, 100, 5, "n1", 1)));
  EXPECT_EQ(Counts().grants, 0);
  // A grant without presence is removed too.
  Grant(7, 100, 5);
  ended = Presences(
      [&](auto done) { state_->EndForUserInServer(7, 100, std::move(done)); });
  EXPECT_THAT(*ended, IsEmpty());
  EXPECT_EQ(Counts().grants, 0);
}

TEST_F(ClusterStateTest, EndForChannelAndServer) {
  std::vector<std::string> keys;
  for (int64_t user : {23, 21, 22, 24}) keys.push_back(SessionFor(user));
  Grant(23, 100, 1);
  Grant(21, 100, 1);
  Grant(22, 100, 2);
  Grant(24, 200, 1);
  ASSERT_EQ(Admit(keys[0], 1, "n1", 3)->refusal_code, 0);
  ASSERT_EQ(Admit(keys[1], 1, "n2", 1)->refusal_code, 0);
  ASSERT_EQ(Admit(keys[2], 2, "n1", 2)->refusal_code, 0);
  ASSERT_EQ(Admit(keys[3], 1, "n1", 4)->refusal_code, 0);
  EXPECT_EQ(State(100), (VoiceMap{{1, {21, 23}}, {2, {22}}}));
  auto ended = Presences(
      [&](auto done) { state_->EndForChannel(100, 1, std::move(done)); });
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_THAT(*ended, ElementsAre(IsPresence(21, 100, 1, "n2", 1),
                                  IsPresence(23, 100, 1, "n1", 3)));
  EXPECT_EQ(Counts().grants, 2);
  EXPECT_EQ(Admit(keys[0], 1, "n1", 5)->refusal_code, 4003);
  Grant(21, 100, 3);
  ended =
      Presences([&](auto done) { state_->EndForServer(100, std::move(done)); });
  ASSERT_TRUE(ended.ok());
  EXPECT_THAT(*ended, ElementsAre(IsPresence(22, 100, 2, "n1", 2)));
  EXPECT_EQ(Counts().grants, 1);  // 24's, in server 200
  EXPECT_THAT(State(100), IsEmpty());
  EXPECT_EQ(State(200), (VoiceMap{{1, {24}}}));
}

// Nodes.

TEST_F(ClusterStateTest, ReapDeadNodes) {
  std::vector<std::string> keys;
  for (int64_t user : {3, 1, 2}) {
    keys.push_back(SessionFor(user));
    Grant(user, 100, 5);
  }
  auto heartbeat = [&](const std::string& node, int64_t ttl_ms) {
    return AwaitStatus(
        [&](auto done) { state_->Heartbeat(node, ttl_ms, std::move(done)); });
  };
  ASSERT_TRUE(heartbeat("short", 60'000).ok());
  ASSERT_TRUE(heartbeat("long", 60'000).ok());
  ASSERT_EQ(Admit(keys[0], 5, "short", 30)->refusal_code, 0);
  ASSERT_EQ(Admit(keys[1], 5, "short", 10)->refusal_code, 0);
  ASSERT_EQ(Admit(keys[2], 5, "long", 20)->refusal_code, 0);
  auto reaped =
      Presences([&](auto done) { state_->ReapDeadNodes(std::move(done)); });
  ASSERT_TRUE(reaped.ok()) << reaped.status();
  EXPECT_THAT(*reaped, IsEmpty());
  // The last heartbeat of "short" lives 50 ms.
  ASSERT_TRUE(heartbeat("short", 50).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  reaped =
      Presences([&](auto done) { state_->ReapDeadNodes(std::move(done)); });
  ASSERT_TRUE(reaped.ok());
  EXPECT_THAT(*reaped, ElementsAre(IsPresence(1, 100, 5, "short", 10),
                                   IsPresence(3, 100, 5, "short", 30)));
  // Each presence is reaped once.
  reaped =
      Presences([&](auto done) { state_->ReapDeadNodes(std::move(done)); });
  EXPECT_THAT(*reaped, IsEmpty());
  EXPECT_EQ(State(100), (VoiceMap{{5, {2}}}));
  RedisReply nodes = Command({"SMEMBERS", "herald:nodes"});
  ASSERT_EQ(nodes.elements.size(), 1u);
  EXPECT_EQ(nodes.elements[0].str, "long");
  EXPECT_EQ(Command({"EXISTS", "herald:vpn:short"}).integer, 0);
  // Grants survive the reap.
  EXPECT_EQ(Counts().grants, 3);
  // A node holding presence without ever sending a heartbeat is dead.
  ASSERT_EQ(Admit(keys[1], 5, "silent", 40)->refusal_code, 0);
  reaped =
      Presences([&](auto done) { state_->ReapDeadNodes(std::move(done)); });
  EXPECT_THAT(*reaped, ElementsAre(IsPresence(1, 100, 5, "silent", 40)));
}

TEST_F(ClusterStateTest, HeartbeatTtlAndLeaveCluster) {
  ASSERT_TRUE(AwaitStatus([&](auto done) {
                state_->Heartbeat("n1", 60'000, std::move(done));
              }).ok());
  RedisReply ttl = Command({"PTTL", "herald:node:n1"});
  EXPECT_GT(ttl.integer, 59'000);
  EXPECT_LE(ttl.integer, 60'000);
  const std::string key = SessionFor(7);
  Grant(7, 100, 5);
  ASSERT_EQ(Admit(key, 5, "n1", 1)->refusal_code, 0);
  auto left = Presences(
      [&](auto done) { state_->LeaveCluster("n1", std::move(done)); });
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_THAT(*left, ElementsAre(IsPresence(7, 100, 5, "n1", 1)));
  EXPECT_EQ(Command({"EXISTS", "herald:node:n1"}).integer, 0);
  EXPECT_EQ(Command({"SCARD", "herald:nodes"}).integer, 0);
  EXPECT_THAT(State(100), IsEmpty());
  left = Presences(
      [&](auto done) { state_->LeaveCluster("n1", std::move(done)); });
  EXPECT_THAT(*left, IsEmpty());
}

TEST_F(ClusterStateTest, CountsAndTheKeySchema) {
  const std::string key = SessionFor(7);
  ASSERT_TRUE(Set(7, {100, 101}).ok());
  Grant(7, 100, 5);
  ASSERT_EQ(Admit(key, 5, "n1", 9)->refusal_code, 0);
  ClusterState::Counts counts = Counts();
  EXPECT_EQ(counts.sessions, 1);
  EXPECT_EQ(counts.memberships, 2);
  EXPECT_EQ(counts.grants, 1);
  EXPECT_EQ(Command({"GET", "herald:memberships"}).str, "2");
  EXPECT_EQ(Command({"GET", "herald:grants"}).str, "1");
  RedisReply vp = Command({"HMGET", "herald:vp:7", "s", "c", "n", "id"});
  ASSERT_EQ(vp.elements.size(), 4u);
  EXPECT_EQ(vp.elements[0].str, "100");
  EXPECT_EQ(vp.elements[1].str, "5");
  EXPECT_EQ(vp.elements[2].str, "n1");
  EXPECT_EQ(vp.elements[3].str, "9");
  EXPECT_EQ(Command({"SISMEMBER", "herald:vps:100", "7"}).integer, 1);
  EXPECT_EQ(Command({"SISMEMBER", "herald:vpn:n1", "7"}).integer, 1);
  EXPECT_EQ(Command({"HGET", "herald:grant:7", "c"}).str, "5");
  EXPECT_EQ(Command({"SISMEMBER", "herald:sg:100", "7"}).integer, 1);
  EXPECT_EQ(Command({"SISMEMBER", "herald:um:7", "101"}).integer, 1);
  EXPECT_EQ(Command({"SISMEMBER", "herald:sm:101", "7"}).integer, 1);
  EXPECT_EQ(
      Command({"ZSCORE", "herald:sessions", absl::BytesToHexString(key)}).str,
      "inf");
}

TEST_F(ClusterStateTest, RedisDownIsUnavailable) {
  ASSERT_TRUE(Set(7, {1}).ok());
  ASSERT_TRUE(server_->Stop().ok());
  // Failed at once (or when the connection drops): UNAVAILABLE.
  absl::StatusOr<ClusterState::Changed> down;
  for (int i = 0; i < 100; ++i) {
    down = Set(7, {2});
    if (!down.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable)
      << down.status();
  auto lookup = Lookup(state_->SessionKey("t"), NowMicros());
  EXPECT_EQ(lookup.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(AwaitStatus([&](auto done) {
              state_->Heartbeat("n1", 1000, std::move(done));
            }).code(),
            absl::StatusCode::kUnavailable);
  // Back (empty: no persistence): the scripts are sent again (NOSCRIPT).
  ASSERT_TRUE(server_->Restart().ok());
  for (int i = 0; i < 500 && connects_ < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(connects_, 2);
  auto changed = Set(7, {2});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(changed->diff.added, ElementsAre(2));
  EXPECT_THAT(changed->diff.removed, IsEmpty());
}

TEST_F(ClusterStateTest, ScriptsSurviveAFlush) {
  ASSERT_TRUE(Set(7, {1}).ok());
  Command({"SCRIPT", "FLUSH"});  // NOSCRIPT: the client sends them again
  auto changed = Set(7, {2});
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(changed->diff.added, ElementsAre(2));
}

}  // namespace
}  // namespace herald::service::cluster
