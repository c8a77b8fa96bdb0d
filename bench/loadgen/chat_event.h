#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "herald/v1/herald.pb.h"

namespace herald::bench {

// One event of the chat scenario's mix and its two wire forms: the typed
// protobuf herald gets over gRPC, and the JSON envelope herald's translator
// makes of it, byte for byte, which the HTTP peers get as the POST body.
//
// Every event carries its sequence number `seq` where the receiver finds it
// again (ChatEvent::Parse): as "id", except user_joined / user_left, whose
// "id" is a spare user that never connects (kSpareUser + seq of the join;
// the leave is always the join's next event, so its seq is one more). Text
// carrying events (messages; channel names) start with "T<ns> ", the
// publish time the receiver subtracts; for the others the receiver looks
// the publish time up by seq.
//
// Voice presence (user_joined_vc / user_left_vc) is emitted by herald from
// its voice sockets, never published: herald gets a message_deleted of the
// same keys (channel_id, id, server_id) as the stand-in, the HTTP peers the
// voice envelope itself (bench/README.md, "chat").
struct ChatEvent {
  enum class Kind : uint8_t {
    kMessageCreated,
    kMessageEdited,
    kMessageDeleted,
    kChannelCreated,
    kChannelEdited,
    kChannelDeleted,
    kUserJoined,
    kUserLeft,
    kVoiceJoined,
    kVoiceLeft,
  };
  static constexpr int kKinds = 10;
  static constexpr int64_t kSpareUser = 1'000'000'000'000;
  // The timestamps of every message (as EventBody's).
  static constexpr int64_t kSeconds = 1733337374;
  static constexpr int32_t kNanos = 45680000;

  Kind kind = Kind::kMessageCreated;
  uint64_t seq = 0;
  int64_t server = 1;
  int64_t channel = 1;
  int64_t author = 1;
  int channel_type = 0;
  std::string text;  // message text or channel name, after "T<ns> "

  static const char* Name(Kind kind);
  // The "id" JSON value.
  int64_t Id() const;
  // Whether the text (or name) carries "T<ns> ".
  bool Stamped() const;

  // The JSON envelope, published at `ns`, replacing *out.
  void WriteJson(int64_t ns, std::string* out) const;
  // The gRPC request, published at `ns`, replacing *req.
  void ToProto(int64_t ns, v1::PublishRequest* req) const;

  // Finds seq, server_id and (when stamped, else 0) the publish time in a
  // received envelope. Returns false when it is not a chat event.
  static bool Parse(const char* p, size_t n, uint64_t* seq, int64_t* server,
                    int64_t* ns);

 private:
  std::string StampedText(int64_t ns) const;
};

}  // namespace herald::bench
