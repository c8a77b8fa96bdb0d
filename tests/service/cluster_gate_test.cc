#include "service/cluster/cluster_gate.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "push/close_codes.h"
#include "service/clock.h"
#include "service/translator.h"
#include "tests/service/cluster_test_support.h"

namespace herald::service::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace cluster_test;  // NOLINT: the cluster test support

using MainResult = std::variant<push::MainAdmission, push::Refusal>;
using VoiceResult = std::variant<push::VoiceAdmission, push::Refusal>;

constexpr char kVoid[] = "herald:test:void";

// A node with its gate.
class GateNode {
 public:
  explicit GateNode(const RedisServer& server)
      : node_(server), gate_(node_.state(), node_.bus()) {}

  Node& node() { return node_; }
  ClusterGate& gate() { return gate_; }

  MainResult AdmitMain(std::string token, push::ConnectionId id) {
    return Call<MainResult>(
        [&](auto done) { gate_.AdmitMain(token, id, std::move(done)); });
  }
  VoiceResult AdmitVoice(std::string token, int64_t channel_id,
                         push::ConnectionId id) {
    return Call<VoiceResult>([&](auto done) {
      gate_.AdmitVoice(token, channel_id, id, std::move(done));
    });
  }
  void OpenSession(const std::string& token, int64_t user_id) {
    const std::string key = node_.state().SessionKey(token);
    ASSERT_TRUE(
        (Call<absl::StatusOr<ClusterState::SessionChange>>([&](auto done) {
          node_.state().OpenSession(key, user_id, 0, "", std::move(done));
        })).ok());
  }
  void Seed(int64_t user_id, int64_t server_id) {
    ASSERT_TRUE((Call<absl::StatusOr<ClusterState::Changed>>([&](auto done) {
                  node_.state().AddMembership(
                      user_id, server_id, Notify{kVoid, "x"}, std::move(done));
                })).ok());
  }
  void Grant(int64_t user_id, int64_t server_id, int64_t channel_id) {
    ASSERT_TRUE(
        (Call<absl::StatusOr<ClusterState::GrantResult>>([&](auto done) {
          node_.state().SetGrant(user_id, server_id, channel_id,
                                 std::move(done));
        })).ok());
  }

 private:
  Node node_;
  ClusterGate gate_;
};

push::Refusal RefusalOf(const MainResult& r) {
  EXPECT_TRUE(std::holds_alternative<push::Refusal>(r));
  return std::holds_alternative<push::Refusal>(r) ? std::get<push::Refusal>(r)
                                                  : push::Refusal{};
}
push::Refusal RefusalOf(const VoiceResult& r) {
  EXPECT_TRUE(std::holds_alternative<push::Refusal>(r));
  return std::holds_alternative<push::Refusal>(r) ? std::get<push::Refusal>(r)
                                                  : push::Refusal{};
}

TEST(ClusterGateTest, UnknownTokenIsRefusedLikeOneProcess) {
  RedisServer server;
  GateNode a(server);
  push::Refusal refusal = RefusalOf(a.AdmitMain("nope", 1));
  EXPECT_EQ(refusal.code, push::kCloseUnknownToken);
  EXPECT_EQ(refusal.reason, "unknown or expired token");
  refusal = RefusalOf(a.AdmitVoice("nope", 100, 2));
  EXPECT_EQ(refusal.code, push::kCloseUnknownToken);
  EXPECT_EQ(refusal.reason, "unknown or expired token");
}

TEST(ClusterGateTest, AdmitsMainWithServersAndReleasesOnClose) {
  RedisServer server;
  GateNode a(server), b(server);
  a.OpenSession("tok", 5);
  a.Seed(5, 10);
  a.Seed(5, 11);
  // The session was opened through another node: sessions live in Redis.
  MainResult r = b.AdmitMain("tok", 1);
  ASSERT_TRUE(std::holds_alternative<push::MainAdmission>(r));
  const auto& admission = std::get<push::MainAdmission>(r);
  EXPECT_EQ(admission.user_id, 5);
  EXPECT_THAT(admission.server_ids, ElementsAre(10, 11));
  EXPECT_EQ(admission.session_key, b.node().state().SessionKey("tok"));
  EXPECT_EQ(a.node().Subscribers(ClusterBus::UserChannel(5)), 1);
  EXPECT_EQ(a.node().Subscribers(ClusterBus::ServerChannel(11)), 1);

  b.gate().OnMainClosed(1, 5);
  EXPECT_TRUE(Eventually([&] {
    return a.node().Subscribers(ClusterBus::UserChannel(5)) == 0 &&
           a.node().Subscribers(ClusterBus::ServerChannel(10)) == 0 &&
           a.node().Subscribers(ClusterBus::ServerChannel(11)) == 0;
  }));
}

