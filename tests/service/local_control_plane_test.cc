// LocalControlPlane over a real Registry and VoiceCoordinator and a Router
// that records what it is asked: each event's state effects happen on the
// right side of its delivery, a refusal changes and delivers nothing, and
// the publish metrics count what was routed.

#include "service/local_control_plane.h"

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "push/close_codes.h"

namespace herald::service {
namespace {

using v1::PublishRequest;
using Change = push::MembershipChange;

class RecordingRouter final : public push::Router {
 public:
  struct ClosedUser {
    int64_t user_id;
    std::string token;
    uint16_t code;
  };

  void Route(push::Delivery d, RoutedCallback done) override {
    {
      absl::MutexLock lock(&mu_);
      routed_.push_back(d);
    }
    if (done) std::move(done)(recipients_);
  }
  void CloseUser(int64_t user_id, std::string token, uint16_t code,
                 std::string) override {
    absl::MutexLock lock(&mu_);
    closed_users_.push_back({user_id, token, code});
  }
  void CloseConnection(push::ConnectionId, uint16_t, std::string) override {}

  std::vector<push::Delivery> routed() {
    absl::MutexLock lock(&mu_);
    return routed_;
  }
  std::vector<ClosedUser> closed_users() {
    absl::MutexLock lock(&mu_);
    return closed_users_;
  }
  void set_recipients(uint32_t n) { recipients_ = n; }

 private:
  absl::Mutex mu_;
  std::vector<push::Delivery> routed_ ABSL_GUARDED_BY(mu_);
  std::vector<ClosedUser> closed_users_ ABSL_GUARDED_BY(mu_);
  uint32_t recipients_ = 0;
};

using ChangeTuple = std::tuple<Change::Kind, int64_t, int64_t>;

std::vector<ChangeTuple> Tuples(const std::vector<Change>& changes) {
  std::vector<ChangeTuple> out;
  for (const Change& c : changes) {
    out.emplace_back(c.kind, c.user_id, c.server_id);
  }
  return out;
}

// Waits for the result of one asynchronous call.
template <typename T>
class Waiter {
 public:
  ControlPlane::Result<T> Callback() {
    return [this](absl::StatusOr<T> result) {
      result_.emplace(std::move(result));
      done_.Notify();
    };
  }
  absl::StatusOr<T> Get() {
    done_.WaitForNotification();
    return *result_;
  }
  bool done() const { return done_.HasBeenNotified(); }

 private:
  std::optional<absl::StatusOr<T>> result_;
  absl::Notification done_;
};

class StatusWaiter {
 public:
  ControlPlane::Done Callback() {
    return [this](absl::Status status) {
      status_ = std::move(status);
      done_.Notify();
    };
  }
  absl::Status Get() {
    done_.WaitForNotification();
    return status_;
  }

