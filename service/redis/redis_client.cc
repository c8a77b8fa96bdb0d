#include "service/redis/redis_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "service/redis/hiredis_reply.h"

namespace herald::service::redis {

RedisScript RedisScript::Make(std::string name, std::string source) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(source.data(), source.size(), digest, &size, EVP_sha1(), nullptr);
  std::string sha1 = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
  return RedisScript{std::move(name), std::move(source), std::move(sha1)};
}

namespace {

using Clock = std::chrono::steady_clock;
using boost::asio::posix::stream_descriptor;

// Channels per SUBSCRIBE when resubscribing after a reconnect.
constexpr size_t kResubscribeBatch = 512;

std::string_view StringOf(const redisReply& reply) {
  if (reply.str == nullptr) return {};
  return std::string_view(reply.str, reply.len);
}

bool SendArgv(redisAsyncContext* ac, redisCallbackFn* fn, void* privdata,
              const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& arg : argv) {
    ptrs.push_back(arg.data());
    lens.push_back(arg.size());
  }
  return redisAsyncCommandArgv(ac, fn, privdata, static_cast<int>(argv.size()),
                               ptrs.data(), lens.data()) == REDIS_OK;
}

// TCP keepalive: a peer that vanished without a RST is noticed by the
// kernel within ~6 s, even on the otherwise silent subscriber connection.
void EnableKeepAlive(int fd) {
  int on = 1;
  int idle = 3;      // seconds idle before the first probe
  int interval = 1;  // between probes
  int count = 3;     // unanswered probes before the connection fails
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
}

absl::Status Cancelled() {
  return absl::CancelledError("redis: client stopped");
}

}  // namespace

// Everything below the public methods runs on the bus thread (thread_),
// which owns every member not marked otherwise.
class RedisClient::Impl {
 public:
  Impl(RedisClientOptions options, RedisHandlers handlers);
  ~Impl();

  void Start();
  void Stop();
  void Command(std::vector<std::string> argv, ReplyCallback done);
  void Script(const RedisScript& script, std::vector<std::string> keys,
              std::vector<std::string> args, ReplyCallback done);
  void Subscribe(std::string channel, Confirmed confirmed);
  void Unsubscribe(std::string channel);
  bool connected() const { return connected_.load(); }
  const std::string& endpoint() const { return endpoint_; }
  boost::asio::io_context& context() { return context_; }
  void Post(absl::AnyInvocable<void() &&> task);
  Stats stats() const;

 private:
  enum class State { kDown, kConnecting, kUp };

  // One hiredis connection (commands or pub/sub) and its Asio plumbing.
  struct Connection {
    Connection(Impl* impl, bool subscriber)
        : impl(impl),
          subscriber(subscriber),
          reconnect_timer(impl->context_),
          connect_timer(impl->context_),
          timeout_timer(impl->context_) {}
    Impl* const impl;
    const bool subscriber;
    redisAsyncContext* ac = nullptr;          // null while down
    std::optional<stream_descriptor> socket;  // ac's fd, released not closed
    uint64_t generation = 0;                  // bumped when ac goes away
    bool want_read = false;
    bool want_write = false;
    bool read_waiting = false;
    bool write_waiting = false;
    State state = State::kDown;
    bool ready = false;  // subscriber: up and every channel confirmed
    std::string down_reason = "connecting";
    std::string drop_reason;  // why we freed ac ourselves
    int handshake_left = 0;
    bool handshake_failed = false;
    int attempt = 0;  // reconnect backoff exponent
    // Deadlines of the unanswered commands (subscriber: confirmations),
    // oldest first; replies come in order.
    std::deque<Clock::time_point> deadlines;
    bool timeout_armed = false;
    boost::asio::steady_timer reconnect_timer;
    boost::asio::steady_timer connect_timer;
    boost::asio::steady_timer timeout_timer;
    // Commands: scripts sent in full (EVAL) on this connection.
    absl::flat_hash_set<std::string> loaded_scripts;
  };

