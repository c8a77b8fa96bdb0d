#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "herald/v1/herald.pb.h"
#include "service/json_writer.h"
#include "service/routing_policy.h"
#include "service/validator.h"

namespace herald::service {

// Everything herald knows about one case of the PublishRequest `event`
// oneof: its name, audience, state effect, field checks and JSON data.
// Validator, Translator and RoutingPolicy read these rows instead of
// switching over the oneof, so adding an event is adding one row (and the
// field-specific functions it points to) in event_table.cc.
struct EventSpec {
  using IdOf = int64_t (*)(const v1::PublishRequest&);

  v1::PublishRequest::EventCase event_case;
  std::string_view name;  // the envelope's "name"; static storage
  // False for the voice presence events (user_joined_vc, user_left_vc):
  // only herald emits them, a backend may not publish them.
  bool publishable;
  // The server whose members receive it (and whose state it changes).
  IdOf server_id;
  // Non-null: it goes to this one user's connections instead (the delivery
  // has server_id 0 and ignores visible_to).
  IdOf recipient;
  StateEffect::Kind effect;
  IdOf effect_user;     // kAddMembership, kRemoveMembership; else null
  IdOf effect_channel;  // kEndChannel; else null
  // The event's own fields (publishable events only): OK or
  // INVALID_ARGUMENT "name.field: ...".
  absl::Status (*validate)(const v1::PublishRequest&, const ValidationLimits&);
  // Bytes of free text in the event (to size the envelope); may be null.
  size_t (*text_bytes)(const v1::PublishRequest&);
  // Writes the members of the envelope's "data" object, keys sorted.
  void (*write_data)(JsonWriter&, const v1::PublishRequest&);
};

// Thread-safety: immutable; any thread.
class EventTable {
 public:
  EventTable() = delete;

  // The row of `event_case`; nullptr for EVENT_NOT_SET.
  static const EventSpec* Find(v1::PublishRequest::EventCase event_case);
  static const EventSpec* Find(const v1::PublishRequest& request) {
    return Find(request.event_case());
  }
  // Every row, in the oneof's order.
  static absl::Span<const EventSpec> All();
};

}  // namespace herald::service
