#include "service/redis/redis_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/service/redis_server_fixture.h"

namespace herald::service::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testing::RedisServer;
using testing::RedisServerOptions;

// What the handlers saw; any thread may wait on it.
class Events {
 public:
  struct Message {
    std::string channel;
    std::string payload;
  };

  RedisHandlers Handlers() {
    RedisHandlers h;
    h.on_message = [this](std::string_view channel, std::string_view payload) {
      std::lock_guard lock(mu_);
      messages_.push_back({std::string(channel), std::string(payload)});
      cv_.notify_all();
    };
    h.on_connected = [this] {
      std::lock_guard lock(mu_);
      ++connected_;
      cv_.notify_all();
    };
    h.on_disconnected = [this](const absl::Status& why) {
      std::lock_guard lock(mu_);
      disconnects_.push_back(why);
      cv_.notify_all();
    };
    return h;
  }

  bool WaitConnected(int count, milliseconds timeout = seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return connected_ >= count; });
  }
  bool WaitDisconnects(size_t count, milliseconds timeout = seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return disconnects_.size() >= count; });
  }
  bool WaitMessages(size_t count, milliseconds timeout = seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return messages_.size() >= count; });
  }
  int connected() {
    std::lock_guard lock(mu_);
    return connected_;
  }
  std::vector<absl::Status> disconnects() {
    std::lock_guard lock(mu_);
    return disconnects_;
  }
  std::vector<Message> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int connected_ = 0;
  std::vector<absl::Status> disconnects_;
  std::vector<Message> messages_;
};

// A reply callback whose result a test can wait for.
class Pending {
 public:
  Pending() : future_(promise_->get_future()) {}
  RedisClient::ReplyCallback Callback() {
    return [promise = promise_](absl::StatusOr<RedisReply> r) mutable {
      promise->set_value(std::move(r));
    };
  }
  absl::StatusOr<RedisReply> Get(milliseconds timeout = seconds(10)) {
    if (future_.wait_for(timeout) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: no answer");
    }
    return future_.get();
  }

 private:
  std::shared_ptr<std::promise<absl::StatusOr<RedisReply>>> promise_ =
      std::make_shared<std::promise<absl::StatusOr<RedisReply>>>();
  std::future<absl::StatusOr<RedisReply>> future_;
};

absl::StatusOr<RedisReply> Call(RedisClient& client,
                                std::vector<std::string> argv) {
  Pending pending;
  client.Command(std::move(argv), pending.Callback());
  return pending.Get();
}

absl::Status SubscribeSync(RedisClient& client, std::string channel) {
  auto promise = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> future = promise->get_future();
  client.Subscribe(std::move(channel), [promise](absl::Status s) mutable {
    promise->set_value(std::move(s));
  });
  if (future.wait_for(seconds(10)) != std::future_status::ready) {
    return absl::DeadlineExceededError("test: no confirmation");
  }
  return future.get();
}

// Polls `condition` for up to `timeout`.
bool Eventually(const std::function<bool()>& condition,
                milliseconds timeout = seconds(10)) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return condition();
}

int64_t Subscribers(const RedisServer& server, const std::string& channel) {
  absl::StatusOr<RedisReply> r = server.Command({"PUBSUB", "NUMSUB", channel});
  if (!r.ok() || r->elements.size() != 2) return -1;
  return r->elements[1].integer;
}

class RedisClientTest : public ::testing::Test {
 protected:
  void StartServer(RedisServerOptions options = {}) {
    absl::StatusOr<std::unique_ptr<RedisServer>> server =
        RedisServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  RedisClientOptions Options() {
    RedisClientOptions options;
    absl::StatusOr<RedisUrl> url = RedisUrl::Parse(server_->Url());
    EXPECT_TRUE(url.ok()) << url.status();
    options.url = *url;
    options.command_timeout = seconds(3);
    options.reconnect_min = milliseconds(20);
    options.reconnect_max = milliseconds(200);
    return options;
  }

  // Starts the client and waits for on_connected.
  void Connect(RedisClientOptions options) {
    client_ = RedisClient::Start(std::move(options), events_.Handlers());
    ASSERT_TRUE(events_.WaitConnected(1)) << server_->LogTail();
    ASSERT_TRUE(client_->connected());
  }

  std::unique_ptr<RedisServer> server_;
  Events events_;
  std::unique_ptr<RedisClient> client_;  // stopped before server_ dies
};

TEST_F(RedisClientTest, CommandsAndBinarySafeArguments) {
  StartServer();
  Connect(Options());
  const std::string key("k\0\r\n y", 6);
  const std::string value("\0\x01\xff\r\n$3\r\n", 10);
  absl::StatusOr<RedisReply> r = Call(*client_, {"SET", key, value});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->type, RedisReply::Type::kStatus);
  EXPECT_EQ(r->str, "OK");