  struct PendingCommand {
    std::vector<std::string> argv;
    ReplyCallback done;
    bool is_script = false;
    bool sent_eval = false;
    std::string script_sha;
    std::string script_source;
  };

  struct Channel {
    uint64_t epoch = 0;  // which Subscribe created it
    bool confirmed = false;
    std::vector<Confirmed> waiting;
  };

  // Posts `task` unless Stop() began; then leaves it untouched.
  bool PostIfRunning(absl::AnyInvocable<void() &&>& task);

  // hiredis hooks (privdata is the Connection).
  static void AddRead(void* privdata);
  static void DelRead(void* privdata);
  static void AddWrite(void* privdata);
  static void DelWrite(void* privdata);
  static void Cleanup(void* privdata);
  static void OnHandshakeReply(redisAsyncContext* ac, void* reply,
                               void* privdata);
  static void OnCommandReply(redisAsyncContext* ac, void* reply,
                             void* privdata);
  static void OnSubscriberReply(redisAsyncContext* ac, void* reply,
                                void* privdata);

  void WaitRead(Connection& c);
  void WaitWrite(Connection& c);
  void Connect(Connection& c);
  void SendHandshake(Connection& c, const std::vector<std::string>& argv);
  void HandshakeReply(Connection& c, redisReply* reply);
  void HandshakeDone(Connection& c);
  void Drop(Connection& c, std::string why);
  void OnCleanup(Connection& c);
  void OnDown(Connection& c, std::string why);
  void ScheduleReconnect(Connection& c);
  std::chrono::milliseconds Backoff(int attempt);
  std::string ReasonOf(const Connection& c) const;
  absl::Status NotConnected(const Connection& c) const;
  void ArmTimeout(Connection& c);
  void MaybeConnected();

  void SendCommand(std::unique_ptr<PendingCommand> op);
  void Issue(std::unique_ptr<PendingCommand> op);
  void CommandReply(Connection& c, std::unique_ptr<PendingCommand> op,
                    redisReply* reply);

  void SubscribeOnBus(std::string channel, Confirmed confirmed);
  void UnsubscribeOnBus(const std::string& channel);
  void SendSubscribe(const std::vector<std::string>& channels);
  void SubscriberReply(redisReply* reply);
  void Confirm(absl::string_view channel);
  void ResetSubscriptions(const absl::Status& why);
  void MaybeSubscriberReady();
  void Shutdown();

  const RedisClientOptions options_;
  const std::string endpoint_;
  RedisHandlers handlers_;

  boost::asio::io_context context_;
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  Connection commands_{this, false};
  Connection subscriber_{this, true};
  std::mt19937_64 rng_{std::random_device{}()};

  bool stopping_ = false;  // Shutdown ran
  bool reported_connected_ = false;
  bool reported_disconnected_ = false;
  bool ever_connected_ = false;

  absl::flat_hash_map<std::string, Channel> channels_;
  // Epochs of the SUBSCRIBEs sent on this subscriber connection, per
  // channel, in order (a confirmation answers the oldest).
  absl::flat_hash_map<std::string, std::deque<uint64_t>> expected_;
  size_t unconfirmed_ = 0;  // channels_ entries not confirmed
  uint64_t next_epoch_ = 0;

  // Any thread.
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> commands_sent_{0};
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<size_t> in_flight_{0};
  std::atomic<size_t> channel_count_{0};

  absl::Mutex post_mu_;
  bool stopped_ ABSL_GUARDED_BY(post_mu_) = false;
  absl::Mutex join_mu_;
  std::thread thread_;
};

RedisClient::Impl::Impl(RedisClientOptions options, RedisHandlers handlers)
    : options_(std::move(options)),
      endpoint_(options_.url.Endpoint()),
      handlers_(std::move(handlers)) {}

