#include "service/validator.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "service/pg_timestamp.h"

// Returns the first failing check's status from the enclosing function.
#define HERALD_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    absl::Status herald_status_ = (expr);            \
    if (!herald_status_.ok()) return herald_status_; \
  } while (0)

namespace herald::service {
namespace {

using v1::PublishRequest;

// Error messages are built only on failure; the OK path allocates nothing.
// absl::string_view (not std::string_view) because this abseil build has
// its own string_view type, the only one absl::StrCat accepts.
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

}  // namespace

absl::Status Validator::ValidatePublish(const PublishRequest& req) const {
  HERALD_RETURN_IF_ERROR(ValidateEvent(req));
  return CheckIdList("visible_to", req.visible_to(), limits_.max_visible_to);
}

absl::Status Validator::ValidateEvent(const PublishRequest& req) const {
  switch (req.event_case()) {
    case PublishRequest::kMessageCreated: {
      constexpr absl::string_view p = "message_created";
      const auto& e = req.message_created();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "author_id", e.author_id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "channel_id", e.channel_id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
      HERALD_RETURN_IF_ERROR(CheckTimestamp(p, "sent", e.has_sent(), e.sent()));
      HERALD_RETURN_IF_ERROR(
          CheckTimestamp(p, "edited", e.has_edited(), e.edited()));
      return CheckString(p, "text", e.text(), limits_.max_text_bytes);
    }
    case PublishRequest::kMessageEdited: {
      constexpr absl::string_view p = "message_edited";
      const auto& e = req.message_edited();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "channel_id", e.channel_id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
      HERALD_RETURN_IF_ERROR(
          CheckTimestamp(p, "edited", e.has_edited(), e.edited()));
      return CheckString(p, "text", e.text(), limits_.max_text_bytes);
    }
    case PublishRequest::kMessageDeleted: {
      constexpr absl::string_view p = "message_deleted";
      const auto& e = req.message_deleted();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "channel_id", e.channel_id()));
      return CheckId(p, "server_id", e.server_id());
    }
    case PublishRequest::kChannelCreated: {
      constexpr absl::string_view p = "channel_created";
      const auto& e = req.channel_created();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
      HERALD_RETURN_IF_ERROR(
          CheckString(p, "name", e.name(), limits_.max_name_bytes));
      return CheckChannelType(p, e.type());
    }
    case PublishRequest::kChannelEdited: {
      constexpr absl::string_view p = "channel_edited";
      const auto& e = req.channel_edited();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
      HERALD_RETURN_IF_ERROR(
          CheckString(p, "name", e.name(), limits_.max_name_bytes));
      return CheckChannelType(p, e.type());
    }
    case PublishRequest::kChannelDeleted: {
      constexpr absl::string_view p = "channel_deleted";
      const auto& e = req.channel_deleted();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      return CheckId(p, "server_id", e.server_id());
    }
    case PublishRequest::kServerEdited: {
      constexpr absl::string_view p = "server_edited";
      const auto& e = req.server_edited();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      return CheckString(p, "name", e.name(), limits_.max_name_bytes);
    }
    case PublishRequest::kServerDeleted:
      return CheckId("server_deleted", "id", req.server_deleted().id());
    case PublishRequest::kUserJoined: {
      constexpr absl::string_view p = "user_joined";
      const auto& e = req.user_joined();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      return CheckId(p, "server_id", e.server_id());
    }
    case PublishRequest::kUserLeft: {
      constexpr absl::string_view p = "user_left";
      const auto& e = req.user_left();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      return CheckId(p, "server_id", e.server_id());
    }
    case PublishRequest::kUserJoinedVc:
      return absl::InvalidArgumentError(
          "user_joined_vc: voice presence events are emitted by herald "
          "itself and cannot be published");
    case PublishRequest::kUserLeftVc:
      return absl::InvalidArgumentError(
          "user_left_vc: voice presence events are emitted by herald "
          "itself and cannot be published");
    case PublishRequest::kGotServerOwner: {
      constexpr absl::string_view p = "got_server_owner";
      const auto& e = req.got_server_owner();
      HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
      return CheckId(p, "user_id", e.user_id());
    }
    case PublishRequest::EVENT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "event: missing (set one of message_created, message_edited, "
      "message_deleted, channel_created, channel_edited, channel_deleted, "
      "server_edited, server_deleted, user_joined, user_left, "
      "got_server_owner)");
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
