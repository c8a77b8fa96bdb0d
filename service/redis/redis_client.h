#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "service/redis/redis_reply.h"
#include "service/redis/redis_url.h"

namespace herald::service::redis {

// One Lua script, loaded by SHA1 (EVALSHA) and sent in full (EVAL) when
// the server answers NOSCRIPT (a restarted or flushed Redis).
struct RedisScript {
  std::string name;  // for errors and logs
  std::string source;
  std::string sha1;  // lower-case hex of SHA1(source); RedisScript::Make
  static RedisScript Make(std::string name, std::string source);
};

struct RedisClientOptions {
  RedisUrl url;
  // A command not answered within this is failed with UNAVAILABLE and the
  // connection is dropped and reconnected (its other commands fail too).
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds connect_timeout{1000};
  // Reconnect backoff: doubles from min to max, with jitter.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  // Commands sent but not yet answered; beyond it Command() fails at once
  // with RESOURCE_EXHAUSTED ("redis: N commands in flight").
  size_t max_in_flight = 65536;
};

// What the subscriber connection reports. Every handler runs on the bus
// thread and must not block.
struct RedisHandlers {
  // A message published on a subscribed channel.
  absl::AnyInvocable<void(std::string_view channel, std::string_view payload)>
      on_message;
  // Both connections are up (after the first connect and after every
  // reconnect) and every channel subscribed before is subscribed again and
  // confirmed. Messages published while disconnected are lost: refresh.
  absl::AnyInvocable<void()> on_connected;
  // A connection was lost (or the first connect failed); reconnecting.
  absl::AnyInvocable<void(const absl::Status& why)> on_disconnected;
};

// An asynchronous Redis client on its own thread (the "bus thread"), built
// on hiredis' async API driven by a Boost.Asio io_context: one connection
// for commands (pipelined, answered in order) and one for pub/sub.
//
// Thread-safe: every public method may be called from any thread; work is
// posted to the bus thread. Callbacks run on the bus thread, never inline
// in the caller (except Stop()). Commands issued from one thread are sent in
// that order on the command connection (so Redis executes them in order).
//
// While disconnected, Command()/Script() fail at once with UNAVAILABLE
// ("redis: not connected to HOST:PORT: <why>") and the client reconnects by
// itself with backoff.
class RedisClient {
 public:
  using ReplyCallback = absl::AnyInvocable<void(absl::StatusOr<RedisReply>) &&>;
  using Confirmed = absl::AnyInvocable<void(absl::Status) &&>;

  // Starts the bus thread and the first connection attempt; never blocks
  // on the network. AUTH and SELECT from the URL are sent first on every
  // connection.
  static std::unique_ptr<RedisClient> Start(RedisClientOptions options,
                                            RedisHandlers handlers);
  // Stops: pending callbacks complete with CANCELLED, the thread is joined.
  // Not on the bus thread. Afterwards Command/Script/Subscribe complete
  // with CANCELLED at once (inline) and Post drops its task.
  ~RedisClient();
  void Stop();

  // Sends `argv` (binary safe). An error reply (REDIS_REPLY_ERROR) is
  // returned as a RedisReply of type kError, not as a failed status; a
  // failed status means no answer (UNAVAILABLE, RESOURCE_EXHAUSTED,
  // CANCELLED).
  void Command(std::vector<std::string> argv, ReplyCallback done);
  // EVALSHA script.sha1 numkeys keys... args..., EVAL on NOSCRIPT.
  void Script(const RedisScript& script, std::vector<std::string> keys,
              std::vector<std::string> args, ReplyCallback done);

  // The subscriber connection. The client keeps the set of channels and
  // subscribes them again after a reconnect. `confirmed` runs once Redis
  // confirmed this SUBSCRIBE (OK), or with UNAVAILABLE if the connection
  // went down first (the channel stays in the set and is subscribed on
  // reconnect). Subscribing a channel already in the set confirms at once
  // (after earlier pending confirmations of it). Unsubscribe removes it.
  void Subscribe(std::string channel, Confirmed confirmed);
  void Unsubscribe(std::string channel);

  // True while both connections are up. Any thread.
  bool connected() const;
  // "host:port" or the socket path, for messages.
  const std::string& endpoint() const;
  // The bus thread's context (for timers of components that live on it).
  boost::asio::io_context& context();
  // Runs `task` on the bus thread.
  void Post(absl::AnyInvocable<void() &&> task);

  struct Stats {
    uint64_t commands = 0;    // sent
    uint64_t messages = 0;    // received on subscriptions
    uint64_t reconnects = 0;  // successful connects after the first
    uint64_t timeouts = 0;
    size_t in_flight = 0;
    size_t channels = 0;  // subscribed
  };
  Stats stats() const;

 private:
  class Impl;  // service/redis/redis_client.cc; lives on the bus thread
  explicit RedisClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::service::redis
