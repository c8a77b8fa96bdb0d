#include "service/field_checks.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "herald/v1/herald.pb.h"
#include "push/utf8.h"
#include "service/pg_timestamp.h"

namespace herald::service {

absl::Status Invalid(absl::string_view prefix, absl::string_view field,
                     absl::string_view what) {
  return absl::InvalidArgumentError(
      prefix.empty() ? absl::StrCat(field, ": ", what)
                     : absl::StrCat(prefix, ".", field, ": ", what));
}

absl::Status CheckId(absl::string_view prefix, absl::string_view field,
                     int64_t id) {
  if (id > 0) return absl::OkStatus();
  return Invalid(prefix, field, "must be positive");
}

absl::Status CheckTimestamp(absl::string_view prefix, absl::string_view field,
                            bool present,
                            const google::protobuf::Timestamp& ts) {
  if (!present) return Invalid(prefix, field, "missing");
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return Invalid(
        prefix, field,
        absl::StrCat("nanos ", ts.nanos(), " outside [0, 999999999]"));
  }
  if (!PgTimestampInRange(ts)) {
    return Invalid(prefix, field,
                   absl::StrCat("seconds ", ts.seconds(),
                                " outside 0001-01-01T00:00:00Z.."
                                "9999-12-31T23:59:59Z"));
  }
  return absl::OkStatus();
}

absl::Status CheckString(absl::string_view prefix, absl::string_view field,
                         absl::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Invalid(
        prefix, field,
        absl::StrCat(value.size(), " bytes exceeds the limit of ", max_bytes));
  }
  if (!IsValidUtf8(std::string_view(value.data(), value.size())))
    return Invalid(prefix, field, "not valid UTF-8");
  return absl::OkStatus();
}

absl::Status CheckChannelType(absl::string_view prefix, int type) {
  if (v1::ChannelType_IsValid(type)) return absl::OkStatus();
  return Invalid(prefix, "type", absl::StrCat("unknown channel type ", type));
}

}  // namespace herald::service
