#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace herald::bench {

// The message_created envelope every server sends, byte for byte what
// herald's translator writes for the proto the gRPC publisher sends:
// {"data":{"author_id":1,"channel_id":1,"edited":"2024-12-04
// 18:36:14.04568+00","id":SEQ,"sent":"...","server_id":S,"text":"T<ns>"},
// "name":"message_created"}. Stateless; callable from any thread.
class EventBody {
 public:
  static constexpr int64_t kTimestampSeconds =
      1733337374;                                       // 2024-12-04 18:36:14Z
  static constexpr int32_t kTimestampNanos = 45680000;  // .04568
  static constexpr size_t kMaxSize = 256;

  // Writes the JSON into buf (at least kMaxSize bytes); returns its length.
  static size_t Write(uint64_t seq, int64_t server, int64_t ns, char* buf);
  static std::string Make(uint64_t seq, int64_t server, int64_t ns);

  // Parses "id":SEQ, "server_id":S and "text":"T<ns>" out of a received
  // payload. Returns false when one is missing or malformed. *exact tells
  // whether the payload is byte for byte the envelope Write produces.
  static bool Parse(const char* p, size_t n, uint64_t* seq, int64_t* ns,
                    int64_t* server, bool* exact);
};

}  // namespace herald::bench