TEST(ClusterGateTest, CloseDuringAnotherAdmissionOfTheUserKeepsIt) {
  RedisServer server;
  GateNode a(server);
  a.OpenSession("tok", 5);
  a.Seed(5, 10);
  ASSERT_TRUE(
      std::holds_alternative<push::MainAdmission>(a.AdmitMain("tok", 1)));
  // The first connection ends while a second one is being admitted.
  auto second = std::make_shared<std::promise<MainResult>>();
  a.gate().AdmitMain(
      "tok", 2, [second](MainResult r) { second->set_value(std::move(r)); });
  a.gate().OnMainClosed(1, 5);
  auto future = second->get_future();
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  MainResult r = future.get();
  ASSERT_TRUE(std::holds_alternative<push::MainAdmission>(r));
  EXPECT_THAT(std::get<push::MainAdmission>(r).server_ids, ElementsAre(10));
  a.node().Sync();
  EXPECT_EQ(a.node().Subscribers(ClusterBus::UserChannel(5)), 1);
  EXPECT_EQ(a.node().Subscribers(ClusterBus::ServerChannel(10)), 1);
  EXPECT_EQ(a.node().bus().stats().user_channels, 1u);
}

// The connection observer (the node's SessionExpiryCloser) is told of
// main and voice admissions with their session's expiry, and of their
// closes.
TEST(ClusterGateTest, ObserverSeesMainAndVoiceConnections) {
  RedisServer server;
  GateNode a(server);
  const int64_t expires = NowMicros() + 60'000'000;
  const std::string key = a.node().state().SessionKey("tok");
  ASSERT_TRUE(
      (Call<absl::StatusOr<ClusterState::SessionChange>>([&](auto done) {
        a.node().state().OpenSession(key, 5, expires, "", std::move(done));
      })).ok());
  a.Seed(5, 10);
  a.Grant(5, 10, 100);
  using Admitted =
      std::tuple<push::ConnectionId, int64_t, std::string, int64_t>;
  absl::Mutex mu;
  std::vector<Admitted> admitted;
  std::vector<push::ConnectionId> closed;
  a.gate().SetConnectionObserver(ClusterGate::ConnectionObserver{
      .admitted =
          [&](push::ConnectionId id, int64_t user, const std::string& k,
              int64_t expires_at_us) {
            absl::MutexLock lock(&mu);
            admitted.emplace_back(id, user, k, expires_at_us);
          },
      .closed =
          [&](push::ConnectionId id) {
            absl::MutexLock lock(&mu);
            closed.push_back(id);
          }});
  ASSERT_TRUE(
      std::holds_alternative<push::MainAdmission>(a.AdmitMain("tok", 1)));
  ASSERT_TRUE(std::holds_alternative<push::VoiceAdmission>(
      a.AdmitVoice("tok", 100, 2)));
  // Refused: not told.
  RefusalOf(a.AdmitVoice("tok", 101, 3));
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(admitted, ElementsAre(Admitted{1, 5, key, expires},
                                      Admitted{2, 5, key, expires}));
  }
  a.gate().OnVoiceClosed(2);
  a.gate().OnMainClosed(1, 5);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(closed, ElementsAre(2, 1));
}

TEST(ClusterGateTest, RedisDownRefusesWithTryAgainLater) {
  RedisServer server;
  GateNode a(server);
  a.OpenSession("tok", 5);
  server.Stop();
  ASSERT_TRUE(Eventually([&] { return !a.node().redis().connected(); }));
  push::Refusal refusal = RefusalOf(a.AdmitMain("tok", 1));
  EXPECT_EQ(refusal.code, 1013);
  EXPECT_EQ(refusal.reason, "try again later");
  refusal = RefusalOf(a.AdmitVoice("tok", 100, 2));
  EXPECT_EQ(refusal.code, 1013);
  EXPECT_EQ(refusal.reason, "try again later");
}

