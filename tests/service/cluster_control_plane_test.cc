// ClusterControlPlane: two nodes (each its RedisClient, ClusterState,
// ClusterBus, ClusterGate and a fake push::Router standing for its
// PushServer) on one real redis-server. Every ControlPlane method; the
// recipients are the sum over both nodes; Redis stopped: UNAVAILABLE.

#include "service/cluster/cluster_control_plane.h"

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"
#include "service/cluster/bus_relay.h"
#include "service/cluster/cluster_bus.h"
#include "service/cluster/cluster_gate.h"
#include "service/cluster/cluster_state.h"
#include "service/redis/redis_client.h"
#include "service/routing_policy.h"
#include "service/translator.h"
#include "tests/service/redis_server_fixture.h"

namespace herald::service::cluster {
namespace {

using std::chrono::milliseconds;
using v1::PublishRequest;
using Kind = push::MembershipChange::Kind;

constexpr auto kWait = std::chrono::seconds(10);

// A node's PushServer as far as the bus sees it: main connections with
// their user's servers, the frames each got, the closes asked for.
class FakeRouter : public push::Router {
 public:
  struct Connection {
    int64_t user = 0;
    std::set<int64_t> servers;
    std::string session_key;
    std::vector<std::string> frames;
  };
  using Close = std::tuple<int64_t, std::string, uint16_t, std::string>;
  using ConnectionClose = std::tuple<push::ConnectionId, uint16_t, std::string>;

  void Admit(push::ConnectionId id, const push::MainAdmission& a) {
    absl::MutexLock lock(&mu_);
    connections_[id] = Connection{a.user_id,
                                  {a.server_ids.begin(), a.server_ids.end()},
                                  a.session_key,
                                  {}};
  }

  void Route(push::Delivery d, RoutedCallback done) override {
    uint32_t n = 0;
    {
      absl::MutexLock lock(&mu_);
      Apply(d.before);
      const std::set<int64_t> users(d.users.begin(), d.users.end());
      for (auto& [id, c] : connections_) {
        const bool audience =
            d.server_id != 0 ? c.servers.contains(d.server_id) &&
                                   (users.empty() || users.contains(c.user))
                             : users.contains(c.user);
        if (!audience || d.payload.empty()) continue;
        c.frames.push_back(d.payload);
        ++n;
      }
      Apply(d.after);
    }
    if (done) std::move(done)(n);
  }

  void CloseUser(int64_t user_id, std::string token, uint16_t code,
                 std::string reason) override {
    absl::MutexLock lock(&mu_);
    closes_.emplace_back(user_id, token, code, reason);
  }

  void CloseConnection(push::ConnectionId id, uint16_t code,
                       std::string reason) override {
    absl::MutexLock lock(&mu_);
    connection_closes_.emplace_back(id, code, reason);
  }

  std::vector<std::string> Frames(push::ConnectionId id) {
    absl::MutexLock lock(&mu_);
    return connections_[id].frames;
  }
  std::set<int64_t> Servers(push::ConnectionId id) {
    absl::MutexLock lock(&mu_);
    return connections_[id].servers;
  }
  std::vector<Close> closes() {
    absl::MutexLock lock(&mu_);
    return closes_;
  }
  std::vector<ConnectionClose> connection_closes() {
    absl::MutexLock lock(&mu_);
    return connection_closes_;
  }

 private:
  void Apply(const std::vector<push::MembershipChange>& changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& ch : changes) {
      for (auto& [id, c] : connections_) {
        if (ch.kind == Kind::kDropServer) {
          c.servers.erase(ch.server_id);
        } else if (c.user == ch.user_id) {
          if (ch.kind == Kind::kAdd) {
            c.servers.insert(ch.server_id);
          } else {
            c.servers.erase(ch.server_id);
          }
        }
      }
    }
  }