RedisClient::Impl::~Impl() { Stop(); }

void RedisClient::Impl::Start() {
  work_.emplace(context_.get_executor());
  boost::asio::post(context_, [this] {
    Connect(commands_);
    Connect(subscriber_);
  });
  thread_ = std::thread([this] { context_.run(); });
}

void RedisClient::Impl::Stop() {
  {
    absl::MutexLock lock(&post_mu_);
    if (!stopped_) {
      stopped_ = true;
      boost::asio::post(context_, [this] { Shutdown(); });
    }
  }
  absl::MutexLock lock(&join_mu_);
  // On the bus thread itself (a misuse) the shutdown still happens, later.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

bool RedisClient::Impl::PostIfRunning(absl::AnyInvocable<void() &&>& task) {
  absl::MutexLock lock(&post_mu_);
  if (stopped_) return false;
  boost::asio::post(context_,
                    [task = std::move(task)]() mutable { std::move(task)(); });
  return true;
}

void RedisClient::Impl::Post(absl::AnyInvocable<void() &&> task) {
  PostIfRunning(task);  // dropped once stopped
}

RedisClient::Stats RedisClient::Impl::stats() const {
  Stats s;
  s.commands = commands_sent_.load();
  s.messages = messages_.load();
  s.reconnects = reconnects_.load();
  s.timeouts = timeouts_.load();
  s.in_flight = in_flight_.load();
  s.channels = channel_count_.load();
  return s;
}

// --- The Asio adapter -------------------------------------------------------

void RedisClient::Impl::AddRead(void* privdata) {
  auto& c = *static_cast<Connection*>(privdata);
  c.want_read = true;
  c.impl->WaitRead(c);
}

void RedisClient::Impl::DelRead(void* privdata) {
  static_cast<Connection*>(privdata)->want_read = false;
}

void RedisClient::Impl::AddWrite(void* privdata) {
  auto& c = *static_cast<Connection*>(privdata);
  c.want_write = true;
  c.impl->WaitWrite(c);
}

void RedisClient::Impl::DelWrite(void* privdata) {
  static_cast<Connection*>(privdata)->want_write = false;
}

void RedisClient::Impl::Cleanup(void* privdata) {
  auto& c = *static_cast<Connection*>(privdata);
  c.impl->OnCleanup(c);
}

void RedisClient::Impl::WaitRead(Connection& c) {
  if (c.read_waiting || !c.socket) return;
  c.read_waiting = true;
  c.socket->async_wait(
      stream_descriptor::wait_read,
      [&c, gen = c.generation](const boost::system::error_code& ec) {
        if (gen != c.generation) return;  // an earlier connection's wait
        c.read_waiting = false;
        if (ec || c.ac == nullptr || !c.want_read) return;
        redisAsyncHandleRead(c.ac);  // may free c.ac
      });
}

void RedisClient::Impl::WaitWrite(Connection& c) {
  if (c.write_waiting || !c.socket) return;
  c.write_waiting = true;
  c.socket->async_wait(
      stream_descriptor::wait_write,
      [&c, gen = c.generation](const boost::system::error_code& ec) {
        if (gen != c.generation) return;
        c.write_waiting = false;
        if (ec || c.ac == nullptr || !c.want_write) return;
        redisAsyncHandleWrite(c.ac);  // may free c.ac
      });
}

// hiredis is about to close the fd and free the context (whoever started
// it): give the fd back, forget the context, then handle the loss.
void RedisClient::Impl::OnCleanup(Connection& c) {
  std::string why = ReasonOf(c);
  if (c.socket) {
    c.socket->release();  // cancels the waits; hiredis closes the fd
    c.socket.reset();
  }
  c.ac = nullptr;
  OnDown(c, std::move(why));
}

// --- Connecting -------------------------------------------------------------

void RedisClient::Impl::Connect(Connection& c) {
  if (stopping_) return;
  const RedisUrl& url = options_.url;
  c.state = State::kConnecting;
  c.drop_reason.clear();
  c.handshake_failed = false;
  redisAsyncContext* ac = url.socket_path.empty()
                              ? redisAsyncConnect(url.host.c_str(), url.port)
                              : redisAsyncConnectUnix(url.socket_path.c_str());
  if (ac == nullptr) return OnDown(c, "out of memory");
  if (ac->err != 0) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);  // no hooks attached yet: closes the fd
    return OnDown(c, std::move(why));
  }
  if (url.socket_path.empty()) EnableKeepAlive(ac->c.fd);
  boost::system::error_code ec;
  c.socket.emplace(context_);
  c.socket->assign(ac->c.fd, ec);
  if (ec) {
    c.socket.reset();
    redisAsyncFree(ac);
    return OnDown(c, ec.message());
  }
  c.ac = ac;
  c.want_read = c.want_write = c.read_waiting = c.write_waiting = false;
  ac->data = &c;
  ac->ev.data = &c;
  ac->ev.addRead = &AddRead;
  ac->ev.delRead = &DelRead;
  ac->ev.addWrite = &AddWrite;
  ac->ev.delWrite = &DelWrite;
  ac->ev.cleanup = &Cleanup;

  c.handshake_left = 0;
  if (!url.password.empty()) {
    if (url.user.empty()) {
      SendHandshake(c, {"AUTH", url.password});
    } else {
      SendHandshake(c, {"AUTH", url.user, url.password});
    }
  }
  if (url.db != 0) SendHandshake(c, {"SELECT", absl::StrCat(url.db)});
  SendHandshake(c, {"PING"});

  c.connect_timer.expires_after(options_.connect_timeout);
  c.connect_timer.async_wait(
      [this, &c, gen = c.generation](const boost::system::error_code& ec) {
        if (ec || gen != c.generation || c.ac == nullptr ||
            c.state != State::kConnecting) {
          return;
        }
        Drop(c, absl::StrCat("connect timed out after ",
                             options_.connect_timeout.count(), " ms"));
      });
}

