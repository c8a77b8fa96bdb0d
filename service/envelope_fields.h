#pragma once

#include <cstdint>
#include <string_view>

#include "google/protobuf/timestamp.pb.h"
#include "service/json_writer.h"

namespace herald::service {

// Members of an envelope's "data" object that several events share, in the
// byte-wise key order the envelope needs. Used by the Translator and the
// event table's per-event writers.
//
// Thread-safety: stateless.

// `key`: the timestamp as PostgreSQL text (validated; "" if not).
void WriteTimestamp(JsonWriter& w, std::string_view key,
                    const google::protobuf::Timestamp& ts);
// id, name, server_id, type.
void WriteChannel(JsonWriter& w, int64_t id, std::string_view name,
                  int64_t server_id, int type);
// channel_id, id (the user), server_id.
void WriteVoicePresence(JsonWriter& w, int64_t user_id, int64_t channel_id,
                        int64_t server_id);
// id, server_id.
void WriteIdAndServer(JsonWriter& w, int64_t id, int64_t server_id);

}  // namespace herald::service