  absl::Mutex mu_;
  std::map<push::ConnectionId, Connection> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<Close> closes_ ABSL_GUARDED_BY(mu_);
  std::vector<ConnectionClose> connection_closes_ ABSL_GUARDED_BY(mu_);
};

// Waits for a callback's value.
template <typename T>
T Await(std::future<T>& f) {
  if (f.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within " << kWait.count() << " s";
    return T();
  }
  return f.get();
}

struct Node {
  Node(const std::string& url, RegistryLimits limits = {}) {
    redis::RedisClientOptions options;
    options.url = *redis::RedisUrl::Parse(url);
    options.command_timeout = milliseconds(1000);
    options.connect_timeout = milliseconds(1000);
    relay = std::make_shared<BusRelay>();
    client = redis::RedisClient::Start(options, relay->Handlers());
    state = std::make_unique<ClusterState>(*client, limits);
    bus = std::make_unique<ClusterBus>(
        *client, *state, router,
        ClusterBusOptions{.ack_timeout = milliseconds(2000)}, *relay);
    gate = std::make_unique<ClusterGate>(*state, *bus);
    control = std::make_unique<ClusterControlPlane>(*state, *bus);
  }
  ~Node() {
    bus->Stop();
    client->Stop();  // pending callbacks complete and reach the bus
  }

  absl::Status Init() {
    // Until both connections are up: Init fails UNAVAILABLE before.
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!client->connected() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::promise<absl::Status> init;
    auto f = init.get_future();
    state->Init([&init](absl::Status st) { init.set_value(st); });
    absl::Status st = Await(f);
    if (!st.ok()) return st;
    std::promise<absl::Status> started;
    auto g = started.get_future();
    bus->Start([&started](absl::Status st) { started.set_value(st); });
    return Await(g);
  }

  // A main socket `id` presenting `token`; the admission is applied to the
  // fake router as the PushServer would.
  void Connect(const std::string& token, push::ConnectionId id) {
    std::promise<std::variant<push::MainAdmission, push::Refusal>> p;
    auto f = p.get_future();
    gate->AdmitMain(token, id,
                    [&p](auto result) { p.set_value(std::move(result)); });
    auto result = Await(f);
    ASSERT_TRUE(std::holds_alternative<push::MainAdmission>(result))
        << std::get<push::Refusal>(result).reason;
    router.Admit(id, std::get<push::MainAdmission>(result));
  }

  absl::StatusOr<push::VoiceAdmission> ConnectVoice(const std::string& token,
                                                    int64_t channel,
                                                    push::ConnectionId id) {
    std::promise<std::variant<push::VoiceAdmission, push::Refusal>> p;
    auto f = p.get_future();
    gate->AdmitVoice(token, channel, id,
                     [&p](auto result) { p.set_value(std::move(result)); });
    auto result = Await(f);
    if (auto* r = std::get_if<push::Refusal>(&result)) {
      return absl::PermissionDeniedError(r->reason);
    }
    return std::get<push::VoiceAdmission>(result);
  }

  absl::StatusOr<uint32_t> Publish(const PublishRequest& req) {
    std::promise<absl::StatusOr<uint32_t>> p;
    auto f = p.get_future();
    control->Publish(
        req, [&p](absl::StatusOr<uint32_t> n) { p.set_value(std::move(n)); });
    return Await(f);
  }
  absl::Status OpenSession(const std::string& token, int64_t user,
                           int64_t expires_at_us = 0) {
    std::promise<absl::Status> p;
    auto f = p.get_future();
    control->OpenSession(token, user, expires_at_us,
                         [&p](absl::Status st) { p.set_value(st); });
    return Await(f);
  }
  absl::StatusOr<bool> CloseSession(const std::string& token) {
    std::promise<absl::StatusOr<bool>> p;
    auto f = p.get_future();
    control->CloseSession(token, [&p](absl::StatusOr<bool> existed) {
      p.set_value(std::move(existed));
    });
    return Await(f);
  }
  absl::Status SetMemberships(int64_t user, std::vector<int64_t> servers) {
    std::promise<absl::Status> p;
    auto f = p.get_future();
    control->SetMemberships(user, std::move(servers),
                            [&p](absl::Status st) { p.set_value(st); });
    return Await(f);
  }
  absl::StatusOr<std::vector<int64_t>> GetMemberships(int64_t user) {
    std::promise<absl::StatusOr<std::vector<int64_t>>> p;
    auto f = p.get_future();
    control->GetMemberships(user, [&p](absl::StatusOr<std::vector<int64_t>> s) {
      p.set_value(std::move(s));
    });
    return Await(f);
  }
  absl::Status JoinVoice(int64_t user, int64_t server, int64_t channel) {
    std::promise<absl::Status> p;
    auto f = p.get_future();
    control->JoinVoice(user, server, channel,
                       [&p](absl::Status st) { p.set_value(st); });
    return Await(f);
  }
  absl::StatusOr<bool> LeaveVoice(int64_t user) {
    std::promise<absl::StatusOr<bool>> p;
    auto f = p.get_future();
    control->LeaveVoice(user, [&p](absl::StatusOr<bool> existed) {
      p.set_value(std::move(existed));
    });
    return Await(f);
  }
  absl::StatusOr<ControlPlane::VoiceChannels> GetVoiceState(int64_t server) {
    std::promise<absl::StatusOr<ControlPlane::VoiceChannels>> p;
    auto f = p.get_future();
    control->GetVoiceState(server,
                           [&p](absl::StatusOr<ControlPlane::VoiceChannels> s) {
                             p.set_value(std::move(s));
                           });
    return Await(f);
  }

