#include "service/cluster/cluster_bus.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/clock.h"
#include "service/translator.h"
#include "tests/service/cluster_test_support.h"

namespace herald::service::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace cluster_test;  // NOLINT: the cluster test support

// A channel nobody subscribes: state changes the bus does not hear of.
constexpr char kVoid[] = "herald:test:void";

void Seed(Node& node, int64_t user_id, int64_t server_id) {
  auto changed = Call<absl::StatusOr<ClusterState::Changed>>([&](auto done) {
    node.state().AddMembership(user_id, server_id, Notify{kVoid, "x"},
                               std::move(done));
  });
  ASSERT_TRUE(changed.ok()) << changed.status();
}

void Unseed(Node& node, int64_t user_id, int64_t server_id) {
  auto removed = Call<absl::StatusOr<ClusterState::Published>>([&](auto done) {
    node.state().RemoveMembership(user_id, server_id, Notify{kVoid, "x"},
                                  std::move(done));
  });
  ASSERT_TRUE(removed.ok()) << removed.status();
}

push::Delivery Event(std::string payload, int64_t server_id) {
  push::Delivery d;
  d.payload = std::move(payload);
  d.server_id = server_id;
  return d;
}

// user_joined: AddMembership notifying the user's channel (phase 1), as
// ClusterControlPlane does; returns the acked recipients.
uint32_t JoinAndAwait(Node& node, int64_t user_id, int64_t server_id) {
  push::Delivery d;
  d.before.push_back(Add(user_id, server_id));
  ClusterBus::Outgoing out = node.bus().EncodeDeliver(d);
  auto changed = Call<absl::StatusOr<ClusterState::Changed>>([&](auto done) {
    node.state().AddMembership(
        user_id, server_id,
        Notify{ClusterBus::UserChannel(user_id), std::move(out.bytes)},
        std::move(done));
  });
  EXPECT_TRUE(changed.ok()) << changed.status();
  if (!changed.ok()) return 0;
  return Call<uint32_t>([&](auto done) {
    node.bus().AwaitAcks(out.request_id, changed->receivers, std::move(done));
  });
}

TEST(ClusterBusTest, ChannelNames) {
  EXPECT_EQ(ClusterBus::ServerChannel(42), "herald:s:42");
  EXPECT_EQ(ClusterBus::UserChannel(7), "herald:u:7");
  EXPECT_EQ(ClusterBus::NodeChannel("ab"), "herald:n:ab");
}

TEST(ClusterBusTest, NodeIdsAreRandomPerStart) {
  RedisServer server;
  Node a(server), b(server);
  EXPECT_EQ(a.bus().node_id().size(), 32u);
  EXPECT_NE(a.bus().node_id(), b.bus().node_id());
  EXPECT_EQ(a.Subscribers(ClusterBus::NodeChannel(a.bus().node_id())), 1);
}

TEST(ClusterBusTest, EventReachesEachNodeOnceAndAcksSumRecipients) {
  RedisServer server;
  Node a(server), b(server), c(server);
  Seed(a, 1, 10);
  Seed(a, 2, 10);
  b.router().Connect(1, {10}, /*connections=*/2);
  a.router().Connect(2, {10});
  ASSERT_THAT(b.Admit(1).value(), ElementsAre(10));
  ASSERT_THAT(a.Admit(2).value(), ElementsAre(10));
  EXPECT_EQ(a.Subscribers(ClusterBus::ServerChannel(10)), 2);

  auto recipients = c.Publish(ClusterBus::ServerChannel(10),
                              c.bus().EncodeDeliver(Event("{\"e\":1}", 10)));
  ASSERT_TRUE(recipients.ok()) << recipients.status();
  EXPECT_EQ(*recipients, 3u);
  EXPECT_THAT(b.router().payloads(), ElementsAre("{\"e\":1}"));
  EXPECT_THAT(a.router().payloads(), ElementsAre("{\"e\":1}"));
  EXPECT_THAT(c.router().payloads(), IsEmpty());  // not subscribed
  EXPECT_EQ(c.bus().stats().acks_in, 2u);
  EXPECT_EQ(c.bus().stats().ack_timeouts, 0u);

  // The publisher's own connections count too (its ack is local).
  recipients = a.Publish(ClusterBus::ServerChannel(10),
                         a.bus().EncodeDeliver(Event("{\"e\":2}", 10)));
  EXPECT_EQ(recipients.value(), 3u);
  EXPECT_THAT(a.router().payloads(), ElementsAre("{\"e\":1}", "{\"e\":2}"));
}

