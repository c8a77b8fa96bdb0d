#include "service/event_table.h"

#include <iterator>

#include "service/envelope_fields.h"
#include "service/field_checks.h"

namespace herald::service {
namespace {

using v1::PublishRequest;
using Kind = StateEffect::Kind;

// message_created

absl::Status ValidateMessageCreated(const PublishRequest& req,
                                    const ValidationLimits& limits) {
  constexpr absl::string_view p = "message_created";
  const auto& e = req.message_created();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "author_id", e.author_id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "channel_id", e.channel_id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
  HERALD_RETURN_IF_ERROR(CheckTimestamp(p, "sent", e.has_sent(), e.sent()));
  HERALD_RETURN_IF_ERROR(
      CheckTimestamp(p, "edited", e.has_edited(), e.edited()));
  return CheckString(p, "text", e.text(), limits.max_text_bytes);
}

void WriteMessageCreated(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.message_created();
  w.Key("author_id");
  w.Int(e.author_id());
  w.Key("channel_id");
  w.Int(e.channel_id());
  WriteTimestamp(w, "edited", e.edited());
  w.Key("id");
  w.Int(e.id());
  WriteTimestamp(w, "sent", e.sent());
  w.Key("server_id");
  w.Int(e.server_id());
  w.Key("text");
  w.String(e.text());
}

// message_edited

absl::Status ValidateMessageEdited(const PublishRequest& req,
                                   const ValidationLimits& limits) {
  constexpr absl::string_view p = "message_edited";
  const auto& e = req.message_edited();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "channel_id", e.channel_id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
  HERALD_RETURN_IF_ERROR(
      CheckTimestamp(p, "edited", e.has_edited(), e.edited()));
  return CheckString(p, "text", e.text(), limits.max_text_bytes);
}

void WriteMessageEdited(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.message_edited();
  w.Key("channel_id");
  w.Int(e.channel_id());
  WriteTimestamp(w, "edited", e.edited());
  w.Key("id");
  w.Int(e.id());
  w.Key("server_id");
  w.Int(e.server_id());
  w.Key("text");
  w.String(e.text());
}

// message_deleted

absl::Status ValidateMessageDeleted(const PublishRequest& req,
                                    const ValidationLimits&) {
  constexpr absl::string_view p = "message_deleted";
  const auto& e = req.message_deleted();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "channel_id", e.channel_id()));
  return CheckId(p, "server_id", e.server_id());
}

void WriteMessageDeleted(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.message_deleted();
  w.Key("channel_id");
  w.Int(e.channel_id());
  WriteIdAndServer(w, e.id(), e.server_id());
}

// channel_created, channel_edited: the same fields.

template <typename Event>
absl::Status ValidateChannel(absl::string_view p, const Event& e,
                             const ValidationLimits& limits) {
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  HERALD_RETURN_IF_ERROR(CheckId(p, "server_id", e.server_id()));
  HERALD_RETURN_IF_ERROR(
      CheckString(p, "name", e.name(), limits.max_name_bytes));
  return CheckChannelType(p, e.type());
}

absl::Status ValidateChannelCreated(const PublishRequest& req,
                                    const ValidationLimits& limits) {
  return ValidateChannel("channel_created", req.channel_created(), limits);
}

absl::Status ValidateChannelEdited(const PublishRequest& req,
                                   const ValidationLimits& limits) {
  return ValidateChannel("channel_edited", req.channel_edited(), limits);
}

void WriteChannelCreated(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.channel_created();
  WriteChannel(w, e.id(), e.name(), e.server_id(), e.type());
}

void WriteChannelEdited(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.channel_edited();
  WriteChannel(w, e.id(), e.name(), e.server_id(), e.type());
}

// channel_deleted

absl::Status ValidateChannelDeleted(const PublishRequest& req,
                                    const ValidationLimits&) {
  constexpr absl::string_view p = "channel_deleted";
  const auto& e = req.channel_deleted();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  return CheckId(p, "server_id", e.server_id());
}

void WriteChannelDeleted(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.channel_deleted();
  WriteIdAndServer(w, e.id(), e.server_id());
}

// server_edited, server_deleted

absl::Status ValidateServerEdited(const PublishRequest& req,
                                  const ValidationLimits& limits) {
  constexpr absl::string_view p = "server_edited";
  const auto& e = req.server_edited();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  return CheckString(p, "name", e.name(), limits.max_name_bytes);
}

void WriteServerEdited(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.server_edited();
  w.Key("id");
  w.Int(e.id());
  w.Key("name");
  w.String(e.name());
}

absl::Status ValidateServerDeleted(const PublishRequest& req,
                                   const ValidationLimits&) {
  return CheckId("server_deleted", "id", req.server_deleted().id());
}

void WriteServerDeleted(JsonWriter& w, const PublishRequest& req) {
  w.Key("id");
  w.Int(req.server_deleted().id());
}

// user_joined, user_left

absl::Status ValidateUserJoined(const PublishRequest& req,
                                const ValidationLimits&) {
  constexpr absl::string_view p = "user_joined";
  const auto& e = req.user_joined();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  return CheckId(p, "server_id", e.server_id());
}

void WriteUserJoined(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.user_joined();
  WriteIdAndServer(w, e.id(), e.server_id());
}

absl::Status ValidateUserLeft(const PublishRequest& req,
                              const ValidationLimits&) {
  constexpr absl::string_view p = "user_left";
  const auto& e = req.user_left();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  return CheckId(p, "server_id", e.server_id());
}

