#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"
#include "herald/v1/herald.pb.h"
#include "tools/heraldctl/flags.h"
#include "tools/heraldctl/message_flags.h"

namespace herald::tools {

// Turns `heraldctl publish EVENT --field=value…` into the PublishRequest to
// send. The events are the fields of PublishRequest's `event` oneof and an
// event's flags are the fields of its message (see MessageFlags), so the tool
// follows the API without a table to keep in sync. `sent` and `edited`
// default to now. Every event but got_server_owner (which ignores it) also
// takes --visible_to=1,2,3. Absent fields stay unset, for herald to refuse
// by name. Knows nothing about sending; testable without a server.
class EventBuilder {
 public:
  // `now` fills the timestamps that are not given.
  explicit EventBuilder(google::protobuf::Timestamp now);

  // Every event name, in the order of the proto.
  static std::vector<std::string> EventNames();
  // The flags `event` accepts, as in `--id=INT --name=TEXT --type=text|voice`;
  // empty for an unknown event.
  static std::string FlagSynopsis(std::string_view event);

  // Fails with a usage error on an unknown event or flag or a value that
  // does not parse.
  absl::StatusOr<v1::PublishRequest> Build(std::string_view event,
                                           const Flags& flags) const;

 private:
  MessageFlags message_flags_;
};

}  // namespace herald::tools
