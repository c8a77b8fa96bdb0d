#pragma once

#include <string>

#include "google/protobuf/message.h"
#include "herald/v1/admin.pb.h"

namespace herald::tools {

// How heraldctl prints the HeraldAdmin responses. Pure functions; any
// thread.

// One header line, then one line per connection, columns aligned:
//   ID  SOCKET  CHANNEL  PEER  TRANSPORT  QUEUE  SINCE  NODE
// SINCE is RFC 3339 UTC to the second; CHANNEL is `-` for the main socket.
// A truncated list ends with a line saying so; an empty one prints
// `no connections`.
std::string FormatConnections(const v1::ListConnectionsResponse& response);

// The statistics as `section` headings with `  name  value` rows.
std::string FormatStats(const v1::GetStatsResponse& stats);

// The protobuf JSON mapping of `message` (field names as in the .proto,
// fields with default values included; 64-bit integers are JSON strings,
// as that mapping has it), one line.
std::string ToJsonLine(const google::protobuf::Message& message);

// RFC 3339 UTC to the second: 2026-12-01T23:00:00Z.
std::string FormatTime(const google::protobuf::Timestamp& ts);

}  // namespace herald::tools