  r = Call(*client_, {"GET", key});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->type, RedisReply::Type::kString);
  EXPECT_EQ(r->str, value);

  // Checked independently of the client.
  absl::StatusOr<RedisReply> direct = server_->Command({"GET", key});
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->str, value);

  r = Call(*client_, {"GET", "missing"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, RedisReply::Type::kNil);

  r = Call(*client_, {"INCRBY", "n", "41"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, RedisReply::Type::kInteger);
  EXPECT_EQ(r->integer, 41);

  ASSERT_TRUE(Call(*client_, {"RPUSH", "l", "a", std::string("\0b", 2)}).ok());
  r = Call(*client_, {"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type, RedisReply::Type::kArray);
  ASSERT_EQ(r->elements.size(), 2u);
  EXPECT_EQ(r->elements[0].str, "a");
  EXPECT_EQ(r->elements[1].str, std::string("\0b", 2));

  r = Call(*client_, {"ECHO", ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, RedisReply::Type::kString);
  EXPECT_EQ(r->str, "");
  EXPECT_GE(client_->stats().commands, 7u);
  EXPECT_EQ(client_->stats().in_flight, 0u);
}

TEST_F(RedisClientTest, ErrorRepliesAreRepliesNotFailures) {
  StartServer();
  Connect(Options());
  ASSERT_TRUE(Call(*client_, {"SET", "s", "text"}).ok());
  absl::StatusOr<RedisReply> r = Call(*client_, {"INCR", "s"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->is_error());
  EXPECT_TRUE(absl::StartsWith(r->str, "ERR value is not an integer"))
      << r->str;
  absl::StatusOr<RedisReply> empty = Call(*client_, {});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  r = Call(*client_, {"NOSUCHCOMMAND", "x"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_error());
  EXPECT_TRUE(absl::StartsWith(r->str, "ERR unknown command")) << r->str;
  // The connection is still fine.
  r = Call(*client_, {"PING"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->str, "PONG");
  EXPECT_TRUE(client_->connected());
}

TEST_F(RedisClientTest, PipelinedInCallOrderPerThread) {
  StartServer();
  Connect(Options());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::vector<int64_t>> lengths(kThreads);
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Both a per-thread list and one shared list.
        client_->Command({"RPUSH", "all", absl::StrCat(t, ":", i)},
                         [](absl::StatusOr<RedisReply>) {});
        client_->Command({"RPUSH", absl::StrCat("t", t), absl::StrCat(i)},
                         [&, t](absl::StatusOr<RedisReply> r) {
                           std::lock_guard lock(mu);
                           lengths[t].push_back(r.ok() ? r->integer : -1);
                           ++answered;
                           cv.notify_all();
                         });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(20),
                            [&] { return answered == kThreads * kPerThread; }));
  }
  for (int t = 0; t < kThreads; ++t) {
    // Replies came in the order of the calls.
    ASSERT_EQ(lengths[t].size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) EXPECT_EQ(lengths[t][i], i + 1);
    absl::StatusOr<RedisReply> list =
        Call(*client_, {"LRANGE", absl::StrCat("t", t), "0", "-1"});
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->elements.size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ(list->elements[i].str, absl::StrCat(i));
    }
  }
  // In the shared list each thread's pushes are in its call order.
  absl::StatusOr<RedisReply> all = Call(*client_, {"LRANGE", "all", "0", "-1"});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->elements.size(), static_cast<size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const RedisReply& e : all->elements) {
    int t = e.str[0] - '0';
    EXPECT_EQ(e.str, absl::StrCat(t, ":", next[t]));
    ++next[t];
  }
}

TEST_F(RedisClientTest, SubscribeConfirmsAndDeliversMessages) {
  StartServer();
  Connect(Options());
  ASSERT_TRUE(SubscribeSync(*client_, "herald:s:1").ok());
  // Confirmed means Redis has the subscription.
  EXPECT_EQ(Subscribers(*server_, "herald:s:1"), 1);
  const std::string payload("\0bin\r\nary\xff", 11);
  absl::StatusOr<RedisReply> receivers =
      server_->Command({"PUBLISH", "herald:s:1", payload});
  ASSERT_TRUE(receivers.ok());
  EXPECT_EQ(receivers->integer, 1);
  ASSERT_TRUE(events_.WaitMessages(1));
  EXPECT_EQ(events_.messages()[0].channel, "herald:s:1");
  EXPECT_EQ(events_.messages()[0].payload, payload);

  // A binary channel name, and many confirmations in flight at once.
  const std::string binary("herald:u:\0\n", 11);
  ASSERT_TRUE(SubscribeSync(*client_, binary).ok());
  std::vector<std::future<absl::Status>> confirmations;
  for (int i = 0; i < 50; ++i) {
    auto promise = std::make_shared<std::promise<absl::Status>>();
    confirmations.push_back(promise->get_future());
    client_->Subscribe(absl::StrCat("c", i % 10),
                       [promise](absl::Status s) { promise->set_value(s); });
  }
  for (auto& f : confirmations) {
    ASSERT_EQ(f.wait_for(seconds(10)), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  EXPECT_EQ(client_->stats().channels, 12u);
  EXPECT_EQ(Subscribers(*server_, "c3"), 1);
  ASSERT_TRUE(server_->Command({"PUBLISH", binary, "x"}).ok());
  ASSERT_TRUE(events_.WaitMessages(2));
  EXPECT_EQ(events_.messages()[1].channel, binary);

  // Subscribing again: confirmed at once, still one subscription.
  ASSERT_TRUE(SubscribeSync(*client_, "herald:s:1").ok());
  EXPECT_EQ(Subscribers(*server_, "herald:s:1"), 1);

  client_->Unsubscribe("herald:s:1");
  ASSERT_TRUE(
      Eventually([&] { return Subscribers(*server_, "herald:s:1") == 0; }));
  EXPECT_EQ(client_->stats().channels, 11u);
  // Unsubscribe then subscribe again, pipelined: confirmed, subscribed.
  client_->Unsubscribe("c1");
  ASSERT_TRUE(SubscribeSync(*client_, "c1").ok());
  EXPECT_EQ(Subscribers(*server_, "c1"), 1);
  ASSERT_TRUE(server_->Command({"PUBLISH", "c1", "again"}).ok());
  ASSERT_TRUE(events_.WaitMessages(3));
  EXPECT_EQ(events_.messages()[2].payload, "again");
  EXPECT_EQ(client_->stats().messages, 3u);
  // Commands still work alongside.
  EXPECT_TRUE(Call(*client_, {"PING"}).ok());
}

TEST_F(RedisClientTest, ScriptFallsBackToEvalOnNoscript) {
  StartServer();
  Connect(Options());
  EXPECT_EQ(RedisScript::Make("one", "return 1").sha1,
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  RedisScript script = RedisScript::Make(
      "echo", "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1]}");
  auto run_script = [&](std::string key, std::string arg) {
    Pending pending;
    client_->Script(script, {std::move(key)}, {std::move(arg)},
                    pending.Callback());
    return pending.Get();
  };
  absl::StatusOr<RedisReply> r = run_script("k1", "v1");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->elements.size(), 2u) << r->str;
  EXPECT_EQ(r->elements[0].str, "k1");
  EXPECT_EQ(r->elements[1].str, "v1");
  absl::StatusOr<RedisReply> exists =
      server_->Command({"SCRIPT", "EXISTS", script.sha1});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->elements[0].integer, 1);

  r = run_script("k2", "v2");  // EVALSHA
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->elements[1].str, "v2");

  ASSERT_TRUE(server_->Command({"SCRIPT", "FLUSH"}).ok());
  r = run_script("k3", std::string("v\0 3", 4));  // NOSCRIPT, then EVAL
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->type, RedisReply::Type::kArray) << r->str;
  EXPECT_EQ(r->elements[1].str, std::string("v\0 3", 4));
  EXPECT_EQ(server_->Command({"GET", "k3"})->str, std::string("v\0 3", 4));
  absl::StatusOr<RedisReply> stats = server_->Command({"INFO", "commandstats"});
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(absl::StrContains(stats->str, "cmdstat_evalsha:calls=2"))
      << stats->str;
  EXPECT_TRUE(absl::StrContains(stats->str, "cmdstat_eval:calls=2"))
      << stats->str;

  // A script error is a reply.
  RedisScript bad = RedisScript::Make("bad", "return redis.call('INCR', 'k1')");
  Pending pending;
  client_->Script(bad, {}, {}, pending.Callback());
  r = pending.Get();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->is_error());
}