void RedisClient::Impl::SendHandshake(Connection& c,
                                      const std::vector<std::string>& argv) {
  if (SendArgv(c.ac, &OnHandshakeReply, &c, argv)) ++c.handshake_left;
}

void RedisClient::Impl::OnHandshakeReply(redisAsyncContext* ac, void* reply,
                                         void* privdata) {
  auto& c = *static_cast<Connection*>(privdata);
  c.impl->HandshakeReply(c, static_cast<redisReply*>(reply));
}

void RedisClient::Impl::HandshakeReply(Connection& c, redisReply* reply) {
  if (reply == nullptr || c.handshake_failed) return;  // going away
  if (reply->type == REDIS_REPLY_ERROR) {
    c.handshake_failed = true;
    c.drop_reason =
        absl::StrCat("handshake failed: ", std::string(StringOf(*reply)));
    redisAsyncFree(c.ac);  // deferred by hiredis until this callback returns
    return;
  }
  if (--c.handshake_left == 0) HandshakeDone(c);
}

void RedisClient::Impl::HandshakeDone(Connection& c) {
  c.state = State::kUp;
  c.attempt = 0;
  c.connect_timer.cancel();
  if (!c.subscriber) return MaybeConnected();
  std::vector<std::string> batch;
  for (const auto& [channel, state] : channels_) {
    batch.push_back(channel);
    if (batch.size() == kResubscribeBatch) {
      SendSubscribe(batch);
      batch.clear();
    }
  }
  if (!batch.empty()) SendSubscribe(batch);
  MaybeSubscriberReady();
}

void RedisClient::Impl::Drop(Connection& c, std::string why) {
  if (c.ac == nullptr) return;
  c.drop_reason = std::move(why);
  redisAsyncFree(c.ac);  // runs the callbacks with NULL, then Cleanup
}

