#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"

// Returns the first failing check's status from the enclosing function.
#define HERALD_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    absl::Status herald_status_ = (expr);            \
    if (!herald_status_.ok()) return herald_status_; \
  } while (0)

namespace herald::service {

// The checks Validator and the event table's per-event validations share.
// Each returns OK or INVALID_ARGUMENT "prefix.field: what" ("field: what"
// when `prefix` is empty). Error messages are built only on failure; the OK
// path allocates nothing. absl::string_view (not std::string_view) because
// this abseil build has its own string_view type, the only one absl::StrCat
// accepts.
//
// Thread-safety: stateless.
absl::Status Invalid(absl::string_view prefix, absl::string_view field,
                     absl::string_view what);
absl::Status CheckId(absl::string_view prefix, absl::string_view field,
                     int64_t id);
// Present, nanos in range, and within PostgreSQL's timestamp range.
absl::Status CheckTimestamp(absl::string_view prefix, absl::string_view field,
                            bool present,
                            const google::protobuf::Timestamp& ts);
// At most `max_bytes` of valid UTF-8.
absl::Status CheckString(absl::string_view prefix, absl::string_view field,
                         absl::string_view value, size_t max_bytes);
// A known v1::ChannelType; the field is "type".
absl::Status CheckChannelType(absl::string_view prefix, int type);

}  // namespace herald::service