 private:
  absl::Status status_;
  absl::Notification done_;
};

class LocalControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(RegistryLimits{}); }
  void TearDown() override {
    control_.reset();
    voice_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open(RegistryLimits limits) {
    control_.reset();
    voice_.reset();
    registry_.reset();
    dir_ = std::filesystem::temp_directory_path() /
           ("local_control_plane_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto r = Registry::Open((dir_ / "state.db").string(), limits);
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = std::move(*r);
    voice_ = std::make_unique<VoiceCoordinator>(*registry_, router_);
    control_ = std::make_unique<LocalControlPlane>(*registry_, *voice_, router_,
                                                   &stats_);
  }

  absl::StatusOr<uint32_t> Publish(const PublishRequest& request) {
    Waiter<uint32_t> waiter;
    control_->Publish(request, waiter.Callback());
    return waiter.Get();
  }

  static PublishRequest UserJoined(int64_t user, int64_t server) {
    PublishRequest r;
    r.mutable_user_joined()->set_id(user);
    r.mutable_user_joined()->set_server_id(server);
    return r;
  }

  std::filesystem::path dir_;
  RecordingRouter router_;
  PublishStats stats_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<VoiceCoordinator> voice_;
  std::unique_ptr<LocalControlPlane> control_;
};

TEST_F(LocalControlPlaneTest, UserJoinedAddsTheMembershipAndCountsIt) {
  router_.set_recipients(3);
  auto recipients = Publish(UserJoined(8, 3));
  ASSERT_TRUE(recipients.ok()) << recipients.status();
  EXPECT_EQ(*recipients, 3u);
  EXPECT_TRUE(registry_->IsMember(8, 3));
  auto routed = router_.routed();
  ASSERT_EQ(routed.size(), 1u);
  EXPECT_EQ(routed[0].payload,
            R"({"data":{"id":8,"server_id":3},"name":"user_joined"})");
  EXPECT_EQ(routed[0].server_id, 3);
  EXPECT_EQ(Tuples(routed[0].before),
            (std::vector<ChangeTuple>{{Change::Kind::kAdd, 8, 3}}));
  EXPECT_EQ(stats_.total(), 1u);
  EXPECT_EQ(stats_.events(),
            (std::map<std::string, uint64_t>{{"user_joined", 1}}));
  EXPECT_EQ(stats_.latency().count, 1u);
}

TEST_F(LocalControlPlaneTest, UserJoinedOverTheLimitIsRefusedAtOnce) {
  Open(RegistryLimits{.max_memberships_per_user = 1});
  ASSERT_TRUE(Publish(UserJoined(8, 1)).ok());
  Waiter<uint32_t> waiter;
  control_->Publish(UserJoined(8, 3), waiter.Callback());
  EXPECT_TRUE(waiter.done()) << "a refusal is reported before Publish returns";
  absl::StatusOr<uint32_t> result = waiter.Get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.status().message().substr(0, 13), "user_joined: ");
  EXPECT_FALSE(registry_->IsMember(8, 3));
  EXPECT_EQ(router_.routed().size(), 1u);  // the first one only
  EXPECT_EQ(stats_.total(), 1u);
}

TEST_F(LocalControlPlaneTest, UserLeftEndsVoiceAfterTheDelivery) {
  ASSERT_TRUE(registry_->OpenSession("t1", 1, 0, nullptr).ok());
  ASSERT_TRUE(Publish(UserJoined(1, 10)).ok());
  StatusWaiter granted;
  control_->JoinVoice(1, 10, 5, granted.Callback());
  ASSERT_TRUE(granted.Get().ok());
  ASSERT_TRUE(
      std::holds_alternative<push::VoiceAdmission>(voice_->Admit("t1", 5, 7)));
  PublishRequest left;
  left.mutable_user_left()->set_id(1);
  left.mutable_user_left()->set_server_id(10);
  ASSERT_TRUE(Publish(left).ok());
  EXPECT_FALSE(registry_->IsMember(1, 10));
  auto routed = router_.routed();
  ASSERT_GE(routed.size(), 3u);
  // user_joined, user_joined_vc, then user_left before its user_left_vc.
  EXPECT_EQ(routed[routed.size() - 2].payload,
            R"({"data":{"id":1,"server_id":10},"name":"user_left"})");
  EXPECT_EQ(Tuples(routed[routed.size() - 2].after),
            (std::vector<ChangeTuple>{{Change::Kind::kRemove, 1, 10}}));
  EXPECT_EQ(routed.back().payload,
            R"({"data":{"channel_id":5,"id":1,"server_id":10},)"
            R"("name":"user_left_vc"})");
  Waiter<ControlPlane::VoiceChannels> state;
  control_->GetVoiceState(10, state.Callback());
  ASSERT_TRUE(state.Get().ok());
  EXPECT_TRUE(state.Get()->empty());
}

TEST_F(LocalControlPlaneTest, ServerDeletedDropsEveryMembership) {
  ASSERT_TRUE(Publish(UserJoined(1, 10)).ok());
  ASSERT_TRUE(Publish(UserJoined(2, 10)).ok());
  PublishRequest deleted;
  deleted.mutable_server_deleted()->set_id(10);
  ASSERT_TRUE(Publish(deleted).ok());
  EXPECT_TRUE(registry_->MembersOf(10).empty());
  EXPECT_EQ(Tuples(router_.routed().back().after),
            (std::vector<ChangeTuple>{{Change::Kind::kDropServer, 0, 10}}));
  EXPECT_EQ(stats_.events(), (std::map<std::string, uint64_t>{
                                 {"server_deleted", 1}, {"user_joined", 2}}));
}

TEST_F(LocalControlPlaneTest, SetAndGetMemberships) {
  StatusWaiter set;
  control_->SetMemberships(4, {30, 10, 20}, set.Callback());
  ASSERT_TRUE(set.Get().ok());
  Waiter<std::vector<int64_t>> got;
  control_->GetMemberships(4, got.Callback());
  ASSERT_TRUE(got.Get().ok());
  EXPECT_EQ(*got.Get(), (std::vector<int64_t>{10, 20, 30}));
  auto routed = router_.routed();
  ASSERT_EQ(routed.size(), 1u);
  EXPECT_TRUE(routed[0].payload.empty());
  EXPECT_EQ(Tuples(routed[0].before),
            (std::vector<ChangeTuple>{{Change::Kind::kAdd, 4, 10},
                                      {Change::Kind::kAdd, 4, 20},
                                      {Change::Kind::kAdd, 4, 30}}));
  EXPECT_EQ(stats_.total(), 0u);  // not a published event
}

TEST_F(LocalControlPlaneTest, SessionsCloseTheirSockets) {
  StatusWaiter opened;
  control_->OpenSession("tok", 1, 0, opened.Callback());
  ASSERT_TRUE(opened.Get().ok());
  EXPECT_TRUE(router_.closed_users().empty());
  // The token now names another user: user 1's sockets on it are closed.
  StatusWaiter reopened;
  control_->OpenSession("tok", 2, 0, reopened.Callback());
  ASSERT_TRUE(reopened.Get().ok());
  auto closed = router_.closed_users();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].user_id, 1);
  EXPECT_EQ(closed[0].token, registry_->SessionKey("tok"));
  EXPECT_EQ(closed[0].code, push::kCloseSessionClosed);

  Waiter<bool> existed;
  control_->CloseSession("tok", existed.Callback());
  ASSERT_TRUE(existed.Get().ok());
  EXPECT_TRUE(*existed.Get());
  closed = router_.closed_users();
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[1].user_id, 2);
  Waiter<bool> again;
  control_->CloseSession("tok", again.Callback());
  ASSERT_TRUE(again.Get().ok());
  EXPECT_FALSE(*again.Get());
  EXPECT_EQ(router_.closed_users().size(), 2u);
}

TEST_F(LocalControlPlaneTest, LeaveVoiceSaysWhetherThereWasAGrant) {
  StatusWaiter granted;
  control_->JoinVoice(1, 10, 5, granted.Callback());
  ASSERT_TRUE(granted.Get().ok());
  Waiter<bool> left;
  control_->LeaveVoice(1, left.Callback());
  ASSERT_TRUE(left.Get().ok());
  EXPECT_TRUE(*left.Get());
  Waiter<bool> again;
  control_->LeaveVoice(1, again.Callback());
  ASSERT_TRUE(again.Get().ok());
  EXPECT_FALSE(*again.Get());
}

}  // namespace
}  // namespace herald::service
