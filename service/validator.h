#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "herald/v1/herald.pb.h"
#include "push/utf8.h"

namespace herald::service {

// Size limits applied to incoming requests.
struct ValidationLimits {
  size_t max_text_bytes = 16384;   // message text
  size_t max_name_bytes = 1024;    // channel and server names
  size_t max_token_bytes = 512;    // session tokens
  size_t max_visible_to = 100000;  // PublishRequest.visible_to entries
  size_t max_server_ids = 100000;  // SetMembershipsRequest.server_ids entries
};

using ::herald::IsValidUtf8;  // push/utf8.h

// Checks gRPC requests before they change anything. Every method returns OK
// or INVALID_ARGUMENT whose message starts with the offending field's path,
// e.g. "message_created.text: not valid UTF-8" or "visible_to[2]: must be
// positive".
//
// Thread-safety: immutable after construction; all methods are const and
// may be called from any thread concurrently.
class Validator {
 public:
  explicit Validator(const ValidationLimits& limits = ValidationLimits())
      : limits_(limits) {}

  const ValidationLimits& limits() const { return limits_; }

  // Exactly one publishable event (not user_joined_vc / user_left_vc, which
  // only herald emits), positive ids, present in-range timestamps, valid
  // UTF-8 strings within the limits, a known channel type, and positive
  // visible_to entries within the limit.
  absl::Status ValidatePublish(const v1::PublishRequest& req) const;

  // Token of 1..max_token_bytes printable ASCII bytes (0x21..0x7E), positive
  // user_id, and expires_at, when set, a valid Timestamp. Whether it is in
  // the past is for the caller to decide.
  absl::Status ValidateOpenSession(const v1::OpenSessionRequest& req) const;
  absl::Status ValidateCloseSession(const v1::CloseSessionRequest& req) const;
  absl::Status ValidateSetMemberships(
      const v1::SetMembershipsRequest& req) const;
  absl::Status ValidateGetMemberships(
      const v1::GetMembershipsRequest& req) const;
  absl::Status ValidateJoinVoice(const v1::JoinVoiceRequest& req) const;
  absl::Status ValidateLeaveVoice(const v1::LeaveVoiceRequest& req) const;
  absl::Status ValidateGetVoiceState(const v1::GetVoiceStateRequest& req) const;

 private:
  absl::Status ValidateEvent(const v1::PublishRequest& req) const;
  absl::Status ValidateToken(absl::string_view field,
                             absl::string_view token) const;

  ValidationLimits limits_;
};

}  // namespace herald::service