// A Publish and a ClusterState script made one after the other from one
// thread reach Redis, and so every node, in that order.
TEST(ClusterBusTest, PublishKeepsTheCallersOrderWithScripts) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  b.router().Connect(1, {10});
  ASSERT_TRUE(b.Admit(1).ok());
  for (int i = 0; i < 20; ++i) {
    const std::string first = "first" + std::to_string(i);
    const std::string second = "second" + std::to_string(i);
    std::promise<absl::StatusOr<uint32_t>> published;
    a.bus().Publish(
        ClusterBus::ServerChannel(10), a.bus().EncodeDeliver(Event(first, 10)),
        [&](absl::StatusOr<uint32_t> r) { published.set_value(r); });
    auto removed =
        Call<absl::StatusOr<ClusterState::Published>>([&](auto done) {
          a.state().RemoveMembership(
              2, 10,
              Notify{ClusterBus::ServerChannel(10),
                     a.bus().EncodeDeliver(Event(second, 10)).bytes},
              std::move(done));
        });
    ASSERT_TRUE(removed.ok());
    published.get_future().wait();
    ASSERT_TRUE(Eventually([&] { return b.router().payloads().size() == 2; }));
    EXPECT_THAT(b.router().payloads(), ElementsAre(first, second));
    b.router().Join();
    b.router().ClearRoutes();
  }
}

TEST(ClusterBusTest, NobodySubscribedCompletesAtOnce) {
  RedisServer server;
  Node a(server);
  auto recipients = a.Publish(ClusterBus::ServerChannel(99),
                              a.bus().EncodeDeliver(Event("{}", 99)));
  EXPECT_EQ(recipients.value(), 0u);
}

TEST(ClusterBusTest, AckTimeoutAnswersWhatWasCounted) {
  RedisServer server;
  ClusterBusOptions options;
  options.ack_timeout = std::chrono::milliseconds(100);
  Node a(server, options);
  const auto start = std::chrono::steady_clock::now();
  const uint32_t recipients = Call<uint32_t>([&](auto done) {
    a.bus().AwaitAcks(/*request_id=*/12345, /*receivers=*/2, std::move(done));
  });
  EXPECT_EQ(recipients, 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(100));
  EXPECT_EQ(a.bus().stats().ack_timeouts, 1u);
}

TEST(ClusterBusTest, MembershipAddSubscribesBeforeItsAck) {
  RedisServer server;
  Node a(server), b(server);
  b.router().Connect(1, {});
  ASSERT_THAT(b.Admit(1).value(), IsEmpty());
  JoinAndAwait(a, 1, 20);
  // Acked, so the new server channel is subscribed: phase 2 reaches b.
  EXPECT_EQ(a.Subscribers(ClusterBus::ServerChannel(20)), 1);
  auto recipients = a.Publish(ClusterBus::ServerChannel(20),
                              a.bus().EncodeDeliver(Event("joined", 20)));
  EXPECT_EQ(recipients.value(), 1u);
  EXPECT_THAT(b.router().payloads(), ElementsAre("joined"));
  EXPECT_THAT(b.router().servers_of(1), ElementsAre(20));
  EXPECT_THAT(b.Admit(1).value(), ElementsAre(20));  // from the cache
}

TEST(ClusterBusTest, UnsubscribesWhenTheLastLocalMemberLeaves) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  Seed(a, 2, 10);
  ASSERT_TRUE(b.Admit(1).ok());
  ASSERT_TRUE(b.Admit(1).ok());  // a second connection of the user
  ASSERT_TRUE(b.Admit(2).ok());
  EXPECT_EQ(b.bus().stats().server_channels, 1u);
  EXPECT_EQ(b.bus().stats().user_channels, 2u);

  b.bus().ReleaseUser(1);
  b.Sync();
  EXPECT_EQ(b.bus().stats().user_channels, 2u);
  b.bus().ReleaseUser(1);
  EXPECT_TRUE(Eventually(
      [&] { return a.Subscribers(ClusterBus::UserChannel(1)) == 0; }));
  EXPECT_EQ(a.Subscribers(ClusterBus::ServerChannel(10)), 1);  // user 2
  b.bus().ReleaseUser(2);
  EXPECT_TRUE(Eventually(
      [&] { return a.Subscribers(ClusterBus::ServerChannel(10)) == 0; }));
  EXPECT_EQ(b.bus().stats().server_channels, 0u);
  EXPECT_EQ(b.bus().stats().user_channels, 0u);
}

