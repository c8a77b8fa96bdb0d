#pragma once

// Shared by cluster_bus_test.cc and cluster_gate_test.cc: a real
// redis-server (h3's fixture), a fake push::Router that
// models connections and records every call, and a "node" (RedisClient,
// ClusterState, ClusterBus) on that Redis.

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "push/router.h"
#include "service/cluster/bus_relay.h"
#include "service/cluster/cluster_bus.h"
#include "service/cluster/cluster_state.h"
#include "service/redis/redis_client.h"
#include "service/redis/redis_url.h"
#include "tests/service/redis_server_fixture.h"

namespace herald::service::cluster::cluster_test {

using namespace std::chrono_literals;

inline constexpr auto kWait = 5s;

// Runs `start(callback)` and waits for the callback's value.
template <typename T, typename Start>
T Call(Start&& start) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  start([promise](T value) mutable { promise->set_value(std::move(value)); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within 5 s";
    std::abort();
  }
  return future.get();
}

// Polls `condition` up to 5 s.
inline bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// h3's redis-server fixture (TCP on a free port, no persistence), as the
// cluster tests use it.
class RedisServer {
 public:
  RedisServer() {
    auto server = herald::testing::RedisServer::Start();
    if (!server.ok()) {
      ADD_FAILURE() << server.status();
      std::abort();
    }
    server_ = *std::move(server);
  }
  redis::RedisUrl url() const {
    return redis::RedisUrl::Parse(server_->Url()).value();
  }
  // Killed: every client sees its connections fail.
  void Stop() { EXPECT_TRUE(server_->Kill().ok()); }

 private:
  std::unique_ptr<herald::testing::RedisServer> server_;
};

// A push::Router modelling connected users (connections per user, their
// servers, updated by the deliveries' membership changes as PushServer
// does) and recording every call.
class FakeRouter : public push::Router {
 public:
  void Connect(int64_t user_id, std::vector<int64_t> servers,
               int connections = 1) {
    absl::MutexLock lock(&mu_);
    users_[user_id].connections += connections;
    users_[user_id].servers.insert(servers.begin(), servers.end());
  }

  void Route(push::Delivery delivery, RoutedCallback done) override {
    uint32_t recipients = 0;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& c : delivery.before) ApplyLocked(c);
      if (!delivery.payload.empty()) recipients = CountLocked(delivery);
      for (const auto& c : delivery.after) ApplyLocked(c);
      routes_.push_back(delivery);
    }
    // As PushServer: the callback runs on another (I/O) thread.
    if (done) {
      absl::MutexLock lock(&mu_);
      threads_.emplace_back([done = std::move(done), recipients]() mutable {
        std::move(done)(recipients);
      });
    }
  }
  void ClearRoutes() {
    absl::MutexLock lock(&mu_);
    routes_.clear();
  }
  // Waits for the callbacks' threads.
  void Join() {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  void CloseUser(int64_t user_id, std::string token, uint16_t code,
                 std::string reason) override {
    absl::MutexLock lock(&mu_);
    close_users_.push_back({user_id, std::move(token), code, reason});
  }
  void CloseConnection(push::ConnectionId id, uint16_t code,
                       std::string reason) override {
    absl::MutexLock lock(&mu_);
    closed_.push_back({id, code, std::move(reason)});
  }

  struct Closed {
    push::ConnectionId id;
    uint16_t code;
    std::string reason;
  };
  struct ClosedUser {
    int64_t user_id;
    std::string token;
    uint16_t code;
    std::string reason;
  };
  std::vector<push::Delivery> routes() const {
    absl::MutexLock lock(&mu_);
    return routes_;
  }
  // The payloads routed, in order (membership-only deliveries left out).
  std::vector<std::string> payloads() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& d : routes_) {
      if (!d.payload.empty()) out.push_back(d.payload);
    }
    return out;
  }
  std::vector<Closed> closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }
  std::vector<ClosedUser> closed_users() const {
    absl::MutexLock lock(&mu_);
    return close_users_;
  }
  std::set<int64_t> servers_of(int64_t user_id) const {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user_id);
    return it == users_.end() ? std::set<int64_t>() : it->second.servers;
  }

 private:
  struct User {
    int connections = 0;
    std::set<int64_t> servers;
  };
  void ApplyLocked(const push::MembershipChange& c)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    using Kind = push::MembershipChange::Kind;
    if (c.kind == Kind::kDropServer) {
      for (auto& [id, user] : users_) user.servers.erase(c.server_id);
      return;
    }
    auto it = users_.find(c.user_id);
    if (it == users_.end()) return;
    if (c.kind == Kind::kAdd) {
      it->second.servers.insert(c.server_id);
    } else {
      it->second.servers.erase(c.server_id);
    }
  }
  uint32_t CountLocked(const push::Delivery& d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::set<int64_t> listed(d.users.begin(), d.users.end());
    uint32_t n = 0;
    for (const auto& [id, user] : users_) {
      if (d.server_id != 0) {
        if (!user.servers.contains(d.server_id)) continue;
        if (!listed.empty() && !listed.contains(id)) continue;
      } else if (!listed.contains(id)) {
        continue;
      }
      n += user.connections;
    }
    return n;
  }

  mutable absl::Mutex mu_;
  std::map<int64_t, User> users_ ABSL_GUARDED_BY(mu_);
  std::vector<push::Delivery> routes_ ABSL_GUARDED_BY(mu_);
  std::vector<Closed> closed_ ABSL_GUARDED_BY(mu_);
  std::vector<ClosedUser> close_users_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// One cluster node: its RedisClient, ClusterState and ClusterBus over a
