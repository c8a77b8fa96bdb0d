#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace herald::service::redis {

// Where Redis is: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (port 6379,
// db 0 by default; HOST may be [IPv6]) or unix:///PATH[?db=N]
// (also unix://:PASSWORD@/PATH). Percent-escapes in the password are decoded.
struct RedisUrl {
  std::string host;  // empty for a Unix socket
  uint16_t port = 6379;
  std::string socket_path;  // non-empty for a Unix socket
  std::string user;         // AUTH user (Redis 6 ACL); empty: default
  std::string password;     // empty: no AUTH
  int db = 0;

  // INVALID_ARGUMENT naming what is wrong ("--redis: ...").
  static absl::StatusOr<RedisUrl> Parse(std::string_view text);
  // host:port or the path; never the password.
  std::string Endpoint() const;
};

}  // namespace herald::service::redis