TEST_F(RedisClientTest, NothingListeningFailsAtOnce) {
  StartServer();
  RedisClientOptions options = Options();
  ASSERT_TRUE(server_->Kill().ok());
  client_ = RedisClient::Start(options, events_.Handlers());
  ASSERT_TRUE(events_.WaitDisconnects(1));
  absl::Status why = events_.disconnects()[0];
  EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable);
  const std::string endpoint = absl::StrCat("127.0.0.1:", server_->port());
  EXPECT_EQ(client_->endpoint(), endpoint);
  EXPECT_TRUE(absl::StrContains(why.message(), endpoint)) << why;
  auto start = Clock::now();
  absl::StatusOr<RedisReply> r = Call(*client_, {"PING"});
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(
      r.status().message(),
      absl::StrCat("redis: not connected to ", endpoint, ": ")))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "refused")) << r.status();
  // Subscribing while down: UNAVAILABLE, and subscribed once Redis is up.
  absl::Status s = SubscribeSync(*client_, "later");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_FALSE(client_->connected());
  // Only one on_disconnected for the whole outage.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(events_.disconnects().size(), 1u);

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(events_.WaitConnected(1));
  EXPECT_EQ(Subscribers(*server_, "later"), 1);
  EXPECT_TRUE(Call(*client_, {"PING"}).ok());
}

