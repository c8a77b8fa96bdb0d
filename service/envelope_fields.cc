#include "service/envelope_fields.h"

#include <string>

#include "service/pg_timestamp.h"

namespace herald::service {

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

}  // namespace herald::service
