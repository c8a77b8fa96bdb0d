// PublishStream over a scripted ControlPlane: an event the control plane
// refuses before Publish returns ends the stream (nothing after it is
// published, the error names the event); an error reported after Publish
// returned is the call's status, unprefixed, and reading goes on.

#include "service/publish_stream_reactor.h"

#include <chrono>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/control_executor.h"
#include "service/control_plane.h"
#include "service/herald_service.h"

namespace herald::service {
namespace {

// Publishes server_edited events by id: `refused` fails before Publish
// returns, `failed_later` fails once the next event is published (so
// certainly after its own Publish returned); the others reach 2
// connections.
class ScriptedControlPlane final : public ControlPlane {
 public:
  ScriptedControlPlane(int64_t refused, int64_t failed_later)
      : refused_(refused), failed_later_(failed_later) {}
  ~ScriptedControlPlane() override { CompleteLater(); }

  void Publish(const v1::PublishRequest& request,
               Result<uint32_t> done) override {
    CompleteLater();
    const int64_t id = request.server_edited().id();
    {
      absl::MutexLock lock(&mu_);
      published_.push_back(id);
    }
    if (id == refused_) {
      std::move(done)(absl::ResourceExhaustedError("server_edited: no"));
    } else if (id == failed_later_) {
      absl::MutexLock lock(&mu_);
      later_ = std::move(done);
    } else {
      std::move(done)(2u);
    }
  }
  void OpenSession(const std::string&, int64_t, int64_t, Done done) override {
    std::move(done)(absl::UnimplementedError(""));
  }
  void CloseSession(const std::string&, Result<bool> done) override {
    std::move(done)(absl::UnimplementedError(""));
  }
  void SetMemberships(int64_t, std::vector<int64_t>, Done done) override {
    std::move(done)(absl::UnimplementedError(""));
  }
  void GetMemberships(int64_t, Result<std::vector<int64_t>> done) override {
    std::move(done)(absl::UnimplementedError(""));
  }
  void JoinVoice(int64_t, int64_t, int64_t, Done done) override {
    std::move(done)(absl::UnimplementedError(""));
  }
  void LeaveVoice(int64_t, Result<bool> done) override {
    std::move(done)(absl::UnimplementedError(""));
  }
  void GetVoiceState(int64_t, Result<VoiceChannels> done) override {
    std::move(done)(absl::UnimplementedError(""));
  }

  std::vector<int64_t> published() {
    absl::MutexLock lock(&mu_);
    return published_;
  }

 private:
  void CompleteLater() {
    Result<uint32_t> later;
    {
      absl::MutexLock lock(&mu_);
      later = std::move(later_);
      later_ = nullptr;
    }
    if (later) std::move(later)(absl::DataLossError("commit failed"));
  }

  const int64_t refused_;
  const int64_t failed_later_;
  absl::Mutex mu_;
  std::vector<int64_t> published_ ABSL_GUARDED_BY(mu_);
  Result<uint32_t> later_ ABSL_GUARDED_BY(mu_);
};

class PublishStreamReactorTest : public ::testing::Test {
 protected:
  void Start(int64_t refused, int64_t failed_later) {
    control_ = std::make_unique<ScriptedControlPlane>(refused, failed_later);
    service_ = std::make_unique<HeraldService>(*control_, executor_,
                                               ValidationLimits{});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Herald::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    executor_.Stop();
  }

  // Streams server_edited events 1..n; returns the call's status.
  grpc::Status Stream(int n, v1::PublishStreamResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    auto writer = stub_->PublishStream(&context, response);
    for (int i = 1; i <= n; ++i) {
      v1::PublishRequest request;
      request.mutable_server_edited()->set_id(i);
      request.mutable_server_edited()->set_name("n");
      if (!writer->Write(request)) break;  // the server has finished
    }
    writer->WritesDone();
    return writer->Finish();
  }

  ControlExecutor executor_;
  std::unique_ptr<ScriptedControlPlane> control_;
  std::unique_ptr<HeraldService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Herald::Stub> stub_;
};

TEST_F(PublishStreamReactorTest, CountsEventsAndRecipients) {
  Start(/*refused=*/0, /*failed_later=*/0);
  v1::PublishStreamResponse response;
  grpc::Status status = Stream(5, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.events(), 5u);
  EXPECT_EQ(response.recipients(), 10u);
  EXPECT_EQ(control_->published(), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_F(PublishStreamReactorTest, ARefusalEndsTheStreamAndNamesTheEvent) {
  Start(/*refused=*/2, /*failed_later=*/0);
  v1::PublishStreamResponse response;
  grpc::Status status = Stream(4, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "events[1].server_edited: no (1 earlier events were delivered)");
  EXPECT_EQ(control_->published(), (std::vector<int64_t>{1, 2}));
}

TEST_F(PublishStreamReactorTest, ALaterFailureIsTheStatusButReadingGoesOn) {
  Start(/*refused=*/0, /*failed_later=*/2);
  v1::PublishStreamResponse response;
  grpc::Status status = Stream(4, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(status.error_message(), "commit failed");
  EXPECT_EQ(control_->published(), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(PublishStreamReactorTest, UnaryPublishRepliesWithTheControlPlane) {
  Start(/*refused=*/2, /*failed_later=*/0);
  for (int64_t id : {1, 2}) {
    grpc::ClientContext context;
    v1::PublishRequest request;
    request.mutable_server_edited()->set_id(id);
    request.mutable_server_edited()->set_name("n");
    v1::PublishResponse response;
    grpc::Status status = stub_->Publish(&context, request, &response);
    if (id == 1) {
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(response.recipients(), 2u);
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_EQ(status.error_message(), "server_edited: no");
    }
  }
}

}  // namespace
}  // namespace herald::service
