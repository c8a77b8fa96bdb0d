#include "service/voice_coordinator.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/clock.h"

namespace herald::service {
namespace {

// Records what the coordinator asks of the data plane.
class RecordingRouter : public push::Router {
 public:
  struct Routed {
    std::string payload;
    int64_t server_id;
  };
  struct Closed {
    push::ConnectionId id;
    uint16_t code;
    std::string reason;
  };
  std::vector<Routed> routed;
  std::vector<Closed> closed;

  void Route(push::Delivery d, RoutedCallback done) override {
    routed.push_back({d.payload, d.server_id});
    if (done) std::move(done)(0);
  }
  void CloseUser(int64_t, std::string, uint16_t, std::string) override {}
  void CloseConnection(push::ConnectionId id, uint16_t code,
                       std::string reason) override {
    closed.push_back({id, code, reason});
  }
};

std::string Joined(int64_t u, int64_t c, int64_t s) {
  return "{\"data\":{\"channel_id\":" + std::to_string(c) +
         ",\"id\":" + std::to_string(u) +
         ",\"server_id\":" + std::to_string(s) +
         "},\"name\":\"user_joined_vc\"}";
}
std::string Left(int64_t u, int64_t c, int64_t s) {
  return "{\"data\":{\"channel_id\":" + std::to_string(c) +
         ",\"id\":" + std::to_string(u) +
         ",\"server_id\":" + std::to_string(s) + "},\"name\":\"user_left_vc\"}";
}

class VoiceCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("voice_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto r = Registry::Open((dir_ / "state.db").string());
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = std::move(*r);
    ASSERT_TRUE(registry_->OpenSession("t1", 1, 0, nullptr).ok());
    ASSERT_TRUE(registry_->OpenSession("t2", 2, 0, nullptr).ok());
    voice_ = std::make_unique<VoiceCoordinator>(*registry_, router_);
  }
  void TearDown() override {
    voice_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  uint16_t RefusalCode(std::string_view token, int64_t channel,
                       push::ConnectionId id) {
    auto r = voice_->Admit(token, channel, id);
    if (auto* refusal = std::get_if<push::Refusal>(&r)) return refusal->code;
    return 0;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Registry> registry_;
  RecordingRouter router_;
  std::unique_ptr<VoiceCoordinator> voice_;
};

TEST_F(VoiceCoordinatorTest, AdmissionNeedsTokenAndMatchingGrant) {
  EXPECT_EQ(RefusalCode("nope", 5, 1), 4001);
  EXPECT_EQ(RefusalCode("t1", 5, 1), 4003);
  voice_->Grant(1, 10, 5, nullptr);
  EXPECT_EQ(RefusalCode("t1", 6, 1), 4003);
  EXPECT_TRUE(router_.routed.empty());
  EXPECT_EQ(RefusalCode("t1", 5, 1), 0);
  ASSERT_EQ(router_.routed.size(), 1u);
  EXPECT_EQ(router_.routed[0].payload, Joined(1, 5, 10));
  EXPECT_EQ(router_.routed[0].server_id, 10);
  auto state = voice_->State(10);
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[5], std::vector<int64_t>{1});
}

TEST_F(VoiceCoordinatorTest, DisconnectEmitsLeftButKeepsGrant) {
  voice_->Grant(1, 10, 5, nullptr);
  ASSERT_EQ(RefusalCode("t1", 5, 7), 0);
  voice_->OnClosed(7);
  ASSERT_EQ(router_.routed.size(), 2u);
  EXPECT_EQ(router_.routed[1].payload, Left(1, 5, 10));
  EXPECT_TRUE(voice_->State(10).empty());
  EXPECT_EQ(RefusalCode("t1", 5, 8), 0);  // reconnect allowed
}

TEST_F(VoiceCoordinatorTest, SecondConnectionSameChannelReplacesSilently) {
  voice_->Grant(1, 10, 5, nullptr);
  ASSERT_EQ(RefusalCode("t1", 5, 7), 0);
  ASSERT_EQ(RefusalCode("t1", 5, 8), 0);
  EXPECT_EQ(router_.routed.size(), 1u);  // only the first joined
  ASSERT_EQ(router_.closed.size(), 1u);
  EXPECT_EQ(router_.closed[0].id, 7u);
  EXPECT_EQ(router_.closed[0].code, 4005);
  EXPECT_EQ(router_.closed[0].reason, "replaced by a newer voice connection");
  voice_->OnClosed(7);  // the replaced one ending changes nothing
  EXPECT_EQ(router_.routed.size(), 1u);
  voice_->OnClosed(8);
  EXPECT_EQ(router_.routed.back().payload, Left(1, 5, 10));
}

TEST_F(VoiceCoordinatorTest, GrantForAnotherChannelMovesTheUserOut) {
  voice_->Grant(1, 10, 5, nullptr);
  ASSERT_EQ(RefusalCode("t1", 5, 7), 0);
  voice_->Grant(1, 10, 5, nullptr);  // same channel: nothing happens
  EXPECT_TRUE(router_.closed.empty());
  voice_->Grant(1, 10, 6, nullptr);
  ASSERT_EQ(router_.closed.size(), 1u);
  EXPECT_EQ(router_.closed[0].code, 4005);
  EXPECT_EQ(router_.closed[0].reason, "moved to another voice channel");
  EXPECT_EQ(router_.routed.back().payload, Left(1, 5, 10));
  EXPECT_EQ(RefusalCode("t1", 5, 9), 4003);
  EXPECT_EQ(RefusalCode("t1", 6, 9), 0);
}

TEST_F(VoiceCoordinatorTest, LeaveRevokesAndEnds) {
  EXPECT_FALSE(voice_->Leave(1, nullptr));
  voice_->Grant(1, 10, 5, nullptr);
  ASSERT_EQ(RefusalCode("t1", 5, 7), 0);
  EXPECT_TRUE(voice_->Leave(1, nullptr));
  ASSERT_EQ(router_.closed.size(), 1u);
  EXPECT_EQ(router_.closed[0].code, 4006);
  EXPECT_EQ(router_.routed.back().payload, Left(1, 5, 10));
  EXPECT_EQ(RefusalCode("t1", 5, 8), 4003);
}

TEST_F(VoiceCoordinatorTest, ChannelAndServerDeletionEndPresence) {
  voice_->Grant(1, 10, 5, nullptr);
  voice_->Grant(2, 10, 5, nullptr);
  ASSERT_EQ(RefusalCode("t1", 5, 7), 0);
  ASSERT_EQ(RefusalCode("t2", 5, 8), 0);
  voice_->EndForChannel(10, 5, nullptr);
  ASSERT_EQ(router_.closed.size(), 2u);
  EXPECT_EQ(router_.routed[2].payload, Left(1, 5, 10));
  EXPECT_EQ(router_.routed[3].payload, Left(2, 5, 10));
  EXPECT_EQ(RefusalCode("t1", 5, 9), 4003);  // grants went with it

  voice_->Grant(1, 11, 6, nullptr);
  ASSERT_EQ(RefusalCode("t1", 6, 10), 0);
  const size_t routed = router_.routed.size();
  voice_->EndForServer(11, nullptr);
  EXPECT_EQ(router_.routed.size(), routed);  // nobody left to tell
  EXPECT_EQ(router_.closed.back().id, 10u);
  EXPECT_EQ(router_.closed.back().code, 4006);
}

TEST_F(VoiceCoordinatorTest, UserLeavingAnotherServerKeepsVoice) {
  voice_->Grant(1, 10, 5, nullptr);
  ASSERT_EQ(RefusalCode("t1", 5, 7), 0);
  voice_->EndForUserInServer(1, 99, nullptr);
  EXPECT_TRUE(router_.closed.empty());
  voice_->EndForUserInServer(1, 10, nullptr);
  ASSERT_EQ(router_.closed.size(), 1u);
  EXPECT_EQ(router_.routed.back().payload, Left(1, 5, 10));
}

TEST_F(VoiceCoordinatorTest, GrantsSurviveReopen) {
  voice_->Grant(1, 10, 5, nullptr);
  voice_.reset();
  registry_->Flush();
  registry_.reset();
  auto r = Registry::Open((dir_ / "state.db").string());
  ASSERT_TRUE(r.ok());
  registry_ = std::move(*r);
  voice_ = std::make_unique<VoiceCoordinator>(*registry_, router_);
  EXPECT_EQ(RefusalCode("t1", 5, 1), 0);
}

}  // namespace
}  // namespace herald::service
