#include "service/stats_collector.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "push/push_server.h"
#include "service/grpc_call_stats.h"
#include "service/publish_stats.h"
#include "service/registry.h"
#include "service/voice_coordinator.h"

namespace herald::service {
namespace {

class StatsCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("stats_collector_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto r = Registry::Open((dir_ / "state.db").string());
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = std::move(*r);
    push::PushOptions options;
    options.bind_address = "127.0.0.1";
    options.main_port = 0;
    options.voice_port = 0;
    options.plain = true;
    options.threads = 1;
    auto p = push::PushServer::Create(options);
    ASSERT_TRUE(p.ok()) << p.status();
    push_ = std::move(*p);
    voice_ = std::make_unique<VoiceCoordinator>(*registry_, *push_);
    stats_ = std::make_unique<StatsCollector>("node-t", *push_, *registry_,
                                              *voice_, publish_, grpc_);
  }
  void TearDown() override {
    stats_.reset();
    voice_.reset();
    push_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<push::PushServer> push_;
  std::unique_ptr<VoiceCoordinator> voice_;
  PublishStats publish_;
  GrpcCallStats grpc_;
  std::unique_ptr<StatsCollector> stats_;
};

TEST_F(StatsCollectorTest, HistoryKeepsTheLatest600Samples) {
  for (size_t i = 0; i < StatsCollector::kMaxHistory + 5; ++i) {
    stats_->Sample();
  }
  const StatsSnapshot s = stats_->Collect();
  ASSERT_EQ(s.history.size(), 600u);
  for (size_t i = 1; i < s.history.size(); ++i) {
    EXPECT_LE(s.history[i - 1].t, s.history[i].t);
  }
}

TEST_F(StatsCollectorTest, RatesFollowTheLastSample) {
  stats_->Sample();
  for (int i = 0; i < 50; ++i) publish_.CountEvent("message_created");
  stats_->Sample();
  const StatsSnapshot s = stats_->Collect();
  EXPECT_GT(s.events_per_s, 0);
  EXPECT_EQ(s.history.back().events_per_s, s.events_per_s);
  EXPECT_EQ(s.history.front().events_per_s, 0);
  EXPECT_EQ(s.events_published, 50u);
  EXPECT_EQ(s.events_by_name.at("message_created"), 50u);
}

TEST_F(StatsCollectorTest, CollectsRegistryAndIdentity) {
  ASSERT_TRUE(registry_->OpenSession("tok", 7, 0, nullptr).ok());
  ASSERT_TRUE(registry_->SetMemberships(7, {1, 2}, nullptr).ok());
  registry_->SetGrant(7, {1, 3}, nullptr);
  registry_->Flush();
  grpc_.Count("/herald.v1.Herald/Publish", 3);
  const StatsSnapshot s = stats_->Collect();
  EXPECT_EQ(s.version, "0.1.0");
  EXPECT_EQ(s.node, "node-t");
  EXPECT_EQ(s.sessions, 1u);
  EXPECT_EQ(s.memberships, 2u);
  EXPECT_EQ(s.voice_grants, 1u);
  EXPECT_GE(s.commit_latency.count, 1u);
  EXPECT_EQ(s.write_queue, 0u);
  EXPECT_TRUE(s.voice.empty());  // a grant is not presence
  EXPECT_EQ(s.grpc_calls.at({"herald.v1.Herald/Publish", "INVALID_ARGUMENT"}),
            1u);
  EXPECT_TRUE(s.push.plain);
  EXPECT_FALSE(s.push.walked);  // the workers are not running
  EXPECT_GT(s.process.rss_bytes, 0u);
  EXPECT_GT(s.process.open_fds, 0u);
}

}  // namespace
}  // namespace herald::service