// FakeRouter, wired as HeraldApp wires them.
class Node {
 public:
  explicit Node(const RedisServer& server, ClusterBusOptions options = {}) {
    relay_ = std::make_shared<BusRelay>();
    redis::RedisClientOptions redis_options;
    redis_options.url = server.url();
    redis_ = redis::RedisClient::Start(redis_options, relay_->Handlers());
    state_ = std::make_unique<ClusterState>(*redis_, RegistryLimits{});
    bus_ = std::make_unique<ClusterBus>(*redis_, *state_, router_, options,
                                        *relay_);
    EXPECT_TRUE(Eventually([&] { return redis_->connected(); }));
    EXPECT_TRUE(Call<absl::Status>([&](auto done) {
                  state_->Init(std::move(done));
                }).ok());
    EXPECT_TRUE(Call<absl::Status>([&](auto done) {
                  bus_->Start(std::move(done));
                }).ok());
  }
  ~Node() {
    bus_->Stop();
    redis_->Stop();
    router_.Join();
    bus_.reset();
    state_.reset();
    redis_.reset();
  }

  ClusterBus& bus() { return *bus_; }
  ClusterState& state() { return *state_; }
  redis::RedisClient& redis() { return *redis_; }
  FakeRouter& router() { return router_; }

  // AdmitUser, waited for.
  absl::StatusOr<std::vector<int64_t>> Admit(int64_t user_id) {
    return Call<absl::StatusOr<std::vector<int64_t>>>(
        [&](auto done) { bus_->AdmitUser(user_id, std::move(done)); });
  }
  // Publish, waited for.
  absl::StatusOr<uint32_t> Publish(std::string channel,
                                   ClusterBus::Outgoing message) {
    return Call<absl::StatusOr<uint32_t>>([&](auto done) {
      bus_->Publish(std::move(channel), std::move(message), std::move(done));
    });
  }
  // A raw command on this node's client.
  redis::RedisReply Command(std::vector<std::string> argv) {
    auto reply = Call<absl::StatusOr<redis::RedisReply>>(
        [&](auto done) { redis_->Command(std::move(argv), std::move(done)); });
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : redis::RedisReply{};
  }
  // How many connections subscribe `channel` (PUBSUB NUMSUB).
  int64_t Subscribers(const std::string& channel) {
    redis::RedisReply reply = Command({"PUBSUB", "NUMSUB", channel});
    if (reply.elements.size() != 2) return -1;
    return reply.elements[1].integer;
  }
  // Runs on the bus thread and waits: everything posted before has run.
  void Sync() {
    Call<bool>([&](auto done) {
      redis_->Post([done = std::move(done)]() mutable { done(true); });
    });
  }

 private:
  FakeRouter router_;
  std::shared_ptr<BusRelay> relay_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<ClusterState> state_;
  std::unique_ptr<ClusterBus> bus_;
};

inline push::MembershipChange Add(int64_t user, int64_t server) {
  return {push::MembershipChange::Kind::kAdd, user, server};
}
inline push::MembershipChange Remove(int64_t user, int64_t server) {
  return {push::MembershipChange::Kind::kRemove, user, server};
}

}  // namespace herald::service::cluster::cluster_test
