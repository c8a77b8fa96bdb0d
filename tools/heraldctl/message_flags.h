#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "tools/heraldctl/flags.h"

namespace herald::tools {

// Sets a protobuf message's fields from the flags of the same names, read
// from its descriptor, so heraldctl's flags follow herald's API:
//   int64                  --id=6 (any integer: herald judges validity)
//   repeated int64         --server_ids=1,2,3
//   string                 --text='its over guys' (any bytes)
//   enum (ChannelType)     --type=text|voice, the full value name, or any
//                          number
//   google.protobuf.Timestamp  --sent=TIME, see ParseTime
// Fields whose flag is absent stay unset, for herald to refuse by name;
// timestamps optionally default to now.
class MessageFlags {
 public:
  // `now` is the time `now` stands for; with `timestamps_default_to_now`
  // an absent timestamp flag means `now` too.
  MessageFlags(google::protobuf::Timestamp now, bool timestamps_default_to_now);

  // The flag names for `type`'s fields, in field order.
  static std::vector<std::string> FlagNames(
      const google::protobuf::Descriptor& type);
  // `--id=INT --name=TEXT --type=text|voice --sent=TIME --ids=1,2`.
  static std::string Synopsis(const google::protobuf::Descriptor& type);

  // Sets `message`'s fields from `flags`; ignores flags that name no field
  // (check them with Flags::CheckKnown). Usage error on a value that does
  // not parse, naming the flag.
  absl::Status Fill(const Flags& flags,
                    google::protobuf::Message& message) const;

 private:
  google::protobuf::Timestamp now_;
  bool timestamps_default_to_now_;
};

}  // namespace herald::tools
