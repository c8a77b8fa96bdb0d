#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "herald/v1/herald.pb.h"

namespace herald::service {

// Turns published events into the exact JSON envelope clients receive:
// `{"data":{...},"name":"EVENT"}`, compact, keys sorted byte-wise, string
// escaping identical to nlohmann::json::dump() (see the seed protocol).
//
// Thread-safety: stateless; every method is static and may be called from
// any thread concurrently.
class Translator {
 public:
  Translator() = delete;

  // The envelope for the event set in `req`. Precondition: `req` passed
  // Validator::ValidatePublish (an event is set, timestamps are in range).
  // With no event set it returns an empty string; an out-of-range timestamp
  // is written as "".
  static std::string ToJson(const v1::PublishRequest& req);

  // Voice presence events, emitted by herald itself.
  static std::string UserJoinedVc(int64_t user_id, int64_t channel_id,
                                  int64_t server_id);
  static std::string UserLeftVc(int64_t user_id, int64_t channel_id,
                                int64_t server_id);

  // The envelope "name" of the event set in `req`, e.g. "message_created";
  // empty when no event is set. Points to static storage.
  static std::string_view EventName(const v1::PublishRequest& req);
};

}  // namespace herald::service
