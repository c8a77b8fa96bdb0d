#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"

namespace herald::tools {

// Parses a point in time given on the command line. Accepted forms:
//   RFC 3339:              2024-12-04T18:36:14.045681Z, …T18:36:14+03:00
//   PostgreSQL timestamptz: 2024-12-04 18:36:14.045681+00, …14+05:30
//   `now`:                 `now` itself
// Date and time are separated by `T`, `t` or one space; the fraction has 1 to
// 9 digits; the offset is `Z`, `z`, ±HH, ±HHMM or ±HH:MM (no offset means
// UTC). Fails with a one-line message quoting `text` on anything else,
// including impossible dates (2023-02-29) and leap seconds.
absl::StatusOr<google::protobuf::Timestamp> ParseTime(
    std::string_view text, const google::protobuf::Timestamp& now);

// The current time of the system clock.
google::protobuf::Timestamp NowTimestamp();

}  // namespace herald::tools
