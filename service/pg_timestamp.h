#pragma once

#include <cstdint>
#include <string>

#include "google/protobuf/timestamp.pb.h"

namespace herald::service {

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds: the range
// AppendPgTimestamp supports (also google.protobuf.Timestamp's valid range).
inline constexpr int64_t kMinPgTimestampSeconds = -62135596800;
inline constexpr int64_t kMaxPgTimestampSeconds = 253402300799;

// True when `ts` has seconds in [kMinPgTimestampSeconds,
// kMaxPgTimestampSeconds] and nanos in [0, 999999999].
bool PgTimestampInRange(const google::protobuf::Timestamp& ts);

// Appends `ts` as PostgreSQL prints a timestamptz in the UTC time zone:
// `YYYY-MM-DD HH:MM:SS[.ffffff]+00`. Microseconds are nanos / 1000
// (truncated); trailing zeros of the fraction are dropped and the fraction is
// omitted when it is zero. Returns false and appends nothing when `ts` is out
// of range (see PgTimestampInRange). Pure function, any thread.
bool AppendPgTimestamp(std::string& out, const google::protobuf::Timestamp& ts);

}  // namespace herald::service
