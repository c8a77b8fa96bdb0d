#include "service/translator.h"

#include <cstddef>

#include "service/envelope_fields.h"
#include "service/event_table.h"
#include "service/json_writer.h"

namespace herald::service {
namespace {

using v1::PublishRequest;

// Upper bound of an envelope without its free-text fields: the longest
// fixed part (message_created) is about 230 bytes with 19-digit ids.
constexpr size_t kEnvelopeReserve = 256;

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
  const EventSpec* event = EventTable::Find(req);
  if (event == nullptr) return std::string();
  std::string out;
  // Free text usually needs no escaping; an eighth extra absorbs a few.
  const size_t text = event->text_bytes ? event->text_bytes(req) : 0;
  out.reserve(kEnvelopeReserve + text + text / 8);
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("data");
  w.BeginObject();
  event->write_data(w, req);
  w.EndObject();
  w.Key("name");
  w.String(event->name);
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
  const EventSpec* event = EventTable::Find(req);
  return event ? event->name : std::string_view();
}

}  // namespace herald::service