TEST(ClusterGateTest, VoiceAdmissionReplacesAcrossNodesWithEvents) {
  RedisServer server;
  GateNode a(server), b(server), observer(server);
  a.OpenSession("tok", 5);
  a.Seed(5, 10);
  a.Seed(9, 10);
  observer.OpenSession("obs", 9);
  ASSERT_TRUE(std::holds_alternative<push::MainAdmission>(
      observer.AdmitMain("obs", 1)));
  FakeRouter& seen = observer.node().router();

  push::Refusal refusal = RefusalOf(a.AdmitVoice("tok", 100, 11));
  EXPECT_EQ(refusal.code, push::kCloseNoVoiceGrant);
  EXPECT_EQ(refusal.reason, "no voice grant for this channel");

  a.Grant(5, 10, 100);
  VoiceResult r = a.AdmitVoice("tok", 100, 11);
  ASSERT_TRUE(std::holds_alternative<push::VoiceAdmission>(r));
  const auto& admission = std::get<push::VoiceAdmission>(r);
  EXPECT_EQ(admission.user_id, 5);
  EXPECT_EQ(admission.server_id, 10);
  EXPECT_EQ(admission.channel_id, 100);
  EXPECT_EQ(admission.session_key, a.node().state().SessionKey("tok"));
  const std::string joined100 = Translator::UserJoinedVc(5, 100, 10);
  EXPECT_TRUE(Eventually(
      [&] { return seen.payloads() == std::vector<std::string>{joined100}; }));

  // Same place from another node: the old connection is closed on its
  // node, no events.
  ASSERT_TRUE(std::holds_alternative<push::VoiceAdmission>(
      b.AdmitVoice("tok", 100, 22)));
  EXPECT_TRUE(
      Eventually([&] { return a.node().router().closed().size() == 1; }));
  EXPECT_EQ(a.node().router().closed()[0].id, 11u);
  EXPECT_EQ(a.node().router().closed()[0].code, push::kCloseReplaced);
  EXPECT_EQ(a.node().router().closed()[0].reason,
            "replaced by a newer voice connection");
  // The replaced connection's close finds the presence gone: no event.
  a.gate().OnVoiceClosed(11);

  // Another channel while a presence is live (the grant moved under a race
  // with SetGrant, which would have ended it; written directly here): the
  // old connection is closed on its node, left then joined.
  a.node().Command({"HSET", "herald:grant:5", "c", "101"});
  ASSERT_TRUE(std::holds_alternative<push::VoiceAdmission>(
      a.AdmitVoice("tok", 101, 33)));
  ASSERT_TRUE(
      Eventually([&] { return b.node().router().closed().size() == 1; }));
  EXPECT_EQ(b.node().router().closed()[0].id, 22u);
  EXPECT_EQ(b.node().router().closed()[0].code, push::kCloseReplaced);
  b.gate().OnVoiceClosed(22);  // its presence was replaced: no event
  const std::string left100 = Translator::UserLeftVc(5, 100, 10);
  const std::string joined101 = Translator::UserJoinedVc(5, 101, 10);
  EXPECT_TRUE(Eventually([&] {
    return seen.payloads() ==
           std::vector<std::string>{joined100, left100, joined101};
  }));

  // The live connection ends: user_left_vc.
  a.gate().OnVoiceClosed(33);
  const std::string left101 = Translator::UserLeftVc(5, 101, 10);
  EXPECT_TRUE(Eventually([&] {
    return seen.payloads() ==
           std::vector<std::string>{joined100, left100, joined101, left101};
  }));
  auto state = Call<absl::StatusOr<std::map<int64_t, std::vector<int64_t>>>>(
      [&](auto done) { a.node().state().VoiceState(10, std::move(done)); });
  ASSERT_TRUE(state.ok());
  EXPECT_THAT(*state, IsEmpty());
}

}  // namespace
}  // namespace herald::service::cluster