TEST_F(RedisClientTest, ServerStoppedFailsPromptlyThenReconnects) {
  StartServer();
  RedisClientOptions options = Options();
  options.command_timeout = seconds(5);
  Connect(options);
  ASSERT_TRUE(SubscribeSync(*client_, "herald:n:a").ok());
  ASSERT_TRUE(SubscribeSync(*client_, "herald:n:b").ok());

  // A command Redis holds (BLPOP) fails as soon as the server dies.
  Pending blocked;
  client_->Command({"BLPOP", "nothing", "0"}, blocked.Callback());
  ASSERT_TRUE(Eventually([&] { return client_->stats().in_flight == 1; }));
  std::this_thread::sleep_for(milliseconds(50));
  auto start = Clock::now();
  ASSERT_TRUE(server_->Stop().ok());
  absl::StatusOr<RedisReply> r = blocked.Get();
  EXPECT_LT(Clock::now() - start, seconds(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                absl::StrCat("127.0.0.1:", server_->port())))
      << r.status();
  ASSERT_TRUE(events_.WaitDisconnects(1, seconds(2)));
  EXPECT_EQ(events_.disconnects()[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(client_->connected());

  start = Clock::now();
  r = Call(*client_, {"SET", "x", "1"});
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "not connected to"))
      << r.status();

  // Restarted (same port, empty): reconnect, resubscribe, on_connected.
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(events_.WaitConnected(2)) << server_->LogTail();
  EXPECT_TRUE(client_->connected());
  EXPECT_EQ(Subscribers(*server_, "herald:n:a"), 1);
  EXPECT_EQ(Subscribers(*server_, "herald:n:b"), 1);
  EXPECT_EQ(client_->stats().reconnects, 1u);
  ASSERT_TRUE(server_->Command({"PUBLISH", "herald:n:b", "after"}).ok());
  ASSERT_TRUE(events_.WaitMessages(1));
  EXPECT_EQ(events_.messages()[0].channel, "herald:n:b");
  EXPECT_EQ(events_.messages()[0].payload, "after");
  r = Call(*client_, {"SET", "x", "1"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->str, "OK");
}

TEST_F(RedisClientTest, KilledAndRestartedServerIsResubscribed) {
  StartServer();
  Connect(Options());
  ASSERT_TRUE(SubscribeSync(*client_, "herald:u:7").ok());
  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(events_.WaitDisconnects(1, seconds(2)));
  // Subscribed while down: UNAVAILABLE now, subscribed on reconnect.
  absl::Status s = SubscribeSync(*client_, "herald:u:8");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(events_.WaitConnected(2));
  // on_connected came after the resubscriptions were confirmed.
  EXPECT_EQ(Subscribers(*server_, "herald:u:7"), 1);
  EXPECT_EQ(Subscribers(*server_, "herald:u:8"), 1);
  ASSERT_TRUE(server_->Command({"PUBLISH", "herald:u:8", "m8"}).ok());
  ASSERT_TRUE(server_->Command({"PUBLISH", "herald:u:7", "m7"}).ok());
  ASSERT_TRUE(events_.WaitMessages(2));
  EXPECT_EQ(events_.messages()[0].payload, "m8");
  EXPECT_EQ(events_.messages()[1].payload, "m7");
  EXPECT_TRUE(SubscribeSync(*client_, "herald:u:8").ok());
  EXPECT_EQ(events_.disconnects().size(), 1u);
}

TEST_F(RedisClientTest, CommandTimeoutDropsTheConnectionAndRecovers) {
  StartServer();
  RedisClientOptions options = Options();
  options.command_timeout = milliseconds(300);
  options.connect_timeout = milliseconds(300);
  Connect(options);
  Pending sleeping;
  Pending behind;
  auto start = Clock::now();
  client_->Command({"DEBUG", "SLEEP", "2"}, sleeping.Callback());
  client_->Command({"PING"}, behind.Callback());
  absl::StatusOr<RedisReply> r = sleeping.Get();
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(250));
  EXPECT_LT(elapsed, milliseconds(1500));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "no reply within 300 ms"))
      << r.status();
  // The other command on that connection failed with it.
  r = behind.Get(milliseconds(100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client_->stats().timeouts, 1u);
  ASSERT_TRUE(events_.WaitDisconnects(1, milliseconds(500)));
  // Redis wakes up; the client reconnects by itself.
  ASSERT_TRUE(events_.WaitConnected(2, seconds(10)));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<RedisReply> ping = Call(*client_, {"PING"});
    return ping.ok() && ping->str == "PONG";
  }));
}

