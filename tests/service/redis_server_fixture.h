#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/redis/redis_reply.h"

namespace herald::testing {

struct RedisServerOptions {
  std::string password;                 // --requirepass; empty: none
  bool unix_socket = false;             // also listen on <dir>/redis.sock
  std::vector<std::string> extra_args;  // e.g. {"--maxclients", "10"}
};

// A real redis-server (/usr/bin/redis-server) for tests: 127.0.0.1 on a
// free port (found by binding port 0; retried when another process takes
// it first), `--save '' --appendonly no` in a fresh temp dir, DEBUG
// enabled. The child dies with the test process (PR_SET_PDEATHSIG).
// Not thread-safe: drive it from the test's thread.
class RedisServer {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      RedisServerOptions options = {});
  // Kills the server (if running) and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // SIGTERM and wait (clients see their connections closed).
  absl::Status Stop();
  // SIGKILL and wait.
  absl::Status Kill();
  // Starts it again on the same port, directory and socket; waits until it
  // answers. The server must be stopped.
  absl::Status Restart();
  bool running() const { return pid_ > 0; }

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // Empty unless options.unix_socket.
  const std::string& socket_path() const { return socket_path_; }
  // redis://[:PASSWORD@]127.0.0.1:PORT (the password percent-escaped).
  std::string Url() const;
  // unix://[:PASSWORD@]/PATH
  std::string UnixUrl() const;
  // The last `max_bytes` of the server's log, for failure messages.
  std::string LogTail(size_t max_bytes = 2000) const;

  // Runs one command on a new blocking connection (AUTH first when the
  // server has a password), for setting up and checking tests. An error
  // reply is a RedisReply of type kError.
  absl::StatusOr<service::redis::RedisReply> Command(
      const std::vector<std::string>& argv,
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  RedisServer(RedisServerOptions options, std::string dir);
  // Spawns redis-server on port_ and waits until it answers as itself.
  absl::Status Launch();
  absl::Status Signal(int signal);

  const RedisServerOptions options_;
  const std::string host_ = "127.0.0.1";
  const std::string dir_;
  std::string socket_path_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace herald::testing