  FakeRouter router;
  std::shared_ptr<BusRelay> relay;
  std::unique_ptr<redis::RedisClient> client;
  std::unique_ptr<ClusterState> state;
  std::unique_ptr<ClusterBus> bus;
  std::unique_ptr<ClusterGate> gate;
  std::unique_ptr<ClusterControlPlane> control;
};

PublishRequest MessageCreated(int64_t server, int64_t id) {
  PublishRequest req;
  auto* e = req.mutable_message_created();
  e->set_id(id);
  e->set_author_id(1);
  e->set_channel_id(100);
  e->set_server_id(server);
  e->mutable_sent()->set_seconds(1733337374);
  e->set_text("hi");
  return req;
}

PublishRequest UserJoined(int64_t user, int64_t server) {
  PublishRequest req;
  auto* e = req.mutable_user_joined();
  e->set_id(user);
  e->set_server_id(server);
  return req;
}

PublishRequest UserLeft(int64_t user, int64_t server) {
  PublishRequest req;
  auto* e = req.mutable_user_left();
  e->set_id(user);
  e->set_server_id(server);
  return req;
}

PublishRequest ChannelDeleted(int64_t server, int64_t channel) {
  PublishRequest req;
  auto* e = req.mutable_channel_deleted();
  e->set_id(channel);
  e->set_server_id(server);
  return req;
}

PublishRequest ServerDeleted(int64_t server) {
  PublishRequest req;
  req.mutable_server_deleted()->set_id(server);
  return req;
}

PublishRequest GotServerOwner(int64_t user, int64_t server) {
  PublishRequest req;
  auto* e = req.mutable_got_server_owner();
  e->set_user_id(user);
  e->set_id(server);
  return req;
}

std::string Payload(const PublishRequest& req) {
  return RoutingPolicy::Plan(req).delivery.payload;
}

// Polls `pred` (a message still on its way to the other node).
template <typename F>
bool Eventually(F pred) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

class ClusterControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    redis_ = std::move(*server);
    a_ = std::make_unique<Node>(redis_->Url());
    b_ = std::make_unique<Node>(redis_->Url());
    ASSERT_TRUE(a_->Init().ok());
    ASSERT_TRUE(b_->Init().ok());
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Node> a_, b_;
};

TEST_F(ClusterControlPlaneTest, PublishReachesBothNodesAndSumsRecipients) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(b_->OpenSession("tok-2", 2).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {10}).ok());
  ASSERT_TRUE(b_->SetMemberships(2, {10, 20}).ok());
  a_->Connect("tok-1", 101);
  b_->Connect("tok-2", 201);
  b_->Connect("tok-2", 202);  // a second socket of user 2
  EXPECT_EQ(a_->router.Servers(101), (std::set<int64_t>{10}));

  const PublishRequest m = MessageCreated(10, 1);
  auto n = a_->Publish(m);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3u);  // 1 on A + 2 on B
  EXPECT_EQ(a_->router.Frames(101), std::vector<std::string>{Payload(m)});
  EXPECT_EQ(b_->router.Frames(201), std::vector<std::string>{Payload(m)});
  EXPECT_EQ(b_->router.Frames(202), std::vector<std::string>{Payload(m)});

  // Server 20: only B's user; published from A.
  n = a_->Publish(MessageCreated(20, 2));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(a_->router.Frames(101).size(), 1u);

  // visible_to narrows the audience.
  PublishRequest narrowed = MessageCreated(10, 3);
  narrowed.add_visible_to(1);
  n = b_->Publish(narrowed);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);

  // A user-only event: the user's channel.
  const PublishRequest owner = GotServerOwner(2, 10);
  n = a_->Publish(owner);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(b_->router.Frames(201).back(), Payload(owner));
  EXPECT_EQ(a_->router.Frames(101).size(), 2u);
}

