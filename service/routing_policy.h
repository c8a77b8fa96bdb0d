#pragma once

#include <cstdint>

#include "herald/v1/herald.pb.h"
#include "push/delivery.h"

namespace herald::service {

// The state change an event implies, beside its delivery.
struct StateEffect {
  enum class Kind {
    kNone,
    kAddMembership,     // user_joined: before the delivery; may be refused
                        // over a membership limit (then nothing happens)
    kRemoveMembership,  // user_left: after the delivery; ends the user's
                        // voice grant and presence in that server
    kDropServer,        // server_deleted: after the delivery; ends every
                        // voice grant and presence in it
    kEndChannel,        // channel_deleted: after the delivery; ends voice
                        // grants and presence in that channel
  };
  Kind kind = Kind::kNone;
  int64_t user_id = 0;     // kAddMembership, kRemoveMembership
  int64_t server_id = 0;   // every kind but kNone
  int64_t channel_id = 0;  // kEndChannel
};

// How one validated event is delivered and what it changes: the whole
// routing policy of herald as data (SPEC §1), the same in one process and
// in a cluster.
struct RoutePlan {
  // payload (the JSON envelope), audience (server_id / users) and the
  // membership changes each push worker applies around the frame.
  push::Delivery delivery;
  StateEffect effect;
  std::string_view event_name;  // "message_created", ...; static storage
};

// Stateless; any thread.
class RoutingPolicy {
 public:
  // `request` passed Validator::ValidatePublish (so its event is set and is
  // not a presence event).
  static RoutePlan Plan(const v1::PublishRequest& request);
};

}  // namespace herald::service