std::string RedisClient::Impl::ReasonOf(const Connection& c) const {
  if (!c.drop_reason.empty()) return c.drop_reason;
  if (c.ac != nullptr && c.ac->err != 0 && c.ac->errstr != nullptr) {
    return c.ac->errstr;
  }
  return "connection closed";
}

absl::Status RedisClient::Impl::NotConnected(const Connection& c) const {
  return absl::UnavailableError(
      absl::StrCat("redis: not connected to ", endpoint_, ": ", c.down_reason));
}

void RedisClient::Impl::OnDown(Connection& c, std::string why) {
  ++c.generation;
  c.state = State::kDown;
  c.ready = false;
  c.down_reason = std::move(why);
  c.deadlines.clear();
  c.timeout_armed = false;
  c.timeout_timer.cancel();
  c.connect_timer.cancel();
  c.loaded_scripts.clear();
  connected_ = false;
  reported_connected_ = false;
  absl::Status status = stopping_ ? Cancelled() : NotConnected(c);
  if (c.subscriber) ResetSubscriptions(status);
  if (stopping_) return;
  if (!reported_disconnected_) {
    reported_disconnected_ = true;
    if (handlers_.on_disconnected) handlers_.on_disconnected(status);
  }
  ScheduleReconnect(c);
}

std::chrono::milliseconds RedisClient::Impl::Backoff(int attempt) {
  using std::chrono::milliseconds;
  int64_t lo = std::max<int64_t>(1, options_.reconnect_min.count());
  int64_t hi = std::max<int64_t>(lo, options_.reconnect_max.count());
  int64_t base = lo;
  for (int i = 0; i < attempt && base < hi; ++i) base *= 2;
  base = std::min(base, hi);
  // Jitter: anywhere in [base/2, base].
  std::uniform_int_distribution<int64_t> jitter(base / 2, base);
  return milliseconds(jitter(rng_));
}

void RedisClient::Impl::ScheduleReconnect(Connection& c) {
  c.reconnect_timer.expires_after(Backoff(c.attempt));
  if (c.attempt < 30) ++c.attempt;
  c.reconnect_timer.async_wait([this, &c](const boost::system::error_code& ec) {
    if (ec || stopping_ || c.state != State::kDown) return;
    Connect(c);
  });
}

void RedisClient::Impl::ArmTimeout(Connection& c) {
  if (c.timeout_armed || c.deadlines.empty()) return;
  c.timeout_armed = true;
  c.timeout_timer.expires_at(c.deadlines.front());
  c.timeout_timer.async_wait(
      [this, &c, gen = c.generation](const boost::system::error_code& ec) {
        if (gen != c.generation) return;
        c.timeout_armed = false;
        if (ec || c.ac == nullptr) return;
        if (!c.deadlines.empty() && c.deadlines.front() <= Clock::now()) {
          ++timeouts_;
          return Drop(c, absl::StrCat("no reply within ",
                                      options_.command_timeout.count(), " ms"));
        }
        ArmTimeout(c);
      });
}

void RedisClient::Impl::MaybeConnected() {
  if (stopping_ || reported_connected_ || commands_.state != State::kUp ||
      !subscriber_.ready) {
    return;
  }
  reported_connected_ = true;
  reported_disconnected_ = false;
  connected_ = true;
  if (ever_connected_) ++reconnects_;
  ever_connected_ = true;
  if (handlers_.on_connected) handlers_.on_connected();
}

// --- Commands ---------------------------------------------------------------

void RedisClient::Impl::Command(std::vector<std::string> argv,
                                ReplyCallback done) {
  auto op = std::make_unique<PendingCommand>();
  op->argv = std::move(argv);
  op->done = std::move(done);
  PendingCommand* raw = op.get();
  absl::AnyInvocable<void()&&> task = [this, op = std::move(op)]() mutable {
    SendCommand(std::move(op));
  };
  if (!PostIfRunning(task)) std::move(raw->done)(Cancelled());
}