TEST_F(ClusterControlPlaneTest, UserJoinedReachesTheNewMemberOnAnotherNode) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(a_->OpenSession("tok-3", 3).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {10}).ok());
  a_->Connect("tok-1", 101);
  b_->Connect("tok-3", 301);  // no servers yet
  EXPECT_TRUE(b_->router.Servers(301).empty());

  const PublishRequest joined = UserJoined(3, 10);
  auto n = a_->Publish(joined);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);  // the new member (B) and user 1 (A)
  EXPECT_EQ(b_->router.Servers(301), (std::set<int64_t>{10}));
  EXPECT_EQ(b_->router.Frames(301), std::vector<std::string>{Payload(joined)});
  EXPECT_EQ(a_->router.Frames(101), std::vector<std::string>{Payload(joined)});
  auto servers = b_->GetMemberships(3);
  ASSERT_TRUE(servers.ok());
  EXPECT_EQ(*servers, std::vector<int64_t>{10});

  // An event right after (from the same node) reaches the new member.
  n = a_->Publish(MessageCreated(10, 5));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);

  // user_left: delivered to the leaver too, then the membership goes.
  const PublishRequest left = UserLeft(3, 10);
  n = b_->Publish(left);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(b_->router.Frames(301).back(), Payload(left));
  EXPECT_TRUE(b_->router.Servers(301).empty());
  n = a_->Publish(MessageCreated(10, 6));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  servers = a_->GetMemberships(3);
  ASSERT_TRUE(servers.ok());
  EXPECT_TRUE(servers->empty());
}

TEST_F(ClusterControlPlaneTest, UserJoinedHoldsLaterCallsOfTheNode) {
  ASSERT_TRUE(a_->OpenSession("tok-3", 3).ok());
  b_->Connect("tok-3", 301);
  // Issued back to back without waiting: the message must follow the
  // join on the new member's node.
  std::promise<absl::StatusOr<uint32_t>> joined, message;
  auto fj = joined.get_future(), fm = message.get_future();
  a_->control->Publish(UserJoined(3, 10), [&](absl::StatusOr<uint32_t> n) {
    joined.set_value(std::move(n));
  });
  const PublishRequest m = MessageCreated(10, 7);
  a_->control->Publish(
      m, [&](absl::StatusOr<uint32_t> n) { message.set_value(std::move(n)); });
  auto nj = Await(fj);
  auto nm = Await(fm);
  ASSERT_TRUE(nj.ok() && nm.ok());
  EXPECT_EQ(*nj, 1u);
  EXPECT_EQ(*nm, 1u);
  EXPECT_EQ(b_->router.Frames(301),
            (std::vector<std::string>{Payload(UserJoined(3, 10)), Payload(m)}));
}