TEST_F(RedisClientTest, SilentServerTimesOutTheConnect) {
  // Accepts (the kernel's backlog) and never answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  RedisClientOptions options;
  options.url.host = "127.0.0.1";
  options.url.port = ntohs(addr.sin_port);
  options.connect_timeout = milliseconds(200);
  auto start = Clock::now();
  client_ = RedisClient::Start(options, events_.Handlers());
  ASSERT_TRUE(events_.WaitDisconnects(1, seconds(3)));
  EXPECT_GE(Clock::now() - start, milliseconds(150));
  absl::Status why = events_.disconnects()[0];
  EXPECT_EQ(why.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(
      absl::StrContains(why.message(), "connect timed out after 200 ms"))
      << why;
  absl::StatusOr<RedisReply> r = Call(*client_, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  client_.reset();
  close(fd);
}

TEST_F(RedisClientTest, UnsubscribeBeforeConfirmationCancelsIt) {
  StartServer();
  Connect(Options());
  // Redis is busy: the SUBSCRIBE cannot be confirmed yet.
  std::thread sleeper([&] {
    server_->Command({"DEBUG", "SLEEP", "0.5"}).IgnoreError();
  });
  std::this_thread::sleep_for(milliseconds(100));
  auto promise = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> confirmed = promise->get_future();
  client_->Subscribe(
      "gone", [promise](absl::Status s) { promise->set_value(std::move(s)); });
  client_->Unsubscribe("gone");
  ASSERT_EQ(confirmed.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_EQ(confirmed.get().code(), absl::StatusCode::kCancelled);
  sleeper.join();
  ASSERT_TRUE(Eventually([&] { return Subscribers(*server_, "gone") == 0; }));
  EXPECT_EQ(client_->stats().channels, 0u);
  // Still healthy: subscribing again works.
  ASSERT_TRUE(SubscribeSync(*client_, "gone").ok());
  EXPECT_EQ(Subscribers(*server_, "gone"), 1);
  EXPECT_EQ(events_.disconnects().size(), 0u);
}

// Both TCP connections probe an idle peer (so a vanished Redis is noticed
// on the subscriber connection too).
TEST_F(RedisClientTest, TcpKeepaliveOnBothConnections) {
  StartServer();
  Connect(Options());
  std::string command = absl::StrCat(
      "/usr/bin/ss -tno state established '( dport = :", server_->port(),
      " )' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
  pclose(pipe);
  size_t keepalive = 0;
  for (size_t at = out.find("keepalive"); at != std::string::npos;
       at = out.find("keepalive", at + 1)) {
    ++keepalive;
  }
  EXPECT_EQ(keepalive, 2u) << out;
}

TEST_F(RedisClientTest, InFlightIsBounded) {
  StartServer();
  RedisClientOptions options = Options();
  options.max_in_flight = 2;
  Connect(options);
  Pending first;
  Pending second;
  Pending third;
  client_->Command({"DEBUG", "SLEEP", "0.3"}, first.Callback());
  client_->Command({"PING"}, second.Callback());
  client_->Command({"PING"}, third.Callback());
  absl::StatusOr<RedisReply> r = third.Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "redis: 2 commands in flight");
  EXPECT_TRUE(first.Get().ok());
  r = second.Get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->str, "PONG");
  EXPECT_EQ(client_->stats().in_flight, 0u);
  EXPECT_TRUE(Call(*client_, {"PING"}).ok());
}

TEST_F(RedisClientTest, AuthAndSelectFromTheUrl) {
  StartServer({.password = "s3cr:t@/x"});
  RedisClientOptions options;
  absl::StatusOr<RedisUrl> url =
      RedisUrl::Parse(absl::StrCat(server_->Url(), "/3"));
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->password, "s3cr:t@/x");
  options.url = *url;
  Connect(options);
  ASSERT_TRUE(Call(*client_, {"SET", "in3", "yes"}).ok());
  absl::StatusOr<RedisReply> info = Call(*client_, {"CLIENT", "INFO"});
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(absl::StrContains(info->str, " db=3 ")) << info->str;
  absl::StatusOr<RedisReply> direct = server_->Command({"GET", "in3"});
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->type, RedisReply::Type::kNil);  // db 0
  ASSERT_TRUE(SubscribeSync(*client_, "authed").ok());
  EXPECT_EQ(Subscribers(*server_, "authed"), 1);
}