void RedisClient::Impl::Script(const RedisScript& script,
                               std::vector<std::string> keys,
                               std::vector<std::string> args,
                               ReplyCallback done) {
  auto op = std::make_unique<PendingCommand>();
  op->argv.reserve(3 + keys.size() + args.size());
  op->argv.push_back("EVALSHA");
  op->argv.push_back(script.sha1);
  op->argv.push_back(absl::StrCat(keys.size()));
  for (std::string& key : keys) op->argv.push_back(std::move(key));
  for (std::string& arg : args) op->argv.push_back(std::move(arg));
  op->done = std::move(done);
  op->is_script = true;
  op->script_sha = script.sha1;
  op->script_source = script.source;
  PendingCommand* raw = op.get();
  absl::AnyInvocable<void()&&> task = [this, op = std::move(op)]() mutable {
    SendCommand(std::move(op));
  };
  if (!PostIfRunning(task)) std::move(raw->done)(Cancelled());
}

void RedisClient::Impl::SendCommand(std::unique_ptr<PendingCommand> op) {
  if (stopping_) return std::move(op->done)(Cancelled());
  if (op->argv.empty()) {
    return std::move(op->done)(
        absl::InvalidArgumentError("redis: empty command"));
  }
  if (commands_.state != State::kUp) {
    return std::move(op->done)(NotConnected(commands_));
  }
  if (in_flight_.load() >= options_.max_in_flight) {
    return std::move(op->done)(absl::ResourceExhaustedError(
        absl::StrCat("redis: ", in_flight_.load(), " commands in flight")));
  }
  // The first use of a script on a connection sends it in full, so a
  // restarted Redis costs no NOSCRIPT round trip (and no reordering).
  if (op->is_script && !commands_.loaded_scripts.contains(op->script_sha)) {
    op->argv[0] = "EVAL";
    op->argv[1] = op->script_source;
    op->sent_eval = true;
    commands_.loaded_scripts.insert(op->script_sha);
  }
  Issue(std::move(op));
}

void RedisClient::Impl::Issue(std::unique_ptr<PendingCommand> op) {
  Connection& c = commands_;
  if (c.ac == nullptr || !SendArgv(c.ac, &OnCommandReply, op.get(), op->argv)) {
    return std::move(op->done)(NotConnected(c));
  }
  if (!op->is_script) op->argv = {};  // hiredis has its own copy
  op.release();                       // owned by hiredis until OnCommandReply
  ++in_flight_;
  ++commands_sent_;
  c.deadlines.push_back(Clock::now() + options_.command_timeout);
  ArmTimeout(c);
}

void RedisClient::Impl::OnCommandReply(redisAsyncContext* ac, void* reply,
                                       void* privdata) {
  std::unique_ptr<PendingCommand> op(static_cast<PendingCommand*>(privdata));
  auto& c = *static_cast<Connection*>(ac->data);
  c.impl->CommandReply(c, std::move(op), static_cast<redisReply*>(reply));
}

void RedisClient::Impl::CommandReply(Connection& c,
                                     std::unique_ptr<PendingCommand> op,
                                     redisReply* reply) {
  --in_flight_;
  if (!c.deadlines.empty()) c.deadlines.pop_front();
  if (reply == nullptr) {
    if (stopping_) return std::move(op->done)(Cancelled());
    return std::move(op->done)(absl::UnavailableError(absl::StrCat(
        "redis: connection to ", endpoint_, " lost: ", ReasonOf(c))));
  }
  if (op->is_script && !op->sent_eval && reply->type == REDIS_REPLY_ERROR &&
      reply->len >= 8 && std::string_view(reply->str, 8) == "NOSCRIPT") {
    op->argv[0] = "EVAL";
    op->argv[1] = op->script_source;
    op->sent_eval = true;
    c.loaded_scripts.insert(op->script_sha);
    return Issue(std::move(op));
  }
  std::move(op->done)(CopyHiredisReply(*reply));
}