// user_left and channel_deleted end voice after every node acked the
// event; an event issued right after them (same node, not waiting) must
// not overtake their user_left_vc.
TEST_F(ClusterControlPlaneTest, VoiceEndStepsHoldLaterCallsOfTheNode) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(a_->OpenSession("tok-2", 2).ok());
  ASSERT_TRUE(a_->OpenSession("tok-3", 3).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {10}).ok());
  ASSERT_TRUE(a_->SetMemberships(2, {10}).ok());
  ASSERT_TRUE(a_->SetMemberships(3, {10}).ok());
  a_->Connect("tok-2", 201);  // a member watching voice events
  ASSERT_TRUE(b_->JoinVoice(1, 10, 100).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 100, 9001).ok());
  ASSERT_TRUE(b_->JoinVoice(3, 10, 101).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-3", 101, 9003).ok());
  const std::string joined_vc = Translator::UserJoinedVc(3, 101, 10);
  ASSERT_TRUE(Eventually([&] {
    auto f = a_->router.Frames(201);
    return !f.empty() && f.back() == joined_vc;
  }));
  const size_t before = a_->router.Frames(201).size();

  // Issued back to back without waiting.
  const PublishRequest left = UserLeft(1, 10);
  const PublishRequest m1 = MessageCreated(10, 1);
  const PublishRequest deleted = ChannelDeleted(10, 101);
  const PublishRequest m2 = MessageCreated(10, 2);
  std::vector<std::future<absl::StatusOr<uint32_t>>> answers;
  std::vector<std::promise<absl::StatusOr<uint32_t>>> promises(4);
  const PublishRequest* requests[] = {&left, &m1, &deleted, &m2};
  for (size_t i = 0; i < 4; ++i) {
    answers.push_back(promises[i].get_future());
    a_->control->Publish(*requests[i],
                         [&promises, i](absl::StatusOr<uint32_t> n) {
                           promises[i].set_value(std::move(n));
                         });
  }
  for (auto& f : answers) {
    auto n = Await(f);
    ASSERT_TRUE(n.ok()) << n.status();
  }
  const std::vector<std::string> expected = {
      Payload(left),    Translator::UserLeftVc(1, 100, 10), Payload(m1),
      Payload(deleted), Translator::UserLeftVc(3, 101, 10), Payload(m2),
  };
  ASSERT_TRUE(Eventually([&] {
    return a_->router.Frames(201).size() >= before + expected.size();
  }));
  const std::vector<std::string> frames = a_->router.Frames(201);
  EXPECT_EQ(std::vector<std::string>(frames.begin() + before, frames.end()),
            expected);
  EXPECT_EQ(a_->control->queued(), 0u);
}

// SetMemberships ends voice in the servers it removed; a later event of
// the node must not overtake that user_left_vc either.
TEST_F(ClusterControlPlaneTest, SetMembershipsVoiceEndHoldsLaterCalls) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(a_->OpenSession("tok-2", 2).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {10}).ok());
  ASSERT_TRUE(a_->SetMemberships(2, {10}).ok());
  a_->Connect("tok-2", 201);
  ASSERT_TRUE(b_->JoinVoice(1, 10, 100).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 100, 9001).ok());
  const std::string joined_vc = Translator::UserJoinedVc(1, 100, 10);
  ASSERT_TRUE(Eventually([&] {
    auto f = a_->router.Frames(201);
    return !f.empty() && f.back() == joined_vc;
  }));
  const size_t before = a_->router.Frames(201).size();
  std::promise<absl::Status> set;
  std::promise<absl::StatusOr<uint32_t>> message;
  auto fs = set.get_future();
  auto fm = message.get_future();
  a_->control->SetMemberships(1, {},
                              [&](absl::Status st) { set.set_value(st); });
  const PublishRequest m = MessageCreated(10, 1);
  a_->control->Publish(
      m, [&](absl::StatusOr<uint32_t> n) { message.set_value(std::move(n)); });
  ASSERT_TRUE(Await(fs).ok());
  ASSERT_TRUE(Await(fm).ok());
  const std::vector<std::string> expected = {Translator::UserLeftVc(1, 100, 10),
                                             Payload(m)};
  ASSERT_TRUE(Eventually([&] {
    return a_->router.Frames(201).size() >= before + expected.size();
  }));
  const std::vector<std::string> frames = a_->router.Frames(201);
  EXPECT_EQ(std::vector<std::string>(frames.begin() + before, frames.end()),
            expected);
}

