#include "service/validator.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "service/event_table.h"
#include "service/field_checks.h"

namespace herald::service {
namespace {

using v1::PublishRequest;

absl::Status CheckIdList(absl::string_view field,
                         const google::protobuf::RepeatedField<int64_t>& ids,
                         size_t max_entries) {
  if (static_cast<size_t>(ids.size()) > max_entries) {
    return Invalid("", field,
                   absl::StrCat(ids.size(), " entries exceeds the limit of ",
                                max_entries));
  }
  for (int i = 0; i < ids.size(); ++i) {
    if (ids.Get(i) <= 0) {
      return Invalid("", absl::StrCat(field, "[", i, "]"), "must be positive");
    }
  }
  return absl::OkStatus();
}

// The message for a request without an event: every publishable name.
const std::string& MissingEvent() {
  static const std::string* const message = [] {
    std::vector<absl::string_view> names;
    for (const EventSpec& e : EventTable::All()) {
      if (e.publishable) names.emplace_back(e.name.data(), e.name.size());
    }
    return new std::string(absl::StrCat("event: missing (set one of ",
                                        absl::StrJoin(names, ", "), ")"));
  }();
  return *message;
}

}  // namespace

absl::Status Validator::ValidatePublish(const PublishRequest& req) const {
  HERALD_RETURN_IF_ERROR(ValidateEvent(req));
  return CheckIdList("visible_to", req.visible_to(), limits_.max_visible_to);
}

absl::Status Validator::ValidateEvent(const PublishRequest& req) const {
  const EventSpec* event = EventTable::Find(req);
  if (event == nullptr) return absl::InvalidArgumentError(MissingEvent());
  if (!event->publishable) {
    // Only the voice presence events are not publishable.
    return absl::InvalidArgumentError(
        absl::StrCat(absl::string_view(event->name.data(), event->name.size()),
                     ": voice presence events are emitted by herald "
                     "itself and cannot be published"));
  }
  return event->validate(req, limits_);
}

absl::Status Validator::ValidateToken(absl::string_view field,
                                      absl::string_view token) const {
  if (token.empty()) return Invalid("", field, "missing");
  if (token.size() > limits_.max_token_bytes) {
    return Invalid("", field,
                   absl::StrCat(token.size(), " bytes exceeds the limit of ",
                                limits_.max_token_bytes));
  }
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (c < 0x21 || c > 0x7E) {
      return Invalid(
          "", field,
          absl::StrCat("byte ", i, " is not printable ASCII (0x21..0x7E)"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::ValidateOpenSession(
    const v1::OpenSessionRequest& req) const {
  HERALD_RETURN_IF_ERROR(ValidateToken("token", req.token()));
  HERALD_RETURN_IF_ERROR(CheckId("", "user_id", req.user_id()));
  if (req.has_expires_at()) {
    return CheckTimestamp("", "expires_at", true, req.expires_at());
  }
  return absl::OkStatus();
}

absl::Status Validator::ValidateCloseSession(
    const v1::CloseSessionRequest& req) const {
  return ValidateToken("token", req.token());
}

absl::Status Validator::ValidateSetMemberships(
    const v1::SetMembershipsRequest& req) const {
  HERALD_RETURN_IF_ERROR(CheckId("", "user_id", req.user_id()));
  return CheckIdList("server_ids", req.server_ids(), limits_.max_server_ids);
}

absl::Status Validator::ValidateGetMemberships(
    const v1::GetMembershipsRequest& req) const {
  return CheckId("", "user_id", req.user_id());
}

absl::Status Validator::ValidateJoinVoice(
    const v1::JoinVoiceRequest& req) const {
  HERALD_RETURN_IF_ERROR(CheckId("", "user_id", req.user_id()));
  HERALD_RETURN_IF_ERROR(CheckId("", "server_id", req.server_id()));
  return CheckId("", "channel_id", req.channel_id());
}

absl::Status Validator::ValidateLeaveVoice(
    const v1::LeaveVoiceRequest& req) const {
  return CheckId("", "user_id", req.user_id());
}

absl::Status Validator::ValidateGetVoiceState(
    const v1::GetVoiceStateRequest& req) const {
  return CheckId("", "server_id", req.server_id());
}

}  // namespace herald::service

#undef HERALD_RETURN_IF_ERROR
