#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace herald::push {

// Incremental parser of client-to-server WebSocket frames. Data frames are
// not part of herald's protocol: their payload is skipped without being
// buffered, and only their size is checked against the message limit.
// Control frames are surfaced whole. Owned by one connection, on its thread.
class ClientFrameParser {
 public:
  enum class Event { kNone, kPing, kPong, kClose, kError };

  struct Output {
    Event event = Event::kNone;
    // kPing: the payload to echo. kClose: the peer's reason.
    std::string payload;
    // kClose: the peer's code (1005 when absent; otherwise one a peer may
    // send, RFC 6455 §7.4). kError: the close code to answer with (1002
    // protocol error, 1007 close reason not UTF-8, 1009 message too big).
    uint16_t code = 0;
    // kError: why, for the close reason.
    const char* error = nullptr;
  };

  explicit ClientFrameParser(size_t max_message_bytes)
      : max_message_bytes_(max_message_bytes) {}

  // Consumes a prefix of data[0, size) and returns its length. Stops after
  // one control frame or error (reported in *out), or when the rest is an
  // incomplete header or control frame: the caller keeps those bytes and
  // calls again with more appended. After kError, stop calling.
  size_t Parse(const uint8_t* data, size_t size, Output* out);

 private:
  size_t max_message_bytes_;
  uint64_t skip_remaining_ = 0;  // data payload bytes still to skip
  uint64_t message_bytes_ = 0;   // size of the data message so far
  bool in_fragmented_message_ = false;
};

}  // namespace herald::push