TEST_F(ClusterControlPlaneTest, SetMembershipsUpdatesEveryNode) {
  ASSERT_TRUE(a_->OpenSession("tok-2", 2).ok());
  b_->Connect("tok-2", 201);
  ASSERT_TRUE(a_->SetMemberships(2, {30, 20, 30}).ok());
  EXPECT_EQ(b_->router.Servers(201), (std::set<int64_t>{20, 30}));
  auto n = a_->Publish(MessageCreated(30, 1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto servers = a_->GetMemberships(2);
  ASSERT_TRUE(servers.ok());
  EXPECT_EQ(*servers, (std::vector<int64_t>{20, 30}));
  ASSERT_TRUE(a_->SetMemberships(2, {}).ok());
  EXPECT_TRUE(b_->router.Servers(201).empty());
  n = a_->Publish(MessageCreated(30, 2));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(ClusterControlPlaneTest, MembershipLimitsAreResourceExhausted) {
  Node limited(redis_->Url(), RegistryLimits{.max_memberships_per_user = 1});
  ASSERT_TRUE(limited.Init().ok());
  ASSERT_TRUE(limited.SetMemberships(4, {10}).ok());
  auto n = limited.Publish(UserJoined(4, 11));
  EXPECT_EQ(n.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(n.status().message().rfind("user_joined: ", 0), 0u)
      << n.status().message();
  EXPECT_NE(n.status().message().find("max_memberships_per_user"),
            std::string::npos);
  absl::Status st = limited.SetMemberships(4, {10, 11});
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  auto servers = limited.GetMemberships(4);
  ASSERT_TRUE(servers.ok());
  EXPECT_EQ(*servers, std::vector<int64_t>{10});  // nothing changed
}

TEST_F(ClusterControlPlaneTest, SessionsCloseTheirSocketsOnEveryNode) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  b_->Connect("tok-1", 101);
  const std::string key = a_->state->SessionKey("tok-1");
  // Reopened for the same user: nothing closes.
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  // Reassigned to user 5: user 1's sockets on that session go.
  ASSERT_TRUE(a_->OpenSession("tok-1", 5).ok());
  EXPECT_EQ(b_->router.closes(),
            (std::vector<FakeRouter::Close>{{1, key, 4004, "session closed"}}));
  b_->Connect("tok-1", 501);
  auto existed = a_->CloseSession("tok-1");
  ASSERT_TRUE(existed.ok()) << existed.status();
  EXPECT_TRUE(*existed);
  EXPECT_EQ(b_->router.closes().back(),
            FakeRouter::Close(5, key, 4004, "session closed"));
  existed = a_->CloseSession("tok-1");
  ASSERT_TRUE(existed.ok());
  EXPECT_FALSE(*existed);
  EXPECT_EQ(b_->router.closes().size(), 2u);
}

TEST_F(ClusterControlPlaneTest, VoiceGrantsPresenceAndTheirEnds) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(a_->OpenSession("tok-2", 2).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {10}).ok());
  ASSERT_TRUE(a_->SetMemberships(2, {10}).ok());
  a_->Connect("tok-2", 201);  // a member watching voice events
  ASSERT_TRUE(b_->JoinVoice(1, 10, 100).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 100, 9001).ok());  // on node B
  auto state = a_->GetVoiceState(10);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, (ControlPlane::VoiceChannels{{100, {1}}}));
  const std::string joined_vc = Translator::UserJoinedVc(1, 100, 10);
  EXPECT_TRUE(Eventually([&] {
    auto f = a_->router.Frames(201);
    return !f.empty() && f.back() == joined_vc;
  }));

  // Moved (from node A's API) to another channel: B closes it with 4005.
  ASSERT_TRUE(a_->JoinVoice(1, 10, 101).ok());
  EXPECT_TRUE(
      Eventually([&] { return !b_->router.connection_closes().empty(); }));
  EXPECT_EQ(b_->router.connection_closes().back(),
            FakeRouter::ConnectionClose(9001, 4005,
                                        "moved to another voice channel"));
  const std::string left_vc = Translator::UserLeftVc(1, 100, 10);
  EXPECT_TRUE(Eventually([&] {
    auto f = a_->router.Frames(201);
    return !f.empty() && f.back() == left_vc;
  }));
  state = a_->GetVoiceState(10);
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->empty());

  // LeaveVoice ends the presence with 4006.
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 101, 9002).ok());
  auto existed = a_->LeaveVoice(1);
  ASSERT_TRUE(existed.ok());
  EXPECT_TRUE(*existed);
  EXPECT_TRUE(
      Eventually([&] { return b_->router.connection_closes().size() == 2; }));
  EXPECT_EQ(b_->router.connection_closes().back(),
            FakeRouter::ConnectionClose(9002, 4006, "removed from voice"));
  existed = a_->LeaveVoice(1);
  ASSERT_TRUE(existed.ok());
  EXPECT_FALSE(*existed);

  // channel_deleted ends presence in it.
  ASSERT_TRUE(a_->JoinVoice(1, 10, 102).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 102, 9003).ok());
  auto n = a_->Publish(ChannelDeleted(10, 102));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);  // user 2's main socket
  EXPECT_TRUE(
      Eventually([&] { return b_->router.connection_closes().size() == 3; }));
  EXPECT_EQ(b_->router.connection_closes().back(),
            FakeRouter::ConnectionClose(9003, 4006, "removed from voice"));
  state = a_->GetVoiceState(10);
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->empty());

  // user_left ends the leaver's voice in that server.
  ASSERT_TRUE(a_->JoinVoice(1, 10, 103).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 103, 9004).ok());
  n = a_->Publish(UserLeft(1, 10));
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(
      Eventually([&] { return b_->router.connection_closes().size() == 4; }));
  EXPECT_EQ(b_->router.connection_closes().back(),
            FakeRouter::ConnectionClose(9004, 4006, "removed from voice"));
  existed = a_->LeaveVoice(1);
  ASSERT_TRUE(existed.ok());
  EXPECT_FALSE(*existed);  // the grant went too

  // SetMemberships without the server ends voice there too.
  ASSERT_TRUE(a_->SetMemberships(1, {10}).ok());
  ASSERT_TRUE(a_->JoinVoice(1, 10, 104).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-1", 104, 9005).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {}).ok());
  EXPECT_TRUE(
      Eventually([&] { return b_->router.connection_closes().size() == 5; }));
  EXPECT_EQ(b_->router.connection_closes().back(),
            FakeRouter::ConnectionClose(9005, 4006, "removed from voice"));
}