TEST_F(RedisClientTest, WrongPasswordNeverConnects) {
  StartServer({.password = "right"});
  RedisClientOptions options = Options();
  options.url.password = "wrong";
  client_ = RedisClient::Start(options, events_.Handlers());
  ASSERT_TRUE(events_.WaitDisconnects(1));
  EXPECT_TRUE(
      absl::StrContains(events_.disconnects()[0].message(), "WRONGPASS"))
      << events_.disconnects()[0];
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(events_.connected(), 0);
  absl::StatusOr<RedisReply> r = Call(*client_, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "WRONGPASS"))
      << r.status();
}

TEST_F(RedisClientTest, UnixSocket) {
  StartServer({.unix_socket = true});
  RedisClientOptions options = Options();
  absl::StatusOr<RedisUrl> url =
      RedisUrl::Parse(absl::StrCat(server_->UnixUrl(), "?db=2"));
  ASSERT_TRUE(url.ok()) << url.status();
  options.url = *url;
  Connect(options);
  EXPECT_EQ(client_->endpoint(), server_->socket_path());
  absl::StatusOr<RedisReply> info = Call(*client_, {"CLIENT", "INFO"});
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(absl::StrContains(info->str, " db=2 ")) << info->str;
  ASSERT_TRUE(SubscribeSync(*client_, "over-unix").ok());
  ASSERT_TRUE(server_->Command({"PUBLISH", "over-unix", "hi"}).ok());
  ASSERT_TRUE(events_.WaitMessages(1));
  EXPECT_EQ(events_.messages()[0].payload, "hi");

  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(events_.WaitDisconnects(1, seconds(2)));
  absl::StatusOr<RedisReply> r = Call(*client_, {"PING"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), server_->socket_path()))
      << r.status();
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(events_.WaitConnected(2));
  ASSERT_TRUE(server_->Command({"PUBLISH", "over-unix", "again"}).ok());
  ASSERT_TRUE(events_.WaitMessages(2));
}