// --- Pub/sub ----------------------------------------------------------------

void RedisClient::Impl::Subscribe(std::string channel, Confirmed confirmed) {
  auto owned = std::make_unique<Confirmed>(std::move(confirmed));
  Confirmed* raw = owned.get();
  absl::AnyInvocable<void()&&> task = [this, channel = std::move(channel),
                                       owned = std::move(owned)]() mutable {
    SubscribeOnBus(std::move(channel), std::move(*owned));
  };
  if (!PostIfRunning(task)) std::move (*raw)(Cancelled());
}

void RedisClient::Impl::Unsubscribe(std::string channel) {
  absl::AnyInvocable<void()&&> task = [this, channel = std::move(channel)] {
    UnsubscribeOnBus(channel);
  };
  PostIfRunning(task);
}

void RedisClient::Impl::SubscribeOnBus(std::string channel,
                                       Confirmed confirmed) {
  if (stopping_) return std::move(confirmed)(Cancelled());
  bool live = subscriber_.state == State::kUp;
  auto it = channels_.find(channel);
  if (it != channels_.end()) {
    if (it->second.confirmed) return std::move(confirmed)(absl::OkStatus());
    if (!live) return std::move(confirmed)(NotConnected(subscriber_));
    it->second.waiting.push_back(std::move(confirmed));
    return;
  }
  Channel& state = channels_[channel];
  state.epoch = ++next_epoch_;
  ++unconfirmed_;
  channel_count_ = channels_.size();
  if (!live) return std::move(confirmed)(NotConnected(subscriber_));
  state.waiting.push_back(std::move(confirmed));
  SendSubscribe({channel});
}

void RedisClient::Impl::UnsubscribeOnBus(const std::string& channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  std::vector<Confirmed> waiting = std::move(it->second.waiting);
  if (!it->second.confirmed) --unconfirmed_;
  channels_.erase(it);
  channel_count_ = channels_.size();
  if (subscriber_.state == State::kUp) {
    // An UNSUBSCRIBE has no callback of its own in hiredis.
    SendArgv(subscriber_.ac, nullptr, nullptr, {"UNSUBSCRIBE", channel});
  }
  for (Confirmed& done : waiting) {
    std::move(done)(absl::CancelledError(
        absl::StrCat("redis: unsubscribed before SUBSCRIBE was confirmed")));
  }
  MaybeSubscriberReady();
}

void RedisClient::Impl::SendSubscribe(
    const std::vector<std::string>& channels) {
  std::vector<std::string> argv;
  argv.reserve(channels.size() + 1);
  argv.push_back("SUBSCRIBE");
  for (const std::string& channel : channels) argv.push_back(channel);
  if (!SendArgv(subscriber_.ac, &OnSubscriberReply, &subscriber_, argv)) {
    return;  // going away; the reconnect subscribes again
  }
  Clock::time_point deadline = Clock::now() + options_.command_timeout;
  for (const std::string& channel : channels) {
    expected_[channel].push_back(channels_[channel].epoch);
    subscriber_.deadlines.push_back(deadline);
  }
  ArmTimeout(subscriber_);
}

void RedisClient::Impl::OnSubscriberReply(redisAsyncContext* ac, void* reply,
                                          void* privdata) {
  auto& c = *static_cast<Connection*>(privdata);
  c.impl->SubscriberReply(static_cast<redisReply*>(reply));
}

void RedisClient::Impl::SubscriberReply(redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY ||
      reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_STRING) {
    return;
  }
  std::string_view kind = StringOf(*reply->element[0]);
  std::string_view channel = StringOf(*reply->element[1]);
  absl::string_view key(channel.data(), channel.size());  // Debian's absl
  if (kind == "message") {
    if (!channels_.contains(key)) return;  // unsubscribed meanwhile
    ++messages_;
    if (handlers_.on_message) {
      handlers_.on_message(channel, StringOf(*reply->element[2]));
    }
  } else if (kind == "subscribe") {
    if (!subscriber_.deadlines.empty()) subscriber_.deadlines.pop_front();
    Confirm(key);
  }
}