TEST_F(ClusterControlPlaneTest, ServerDeletedDropsItsMembershipsAndVoice) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(a_->OpenSession("tok-2", 2).ok());
  ASSERT_TRUE(a_->SetMemberships(1, {10, 20}).ok());
  ASSERT_TRUE(a_->SetMemberships(2, {10}).ok());
  a_->Connect("tok-1", 101);
  b_->Connect("tok-2", 201);
  ASSERT_TRUE(a_->JoinVoice(2, 10, 100).ok());
  ASSERT_TRUE(b_->ConnectVoice("tok-2", 100, 9001).ok());
  const PublishRequest deleted = ServerDeleted(10);
  auto n = b_->Publish(deleted);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(a_->router.Frames(101).back(), Payload(deleted));
  EXPECT_EQ(a_->router.Servers(101), (std::set<int64_t>{20}));
  EXPECT_TRUE(b_->router.Servers(201).empty());
  EXPECT_TRUE(
      Eventually([&] { return b_->router.connection_closes().size() == 1; }));
  EXPECT_EQ(b_->router.connection_closes().back(),
            FakeRouter::ConnectionClose(9001, 4006, "removed from voice"));
  auto servers = a_->GetMemberships(2);
  ASSERT_TRUE(servers.ok());
  EXPECT_TRUE(servers->empty());
  auto existed = a_->LeaveVoice(2);
  ASSERT_TRUE(existed.ok());
  EXPECT_FALSE(*existed);
  n = a_->Publish(MessageCreated(10, 1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(ClusterControlPlaneTest, RedisStoppedMeansUnavailable) {
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  ASSERT_TRUE(redis_->Stop().ok());
  ASSERT_TRUE(Eventually([&] { return !a_->client->connected(); }));
  auto expect_unavailable = [](const absl::Status& st) {
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
    EXPECT_EQ(st.message().rfind("redis: ", 0), 0u) << st.message();
  };
  expect_unavailable(a_->Publish(MessageCreated(10, 1)).status());
  expect_unavailable(a_->Publish(UserJoined(1, 10)).status());
  expect_unavailable(a_->Publish(UserLeft(1, 10)).status());
  expect_unavailable(a_->Publish(ServerDeleted(10)).status());
  expect_unavailable(a_->Publish(ChannelDeleted(10, 100)).status());
  expect_unavailable(a_->Publish(GotServerOwner(1, 10)).status());
  expect_unavailable(a_->OpenSession("tok-2", 2));
  expect_unavailable(a_->CloseSession("tok-1").status());
  expect_unavailable(a_->SetMemberships(1, {10}));
  expect_unavailable(a_->GetMemberships(1).status());
  expect_unavailable(a_->JoinVoice(1, 10, 100));
  expect_unavailable(a_->LeaveVoice(1).status());
  expect_unavailable(a_->GetVoiceState(10).status());

  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return a_->client->connected(); }));
  // Restart (no persistence) lost everything; the node works again.
  ASSERT_TRUE(a_->OpenSession("tok-1", 1).ok());
  auto n = a_->Publish(MessageCreated(10, 2));
  ASSERT_TRUE(n.ok()) << n.status();
}

}  // namespace
}  // namespace herald::service::cluster