TEST_F(RedisClientTest, StopCancelsEveryPendingCallbackOnce) {
  StartServer();
  Connect(Options());
  constexpr int kBlocked = 20;
  std::vector<std::atomic<int>> calls(kBlocked + 2);
  std::vector<absl::StatusCode> codes(kBlocked + 2, absl::StatusCode::kOk);
  for (int i = 0; i < kBlocked; ++i) {
    client_->Command({"BLPOP", absl::StrCat("never", i), "0"},
                     [&, i](absl::StatusOr<RedisReply> r) {
                       codes[i] = r.status().code();
                       ++calls[i];
                     });
  }
  // A Subscribe whose confirmation may still be pending, and a script.
  client_->Subscribe("pending", [&](absl::Status s) {
    codes[kBlocked] = s.code();
    ++calls[kBlocked];
  });
  client_->Script(RedisScript::Make("s", "return 1"), {}, {},
                  [&](absl::StatusOr<RedisReply> r) {
                    codes[kBlocked + 1] = r.status().code();
                    ++calls[kBlocked + 1];
                  });
  ASSERT_TRUE(
      Eventually([&] { return client_->stats().in_flight >= kBlocked; }));
  client_->Stop();
  for (int i = 0; i < kBlocked; ++i) {
    EXPECT_EQ(calls[i], 1) << i;
    EXPECT_EQ(codes[i], absl::StatusCode::kCancelled) << i;
  }
  EXPECT_EQ(calls[kBlocked], 1);
  EXPECT_EQ(calls[kBlocked + 1], 1);
  EXPECT_FALSE(client_->connected());
  // After Stop: CANCELLED at once (inline), Stop again is harmless.
  absl::StatusCode after = absl::StatusCode::kOk;
  client_->Command({"PING"}, [&](absl::StatusOr<RedisReply> r) {
    after = r.status().code();
  });
  EXPECT_EQ(after, absl::StatusCode::kCancelled);
  absl::StatusCode subscribed = absl::StatusCode::kOk;
  client_->Subscribe("x", [&](absl::Status s) { subscribed = s.code(); });
  EXPECT_EQ(subscribed, absl::StatusCode::kCancelled);
  client_->Stop();
  client_.reset();
  for (int i = 0; i < kBlocked + 2; ++i) EXPECT_EQ(calls[i], 1) << i;
}

TEST_F(RedisClientTest, DestroyWhileReconnectingAndWithQueuedCommands) {
  StartServer();
  Connect(Options());
  std::atomic<int> calls{0};
  for (int i = 0; i < 1000; ++i) {
    client_->Command({"PING"}, [&](absl::StatusOr<RedisReply>) { ++calls; });
  }
  client_.reset();  // the destructor stops
  EXPECT_EQ(calls, 1000);

  client_ = RedisClient::Start(Options(), events_.Handlers());
  ASSERT_TRUE(events_.WaitConnected(2));
  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(events_.WaitDisconnects(1, seconds(2)));
  std::this_thread::sleep_for(milliseconds(100));  // backing off
  client_.reset();
}

TEST_F(RedisClientTest, PostAndContextRunOnTheBusThread) {
  StartServer();
  Connect(Options());
  std::promise<std::thread::id> posted;
  client_->Post([&] { posted.set_value(std::this_thread::get_id()); });
  std::thread::id bus = posted.get_future().get();
  EXPECT_NE(bus, std::this_thread::get_id());
  std::promise<std::thread::id> replied;
  client_->Command({"PING"}, [&](absl::StatusOr<RedisReply>) {
    replied.set_value(std::this_thread::get_id());
  });
  EXPECT_EQ(replied.get_future().get(), bus);
  EXPECT_EQ(&client_->context(), &client_->context());
}

}  // namespace
}  // namespace herald::service::redis