void RedisClient::Impl::Confirm(absl::string_view channel) {
  auto expected = expected_.find(channel);
  if (expected == expected_.end() || expected->second.empty()) return;
  uint64_t epoch = expected->second.front();
  expected->second.pop_front();
  if (expected->second.empty()) expected_.erase(expected);
  auto it = channels_.find(channel);
  if (it == channels_.end() || it->second.epoch != epoch ||
      it->second.confirmed) {
    return;  // an earlier SUBSCRIBE of a channel unsubscribed since
  }
  it->second.confirmed = true;
  --unconfirmed_;
  std::vector<Confirmed> waiting = std::move(it->second.waiting);
  it->second.waiting.clear();
  for (Confirmed& done : waiting) std::move(done)(absl::OkStatus());
  MaybeSubscriberReady();
}

void RedisClient::Impl::ResetSubscriptions(const absl::Status& why) {
  expected_.clear();
  std::vector<Confirmed> failed;
  for (auto& [channel, state] : channels_) {
    state.confirmed = false;
    for (Confirmed& done : state.waiting) failed.push_back(std::move(done));
    state.waiting.clear();
  }
  unconfirmed_ = channels_.size();
  for (Confirmed& done : failed) std::move(done)(why);
}

void RedisClient::Impl::MaybeSubscriberReady() {
  if (subscriber_.state != State::kUp || subscriber_.ready ||
      unconfirmed_ != 0) {
    return;
  }
  subscriber_.ready = true;
  MaybeConnected();
}

// --- Stopping ---------------------------------------------------------------

void RedisClient::Impl::Shutdown() {
  stopping_ = true;
  connected_ = false;
  for (Connection* c : {&commands_, &subscriber_}) {
    c->reconnect_timer.cancel();
    c->connect_timer.cancel();
    c->timeout_timer.cancel();
    Drop(*c, "client stopped");  // pending callbacks: CANCELLED
  }
  ResetSubscriptions(Cancelled());
  channels_.clear();
  channel_count_ = 0;
  unconfirmed_ = 0;
  // Tasks posted before Stop() still run (and are cancelled); then run()
  // returns.
  work_.reset();
}

// --- RedisClient ------------------------------------------------------------

std::unique_ptr<RedisClient> RedisClient::Start(RedisClientOptions options,
                                                RedisHandlers handlers) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handlers));
  impl->Start();
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(impl)));
}

RedisClient::RedisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisClient::~RedisClient() = default;

void RedisClient::Stop() { impl_->Stop(); }

void RedisClient::Command(std::vector<std::string> argv, ReplyCallback done) {
  impl_->Command(std::move(argv), std::move(done));
}

void RedisClient::Script(const RedisScript& script,
                         std::vector<std::string> keys,
                         std::vector<std::string> args, ReplyCallback done) {
  impl_->Script(script, std::move(keys), std::move(args), std::move(done));
}

void RedisClient::Subscribe(std::string channel, Confirmed confirmed) {
  impl_->Subscribe(std::move(channel), std::move(confirmed));
}

void RedisClient::Unsubscribe(std::string channel) {
  impl_->Unsubscribe(std::move(channel));
}

bool RedisClient::connected() const { return impl_->connected(); }

const std::string& RedisClient::endpoint() const { return impl_->endpoint(); }

boost::asio::io_context& RedisClient::context() { return impl_->context(); }

void RedisClient::Post(absl::AnyInvocable<void() &&> task) {
  impl_->Post(std::move(task));
}

RedisClient::Stats RedisClient::stats() const { return impl_->stats(); }

}  // namespace herald::service::redis