void WriteUserLeft(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.user_left();
  WriteIdAndServer(w, e.id(), e.server_id());
}

// user_joined_vc, user_left_vc: emitted by herald only (never validated).

void WriteUserJoinedVc(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.user_joined_vc();
  WriteVoicePresence(w, e.id(), e.channel_id(), e.server_id());
}

void WriteUserLeftVc(JsonWriter& w, const PublishRequest& req) {
  const auto& e = req.user_left_vc();
  WriteVoicePresence(w, e.id(), e.channel_id(), e.server_id());
}

// got_server_owner

absl::Status ValidateGotServerOwner(const PublishRequest& req,
                                    const ValidationLimits&) {
  constexpr absl::string_view p = "got_server_owner";
  const auto& e = req.got_server_owner();
  HERALD_RETURN_IF_ERROR(CheckId(p, "id", e.id()));
  return CheckId(p, "user_id", e.user_id());
}

void WriteGotServerOwner(JsonWriter& w, const PublishRequest& req) {
  // user_id addresses the recipient and is not part of the JSON.
  w.Key("id");
  w.Int(req.got_server_owner().id());
}

// The rows, in the oneof's order. Columns: case, name, publishable,
// server_id, recipient, effect, effect_user, effect_channel, validate,
// text_bytes, write_data.
const EventSpec kEvents[] = {
    {PublishRequest::kMessageCreated, "message_created", true,
     [](const PublishRequest& r) { return r.message_created().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, ValidateMessageCreated,
     [](const PublishRequest& r) { return r.message_created().text().size(); },
     WriteMessageCreated},
    {PublishRequest::kMessageEdited, "message_edited", true,
     [](const PublishRequest& r) { return r.message_edited().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, ValidateMessageEdited,
     [](const PublishRequest& r) { return r.message_edited().text().size(); },
     WriteMessageEdited},
    {PublishRequest::kMessageDeleted, "message_deleted", true,
     [](const PublishRequest& r) { return r.message_deleted().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, ValidateMessageDeleted, nullptr,
     WriteMessageDeleted},
    {PublishRequest::kChannelCreated, "channel_created", true,
     [](const PublishRequest& r) { return r.channel_created().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, ValidateChannelCreated,
     [](const PublishRequest& r) { return r.channel_created().name().size(); },
     WriteChannelCreated},
    {PublishRequest::kChannelEdited, "channel_edited", true,
     [](const PublishRequest& r) { return r.channel_edited().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, ValidateChannelEdited,
     [](const PublishRequest& r) { return r.channel_edited().name().size(); },
     WriteChannelEdited},
    {PublishRequest::kChannelDeleted, "channel_deleted", true,
     [](const PublishRequest& r) { return r.channel_deleted().server_id(); },
     nullptr, Kind::kEndChannel, nullptr,
     [](const PublishRequest& r) { return r.channel_deleted().id(); },
     ValidateChannelDeleted, nullptr, WriteChannelDeleted},
    {PublishRequest::kServerEdited, "server_edited", true,
     [](const PublishRequest& r) { return r.server_edited().id(); }, nullptr,
     Kind::kNone, nullptr, nullptr, ValidateServerEdited,
     [](const PublishRequest& r) { return r.server_edited().name().size(); },
     WriteServerEdited},
    {PublishRequest::kServerDeleted, "server_deleted", true,
     [](const PublishRequest& r) { return r.server_deleted().id(); }, nullptr,
     Kind::kDropServer, nullptr, nullptr, ValidateServerDeleted, nullptr,
     WriteServerDeleted},
    {PublishRequest::kUserJoined, "user_joined", true,
     [](const PublishRequest& r) { return r.user_joined().server_id(); },
     nullptr, Kind::kAddMembership,
     [](const PublishRequest& r) { return r.user_joined().id(); }, nullptr,
     ValidateUserJoined, nullptr, WriteUserJoined},
    {PublishRequest::kUserLeft, "user_left", true,
     [](const PublishRequest& r) { return r.user_left().server_id(); }, nullptr,
     Kind::kRemoveMembership,
     [](const PublishRequest& r) { return r.user_left().id(); }, nullptr,
     ValidateUserLeft, nullptr, WriteUserLeft},
    {PublishRequest::kUserJoinedVc, "user_joined_vc", false,
     [](const PublishRequest& r) { return r.user_joined_vc().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, nullptr, nullptr,
     WriteUserJoinedVc},
    {PublishRequest::kUserLeftVc, "user_left_vc", false,
     [](const PublishRequest& r) { return r.user_left_vc().server_id(); },
     nullptr, Kind::kNone, nullptr, nullptr, nullptr, nullptr, WriteUserLeftVc},
    {PublishRequest::kGotServerOwner, "got_server_owner", true,
     [](const PublishRequest&) { return int64_t{0}; },
     [](const PublishRequest& r) { return r.got_server_owner().user_id(); },
     Kind::kNone, nullptr, nullptr, ValidateGotServerOwner, nullptr,
     WriteGotServerOwner},
};

}  // namespace

const EventSpec* EventTable::Find(PublishRequest::EventCase event_case) {
  for (const EventSpec& e : kEvents) {
    if (e.event_case == event_case) return &e;
  }
  return nullptr;
}

absl::Span<const EventSpec> EventTable::All() {
  return absl::MakeConstSpan(kEvents, std::size(kEvents));
}

}  // namespace herald::service

#undef HERALD_RETURN_IF_ERROR