TEST(ClusterBusTest, UserLeftRemovesServerChannelAfterTheEvent) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  b.router().Connect(1, {10});
  ASSERT_TRUE(b.Admit(1).ok());
  // user_left: the event goes to the members including the leaver, then
  // the membership ends (after Remove).
  push::Delivery d = Event("left", 10);
  d.after.push_back(Remove(1, 10));
  ClusterBus::Outgoing out = a.bus().EncodeDeliver(d);
  auto published =
      Call<absl::StatusOr<ClusterState::Published>>([&](auto done) {
        a.state().RemoveMembership(
            1, 10, Notify{ClusterBus::ServerChannel(10), std::move(out.bytes)},
            std::move(done));
      });
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(Call<uint32_t>([&](auto done) {
              a.bus().AwaitAcks(out.request_id, published->receivers,
                                std::move(done));
            }),
            1u);
  EXPECT_THAT(b.router().servers_of(1), IsEmpty());
  EXPECT_TRUE(Eventually(
      [&] { return a.Subscribers(ClusterBus::ServerChannel(10)) == 0; }));
}

TEST(ClusterBusTest, SetServersReplacesAndRoutesTheDifference) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  b.router().Connect(1, {10});
  ASSERT_TRUE(b.Admit(1).ok());
  ClusterBus::Outgoing out = a.bus().EncodeSetServers(1, {11, 12});
  auto changed = Call<absl::StatusOr<ClusterState::Changed>>([&](auto done) {
    a.state().SetMemberships(
        1, {11, 12}, Notify{ClusterBus::UserChannel(1), std::move(out.bytes)},
        std::move(done));
  });
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_EQ(changed->receivers, 1);
  Call<uint32_t>([&](auto done) {
    a.bus().AwaitAcks(out.request_id, changed->receivers, std::move(done));
  });
  EXPECT_THAT(b.router().servers_of(1), ElementsAre(11, 12));
  EXPECT_EQ(a.Subscribers(ClusterBus::ServerChannel(11)), 1);
  EXPECT_EQ(a.Subscribers(ClusterBus::ServerChannel(12)), 1);
  EXPECT_TRUE(Eventually(
      [&] { return a.Subscribers(ClusterBus::ServerChannel(10)) == 0; }));
}

TEST(ClusterBusTest, CloseUserAndCloseConnectionReachTheRouter) {
  RedisServer server;
  Node a(server), b(server);
  ASSERT_TRUE(b.Admit(3).ok());
  auto recipients =
      a.Publish(ClusterBus::UserChannel(3),
                a.bus().EncodeCloseUser(3, "key", 4004, "session closed"));
  EXPECT_EQ(recipients.value(), 0u);
  ASSERT_EQ(b.router().closed_users().size(), 1u);
  EXPECT_EQ(b.router().closed_users()[0].user_id, 3);
  EXPECT_EQ(b.router().closed_users()[0].token, "key");
  EXPECT_EQ(b.router().closed_users()[0].code, 4004);
  EXPECT_EQ(b.router().closed_users()[0].reason, "session closed");

  // user 0: the user of the channel it arrives on (the session scripts'
  // form).
  ASSERT_TRUE(
      a.Publish(ClusterBus::UserChannel(3),
                a.bus().EncodeCloseUser(0, "key2", 4004, "session closed"))
          .ok());
  ASSERT_EQ(b.router().closed_users().size(), 2u);
  EXPECT_EQ(b.router().closed_users()[1].user_id, 3);
  EXPECT_EQ(b.router().closed_users()[1].token, "key2");

  a.bus().CloseConnectionOn(b.bus().node_id(), 77, 4005, "replaced");
  ASSERT_TRUE(Eventually([&] { return b.router().closed().size() == 1; }));
  EXPECT_EQ(b.router().closed()[0].id, 77u);
  EXPECT_EQ(b.router().closed()[0].code, 4005);
  a.bus().CloseConnectionOn(a.bus().node_id(), 78, 4005, "local");
  ASSERT_EQ(a.router().closed().size(), 1u);  // locally, at once
  EXPECT_EQ(a.router().closed()[0].id, 78u);
}

