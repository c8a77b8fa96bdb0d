#include "bench/loadgen/herald_setup.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "herald/v1/herald.grpc.pb.h"

namespace herald::bench {
namespace {

constexpr int kInFlight = 256;

// Counts calls in flight and failures; shared by the caller and gRPC's
// completion threads under its mutex.
class CallWindow {
 public:
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < kInFlight; });
    ++in_flight_;
  }
  void Release(const grpc::Status& status) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (!status.ok()) {
      ++failures_;
      if (first_error_.empty()) first_error_ = status.error_message();
    }
    cv_.notify_all();
  }
  void WaitIdle() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  int failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }
  std::string first_error() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int failures_ = 0;
  std::string first_error_;
};

template <typename Req, typename Resp>
struct Call {
  grpc::ClientContext context;
  Req request;
  Resp response;
};

}  // namespace

std::vector<int64_t> HeraldSetup::UsersOf(int64_t first, int count,
                                          const MembershipPlan& plan) {
  std::vector<int64_t> users;
  users.reserve(count);
  for (int i = 0; i < count; ++i) {
    users.push_back(plan.UserOfConnection(first + i));
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  return users;
}

bool HeraldSetup::Run(int64_t first, int count, const MembershipPlan& plan,
                      std::string* error) {
  const std::vector<int64_t> users = UsersOf(first, count, plan);
  auto created = herald::tools::CreateHeraldChannel(address_, auth_);
  if (!created.ok()) {
    *error = std::string(created.status().message());
    return false;
  }
  std::shared_ptr<grpc::Channel> channel = *std::move(created);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10))) {
    *error = "cannot reach gRPC at " + address_;
    return false;
  }
  auto stub = herald::v1::Herald::NewStub(channel);
  // Shared with the completions: the last one may still be leaving
  // Release() when WaitIdle() returns.
  auto shared_window = std::make_shared<CallWindow>();
  CallWindow& window = *shared_window;
  auto deadline = [] {
    return std::chrono::system_clock::now() + std::chrono::seconds(60);
  };
  for (int64_t user : users) {
    using C =
        Call<herald::v1::OpenSessionRequest, herald::v1::OpenSessionResponse>;
    auto* call = new C;
    call->context.set_deadline(deadline());
    std::string token = std::to_string(user);
    token.insert(token.begin(), 'u');
    call->request.set_token(token);
    call->request.set_user_id(user);
    window.Acquire();
    stub->async()->OpenSession(&call->context, &call->request, &call->response,
                               [call, shared_window](grpc::Status s) {
                                 delete call;
                                 shared_window->Release(s);
                               });
  }
  std::vector<int32_t> servers;
  for (int64_t user : users) {
    using C = Call<herald::v1::SetMembershipsRequest,
                   herald::v1::SetMembershipsResponse>;
    auto* call = new C;
    call->context.set_deadline(deadline());
    call->request.set_user_id(user);
    plan.ServersOf(user, &servers);
    for (int32_t s : servers) call->request.add_server_ids(s);
    window.Acquire();
    stub->async()->SetMemberships(&call->context, &call->request,
                                  &call->response,
                                  [call, shared_window](grpc::Status s) {
                                    delete call;
                                    shared_window->Release(s);
                                  });
  }
  window.WaitIdle();
  if (window.failures() > 0) {
    *error = std::to_string(window.failures()) +
             " setup calls failed, first: " + window.first_error();
    return false;
  }
  return true;
}

}  // namespace herald::bench
