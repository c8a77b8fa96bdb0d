// HeraldService against a real in-process gRPC server and a Router whose
// completions arrive on its own thread, as the push workers' do: replies
// must be sent from the ControlExecutor, never from the completing thread
// (defect 6: PublishStreamReactor finished on a push worker, under its own
// lock, racing gRPC's OnDone).

#include "service/herald_service.h"

#include <stdlib.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "gtest/gtest.h"
#include "push/router.h"
#include "service/control_executor.h"
#include "service/registry.h"
#include "service/voice_coordinator.h"

namespace herald::service {
namespace {

// Completes every Route on its own thread, like a push worker.
class ThreadedRouter final : public push::Router {
 public:
  ThreadedRouter() : thread_([this] { Run(); }) {}
  ~ThreadedRouter() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  std::thread::id thread_id() const { return thread_.get_id(); }

  // Completions wait until Release(): so they arrive after the client has
  // half-closed, and the reply can only come from a completion.
  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }

  void Route(push::Delivery delivery, RoutedCallback done) override {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(done));
  }
  void CloseUser(int64_t, std::string, uint16_t, std::string) override {}
  void CloseConnection(push::ConnectionId, uint16_t, std::string) override {}

 private:
  void Run() {
    for (;;) {
      RoutedCallback done;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return (!queue_.empty() && !held_) || stopping_;
        };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        done = std::move(queue_.front());
        queue_.pop_front();
      }
      if (done) std::move(done)(1);
    }
  }

  absl::Mutex mu_;
  std::deque<RoutedCallback> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Records the thread each call's status is sent from: gRPC runs the
// PRE_SEND_STATUS hook on the thread that calls Finish.
class FinishThreads {
 public:
  void Record() {
    absl::MutexLock lock(&mu_);
    threads_.push_back(std::this_thread::get_id());
  }
  std::vector<std::thread::id> Get() {
    absl::MutexLock lock(&mu_);
    return threads_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

class FinishThreadInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit FinishThreadInterceptor(FinishThreads* threads)
      : threads_(threads) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      threads_->Record();
    }
    methods->Proceed();
  }

 private:
  FinishThreads* const threads_;
};

class FinishThreadFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit FinishThreadFactory(FinishThreads* threads) : threads_(threads) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new FinishThreadInterceptor(threads_);
  }

 private:
  FinishThreads* const threads_;
};

class HeraldServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "herald_service.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto registry = Registry::Open(dir_ + "/state.db");
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    voice_ = std::make_unique<VoiceCoordinator>(*registry_, router_);
    service_ = std::make_unique<HeraldService>(*registry_, *voice_, router_,
                                               executor_, ValidationLimits{});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        factories;
    factories.push_back(std::make_unique<FinishThreadFactory>(&finishes_));
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = v1::Herald::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    executor_.Stop();
    registry_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static v1::PublishRequest ServerEdited(int64_t id) {
    v1::PublishRequest request;
    request.mutable_server_edited()->set_id(id);
    request.mutable_server_edited()->set_name("n");
    return request;
  }

  void ExpectNoFinishOnTheRouterThread(size_t calls) {
    std::vector<std::thread::id> threads = finishes_.Get();
    EXPECT_EQ(threads.size(), calls);
    for (std::thread::id id : threads) {
      EXPECT_NE(id, router_.thread_id())
          << "a reply was sent from the Router's completion thread";
    }
  }

  std::string dir_;
  ThreadedRouter router_;
  ControlExecutor executor_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<VoiceCoordinator> voice_;
  std::unique_ptr<HeraldService> service_;
  FinishThreads finishes_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Herald::Stub> stub_;
};

TEST_F(HeraldServiceTest, PublishStreamFinishesOffTheRouterThread) {
  constexpr int kStreams = 8;
  for (int s = 0; s < kStreams; ++s) {
    router_.Hold();
    grpc::ClientContext context;
    v1::PublishStreamResponse response;
    auto writer = stub_->PublishStream(&context, &response);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(writer->Write(ServerEdited(i)));
    ASSERT_TRUE(writer->WritesDone());
    std::thread release([this] {
      // Generous: the server sees the half-close long before this.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      router_.Release();
    });
    grpc::Status status = writer->Finish();
    release.join();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.events(), 5u);
    EXPECT_EQ(response.recipients(), 5u);
  }
  ExpectNoFinishOnTheRouterThread(kStreams);
}

TEST_F(HeraldServiceTest, UnaryRepliesAreSentOffTheRouterThread) {
  for (int i = 1; i <= 4; ++i) {
    grpc::ClientContext context;
    v1::PublishResponse response;
    grpc::Status status = stub_->Publish(&context, ServerEdited(i), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.recipients(), 1u);
  }
  grpc::ClientContext context;
  v1::SetMembershipsRequest request;
  request.set_user_id(1);
  request.add_server_ids(10);
  v1::SetMembershipsResponse response;
  ASSERT_TRUE(stub_->SetMemberships(&context, request, &response).ok());
  ExpectNoFinishOnTheRouterThread(5);
}

}  // namespace
}  // namespace herald::service