// An admission races with membership changes of the same user made by
// another node, on the user's channel (join) and on a server channel the
// admitting node has not subscribed yet (leave): whatever the order, the
// admitted node ends with the user's true servers, subscribed.
TEST(ClusterBusTest, AdmissionSnapshotWithConcurrentMembershipChanges) {
  RedisServer server;
  Node a(server), b(server);
  for (int64_t user = 1; user <= 25; ++user) {
    const int64_t old_server = 1000 + user, new_server = 2000 + user;
    Seed(a, user, old_server);
    std::promise<absl::StatusOr<std::vector<int64_t>>> admitted;
    b.bus().AdmitUser(user, [&](absl::StatusOr<std::vector<int64_t>> s) {
      admitted.set_value(std::move(s));
    });
    JoinAndAwait(a, user, new_server);
    push::Delivery left = Event("left", old_server);
    left.after.push_back(Remove(user, old_server));
    ClusterBus::Outgoing out = a.bus().EncodeDeliver(left);
    auto published =
        Call<absl::StatusOr<ClusterState::Published>>([&](auto done) {
          a.state().RemoveMembership(
              user, old_server,
              Notify{ClusterBus::ServerChannel(old_server),
                     std::move(out.bytes)},
              std::move(done));
        });
    ASSERT_TRUE(published.ok());
    Call<uint32_t>([&](auto done) {
      a.bus().AwaitAcks(out.request_id, published->receivers, std::move(done));
    });
    auto future = admitted.get_future();
    ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
    ASSERT_TRUE(future.get().ok());
    // From the cache now: must be the truth.
    EXPECT_THAT(b.Admit(user).value(), ElementsAre(new_server))
        << "user " << user;
    auto recipients =
        a.Publish(ClusterBus::ServerChannel(new_server),
                  a.bus().EncodeDeliver(Event("after", new_server)));
    EXPECT_EQ(recipients.value(), 0u);  // FakeRouter: not connected
    EXPECT_EQ(a.Subscribers(ClusterBus::ServerChannel(new_server)), 1);
    EXPECT_TRUE(Eventually([&] {
      return a.Subscribers(ClusterBus::ServerChannel(old_server)) == 0;
    })) << "user "
        << user;
  }
}

// A snapshot is trusted only when every server it names was subscribed
// before it was taken: otherwise the node subscribes and looks again.
TEST(ClusterBusTest, AdmissionSnapshotsUntilItsServersWereSubscribed) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  Seed(a, 2, 10);
  Seed(a, 3, 11);
  ASSERT_THAT(b.Admit(1).value(), ElementsAre(10));
  EXPECT_EQ(b.bus().stats().snapshots, 2u);  // s:10 subscribed in between
  ASSERT_THAT(b.Admit(2).value(), ElementsAre(10));
  EXPECT_EQ(b.bus().stats().snapshots, 3u);  // s:10 already subscribed
  ASSERT_THAT(b.Admit(1).value(), ElementsAre(10));
  EXPECT_EQ(b.bus().stats().snapshots, 3u);  // cached
  ASSERT_THAT(b.Admit(3).value(), ElementsAre(11));
  EXPECT_EQ(b.bus().stats().snapshots, 5u);
}

TEST(ClusterBusTest, RedisDownFailsAdmissionAndPublishAtOnce) {
  RedisServer server;
  Node a(server);
  server.Stop();
  ASSERT_TRUE(Eventually([&] { return !a.redis().connected(); }));
  auto admitted = a.Admit(5);
  EXPECT_EQ(admitted.status().code(), absl::StatusCode::kUnavailable);
  auto published = a.Publish(ClusterBus::ServerChannel(1),
                             a.bus().EncodeDeliver(Event("x", 1)));
  EXPECT_EQ(published.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a.bus().stats().user_channels, 0u);  // the reference released
}

// The subscriber connection drops while an admission's snapshot is in
// flight (its marker may be lost): the admission is refused at once.
TEST(ClusterBusTest, ConnectionLossDuringAdmissionRefusesAtOnce) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  // Scripts wait (CLIENT PAUSE WRITE), so the snapshot stays in flight.
  a.Command({"CLIENT", "PAUSE", "3000", "WRITE"});
  std::promise<absl::StatusOr<std::vector<int64_t>>> admitted;
  b.bus().AdmitUser(1, [&](absl::StatusOr<std::vector<int64_t>> s) {
    admitted.set_value(std::move(s));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto kill = std::chrono::steady_clock::now();
  a.Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  auto future = admitted.get_future();
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - kill,
            std::chrono::milliseconds(600));  // not the command timeout
  EXPECT_EQ(future.get().status().code(), absl::StatusCode::kUnavailable);
  a.Command({"CLIENT", "UNPAUSE"});
  EXPECT_TRUE(Eventually([&] { return b.bus().stats().user_channels == 0; }));
  // Once reconnected, the user is admitted normally.
  ASSERT_TRUE(Eventually([&] { return b.redis().connected(); }));
  EXPECT_THAT(b.Admit(1).value(), ElementsAre(10));
}

