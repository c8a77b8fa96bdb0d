#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace herald::beast_peer {

// The peer's two URL forms (the same as bench/peers/node/server.js):
//   subscribe: /sub/1,2,3  or  /?servers=1,2,3 (any path, the query wins)
//   publish:   /pub/<server>
class RequestTarget {
 public:
  // The servers a WebSocket upgrade to `target` subscribes to; empty
  // entries and anything not a decimal number are skipped.
  static std::vector<uint64_t> ServersOf(std::string_view target);
  // The server of "/pub/<digits>", or nothing for any other target.
  static std::optional<uint64_t> PublishServer(std::string_view target);
};

}  // namespace herald::beast_peer
