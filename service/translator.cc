#include "service/translator.h"

#include <cstddef>

#include "service/json_writer.h"
#include "service/pg_timestamp.h"

namespace herald::service {
namespace {

using v1::PublishRequest;

// Upper bound of an envelope without its free-text fields: the longest
// fixed part (message_created) is about 230 bytes with 19-digit ids.
constexpr size_t kEnvelopeReserve = 256;

void WriteTimestamp(JsonWriter& w, std::string_view key,
                    const google::protobuf::Timestamp& ts) {
  w.Key(key);
  std::string* out = w.RawValue();
  out->push_back('"');
  AppendPgTimestamp(*out, ts);  // Validated; appends nothing if not.
  out->push_back('"');
}

void WriteChannel(JsonWriter& w, int64_t id, std::string_view name,
                  int64_t server_id, int type) {
  w.Key("id");
  w.Int(id);
  w.Key("name");
  w.String(name);
  w.Key("server_id");
  w.Int(server_id);
  w.Key("type");
  w.Int(type);
}

void WriteVoicePresence(JsonWriter& w, int64_t user_id, int64_t channel_id,
                        int64_t server_id) {
  w.Key("channel_id");
  w.Int(channel_id);
  w.Key("id");
  w.Int(user_id);
  w.Key("server_id");
  w.Int(server_id);
}

void WriteIdAndServer(JsonWriter& w, int64_t id, int64_t server_id) {
  w.Key("id");
  w.Int(id);
  w.Key("server_id");
  w.Int(server_id);
}

size_t TextBytes(const PublishRequest& req) {
  switch (req.event_case()) {
    case PublishRequest::kMessageCreated:
      return req.message_created().text().size();
    case PublishRequest::kMessageEdited:
      return req.message_edited().text().size();
    case PublishRequest::kChannelCreated:
      return req.channel_created().name().size();
    case PublishRequest::kChannelEdited:
      return req.channel_edited().name().size();
    case PublishRequest::kServerEdited:
      return req.server_edited().name().size();
    default:
      return 0;
  }
}

// Writes the "data" object's members for the event set in `req`.
void WriteData(JsonWriter& w, const PublishRequest& req) {
  switch (req.event_case()) {
    case PublishRequest::kMessageCreated: {
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
      break;
    }
    case PublishRequest::kMessageEdited: {
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
      break;
    }
    case PublishRequest::kMessageDeleted: {
      const auto& e = req.message_deleted();
      w.Key("channel_id");
      w.Int(e.channel_id());
      WriteIdAndServer(w, e.id(), e.server_id());
      break;
    }
    case PublishRequest::kChannelCreated: {
      const auto& e = req.channel_created();
      WriteChannel(w, e.id(), e.name(), e.server_id(), e.type());
      break;
    }
    case PublishRequest::kChannelEdited: {
      const auto& e = req.channel_edited();
      WriteChannel(w, e.id(), e.name(), e.server_id(), e.type());
      break;
    }
    case PublishRequest::kChannelDeleted: {
      const auto& e = req.channel_deleted();
      WriteIdAndServer(w, e.id(), e.server_id());
      break;
    }
    case PublishRequest::kServerEdited: {
      const auto& e = req.server_edited();
      w.Key("id");
      w.Int(e.id());
      w.Key("name");
      w.String(e.name());
      break;
    }
    case PublishRequest::kServerDeleted:
      w.Key("id");
      w.Int(req.server_deleted().id());
      break;
    case PublishRequest::kUserJoined: {
      const auto& e = req.user_joined();
      WriteIdAndServer(w, e.id(), e.server_id());
      break;
    }
    case PublishRequest::kUserLeft: {
      const auto& e = req.user_left();
      WriteIdAndServer(w, e.id(), e.server_id());
      break;
    }
    case PublishRequest::kUserJoinedVc: {
      const auto& e = req.user_joined_vc();
      WriteVoicePresence(w, e.id(), e.channel_id(), e.server_id());
      break;
    }
    case PublishRequest::kUserLeftVc: {
      const auto& e = req.user_left_vc();
      WriteVoicePresence(w, e.id(), e.channel_id(), e.server_id());
      break;
    }
    case PublishRequest::kGotServerOwner:
      // user_id addresses the recipient and is not part of the JSON.
      w.Key("id");
      w.Int(req.got_server_owner().id());
      break;
    case PublishRequest::EVENT_NOT_SET:
      break;
  }
}

std::string VoicePresence(std::string_view name, int64_t user_id,
                          int64_t channel_id, int64_t server_id) {
  std::string out;
  out.reserve(kEnvelopeReserve);
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("data");
  w.BeginObject();
  WriteVoicePresence(w, user_id, channel_id, server_id);
  w.EndObject();
  w.Key("name");
  w.String(name);
  w.EndObject();
  return out;
}

}  // namespace

std::string Translator::ToJson(const PublishRequest& req) {
  const std::string_view name = EventName(req);
  if (name.empty()) return std::string();
  std::string out;
  // Free text usually needs no escaping; an eighth extra absorbs a few.
  const size_t text = TextBytes(req);
  out.reserve(kEnvelopeReserve + text + text / 8);
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("data");
  w.BeginObject();
  WriteData(w, req);
  w.EndObject();
  w.Key("name");
  w.String(name);
  w.EndObject();
  return out;
}

std::string Translator::UserJoinedVc(int64_t user_id, int64_t channel_id,
                                     int64_t server_id) {
  return VoicePresence("user_joined_vc", user_id, channel_id, server_id);
}

std::string Translator::UserLeftVc(int64_t user_id, int64_t channel_id,
                                   int64_t server_id) {
  return VoicePresence("user_left_vc", user_id, channel_id, server_id);
}

std::string_view Translator::EventName(const PublishRequest& req) {
  switch (req.event_case()) {
    case PublishRequest::kMessageCreated:
      return "message_created";
    case PublishRequest::kMessageEdited:
      return "message_edited";
    case PublishRequest::kMessageDeleted:
      return "message_deleted";
    case PublishRequest::kChannelCreated:
      return "channel_created";
    case PublishRequest::kChannelEdited:
      return "channel_edited";
    case PublishRequest::kChannelDeleted:
      return "channel_deleted";
    case PublishRequest::kServerEdited:
      return "server_edited";
    case PublishRequest::kServerDeleted:
      return "server_deleted";
    case PublishRequest::kUserJoined:
      return "user_joined";
    case PublishRequest::kUserLeft:
      return "user_left";
    case PublishRequest::kUserJoinedVc:
      return "user_joined_vc";
    case PublishRequest::kUserLeftVc:
      return "user_left_vc";
    case PublishRequest::kGotServerOwner:
      return "got_server_owner";
    case PublishRequest::EVENT_NOT_SET:
      break;
  }
  return std::string_view();
}

}  // namespace herald::service