TEST(ClusterBusTest, ReconnectResnapshotsCachedUsers) {
  RedisServer server;
  Node a(server), b(server);
  Seed(a, 1, 10);
  b.router().Connect(1, {10});
  ASSERT_THAT(b.Admit(1).value(), ElementsAre(10));
  // Changes b does not hear of (as if published while it was away).
  Seed(a, 1, 40);
  Unseed(a, 1, 10);
  b.router().Join();
  const size_t before = b.router().routes().size();
  a.Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(Eventually(
      [&] { return b.router().servers_of(1) == std::set<int64_t>{40}; }));
  const auto routes = b.router().routes();
  ASSERT_EQ(routes.size(), before + 1);
  EXPECT_TRUE(routes.back().payload.empty());
  ASSERT_EQ(routes.back().before.size(), 2u);
  EXPECT_EQ(routes.back().before[0].kind,
            push::MembershipChange::Kind::kRemove);
  EXPECT_EQ(routes.back().before[0].server_id, 10);
  EXPECT_EQ(routes.back().before[1].kind, push::MembershipChange::Kind::kAdd);
  EXPECT_EQ(routes.back().before[1].server_id, 40);
  EXPECT_TRUE(Eventually(
      [&] { return a.Subscribers(ClusterBus::ServerChannel(40)) == 1; }));
  EXPECT_TRUE(Eventually(
      [&] { return a.Subscribers(ClusterBus::ServerChannel(10)) == 0; }));
  EXPECT_THAT(b.Admit(1).value(), ElementsAre(40));
}

TEST(ClusterBusTest, ReapedVoicePresenceEmitsUserLeftVc) {
  RedisServer server;
  ClusterBusOptions options;
  options.node_ttl = std::chrono::milliseconds(300);
  Node observer(server, options);
  Seed(observer, 9, 10);
  ASSERT_TRUE(observer.Admit(9).ok());
  {
    Node doomed(server, options);
    const std::string token = "tok";
    const std::string key = doomed.state().SessionKey(token);
    ASSERT_TRUE(
        (Call<absl::StatusOr<ClusterState::SessionChange>>([&](auto done) {
          doomed.state().OpenSession(key, 5, 0, "", std::move(done));
        })).ok());
    ASSERT_TRUE(
        (Call<absl::StatusOr<ClusterState::GrantResult>>([&](auto done) {
          doomed.state().SetGrant(5, 10, 100, std::move(done));
        })).ok());
    auto admit = Call<absl::StatusOr<ClusterState::VoiceAdmit>>([&](auto done) {
      doomed.state().AdmitVoice(key, 100, doomed.bus().node_id(), 1,
                                NowMicros(), std::move(done));
    });
    ASSERT_TRUE(admit.ok()) << admit.status();
    ASSERT_EQ(admit->refusal_code, 0);
    // Killed: no LeaveCluster, the heartbeat key just expires.
  }
  EXPECT_TRUE(Eventually([&] {
    return observer.router().payloads() ==
           std::vector<std::string>{Translator::UserLeftVc(5, 100, 10)};
  }));
}

TEST(ClusterBusTest, LeaveEndsOwnVoicePresenceAndDeletesHeartbeat) {
  RedisServer server;
  Node observer(server), leaver(server);
  Seed(observer, 9, 10);
  ASSERT_TRUE(observer.Admit(9).ok());
  const std::string key = leaver.state().SessionKey("tok");
  ASSERT_TRUE(
      (Call<absl::StatusOr<ClusterState::SessionChange>>([&](auto done) {
        leaver.state().OpenSession(key, 5, 0, "", std::move(done));
      })).ok());
  ASSERT_TRUE((Call<absl::StatusOr<ClusterState::GrantResult>>([&](auto done) {
                leaver.state().SetGrant(5, 10, 100, std::move(done));
              })).ok());
  auto admit = Call<absl::StatusOr<ClusterState::VoiceAdmit>>([&](auto done) {
    leaver.state().AdmitVoice(key, 100, leaver.bus().node_id(), 1, NowMicros(),
                              std::move(done));
  });
  ASSERT_TRUE(admit.ok() && admit->refusal_code == 0);
  const std::string heartbeat = "herald:node:" + leaver.bus().node_id();
  ASSERT_TRUE(Eventually([&] {
    return observer.Command({"EXISTS", heartbeat}).integer == 1;
  }));

  Call<bool>([&](auto done) {
    leaver.bus().Leave([done = std::move(done)]() mutable { done(true); });
  });
  EXPECT_TRUE(Eventually([&] {
    return observer.router().payloads() ==
           std::vector<std::string>{Translator::UserLeftVc(5, 100, 10)};
  }));
  EXPECT_EQ(observer.Command({"EXISTS", heartbeat}).integer, 0);
  // No heartbeat after the drain.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(observer.Command({"EXISTS", heartbeat}).integer, 0);
}

}  // namespace
}  // namespace herald::service::cluster
