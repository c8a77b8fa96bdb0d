#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace herald::tools {

// Where and how `heraldctl tail` connects: one of herald's WebSocket ports.
struct WsEndpoint {
  // Builds the endpoint for `url` (`ws://` or `wss://HOST[:PORT][/PATH]`,
  // no query; empty means wss://127.0.0.1). A URL without a port gets 444,
  // or 445 when `channel` is given (the voice socket). The request target is
  // the path (default `/`) with `?token=TOKEN`, plus `&channel=C` for voice;
  // the token is percent-encoded. Usage error on anything else.
  static absl::StatusOr<WsEndpoint> FromUrl(std::string_view url,
                                            std::string_view token,
                                            std::optional<int64_t> channel);

  // Percent-encodes everything but RFC 3986 unreserved characters, so the
  // server reads back exactly `text` whatever its query decoder does with
  // `+`, `&` or `=`.
  static std::string PercentEncode(std::string_view text);

  bool tls = true;
  std::string host;         // IPv6 literals without brackets
  bool host_is_ip = false;  // no SNI; certificate checked for the IP
  std::string port;
  std::string host_header;  // Host: as in the URL, `[::1]:444`
  std::string target;       // `/?token=…`
};

}  // namespace herald::tools
