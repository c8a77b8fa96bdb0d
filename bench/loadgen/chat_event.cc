#include "bench/loadgen/chat_event.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace herald::bench {
namespace {

constexpr std::string_view kTime = "\"2024-12-04 18:36:14.04568+00\"";

void Int(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void Key(std::string_view key, std::string* out) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

void IntField(std::string_view key, int64_t v, std::string* out) {
  Key(key, out);
  Int(v, out);
  out->push_back(',');
}

// The text needs no escaping (ChatText never makes such characters).
void StringField(std::string_view key, const std::string& v, std::string* out) {
  Key(key, out);
  out->push_back('"');
  out->append(v);
  out->push_back('"');
}

void Timestamp(google::protobuf::Timestamp* t) {
  t->set_seconds(ChatEvent::kSeconds);
  t->set_nanos(ChatEvent::kNanos);
}

// The unsigned number right after `key` in [p, p + n), or false.
bool NumberAfter(std::string_view v, std::string_view key, uint64_t* out) {
  size_t k = v.find(key);
  if (k == std::string_view::npos) return false;
  const char* b = v.data() + k + key.size();
  auto r = std::from_chars(b, v.data() + v.size(), *out);
  return r.ec == std::errc() && r.ptr != b;
}

}  // namespace

const char* ChatEvent::Name(Kind kind) {
  static constexpr const char* kNames[kKinds] = {
      "message_created", "message_edited", "message_deleted",
      "channel_created", "channel_edited", "channel_deleted",
      "user_joined",     "user_left",      "user_joined_vc",
      "user_left_vc"};
  return kNames[static_cast<int>(kind)];
}

int64_t ChatEvent::Id() const {
  auto s = static_cast<int64_t>(seq);
  if (kind == Kind::kUserJoined) return kSpareUser + s;
  if (kind == Kind::kUserLeft) return kSpareUser + s - 1;
  return s;
}

bool ChatEvent::Stamped() const {
  return kind == Kind::kMessageCreated || kind == Kind::kMessageEdited ||
         kind == Kind::kChannelCreated || kind == Kind::kChannelEdited;
}

std::string ChatEvent::StampedText(int64_t ns) const {
  std::string t = "T";
  Int(ns, &t);
  t.push_back(' ');
  t.append(text);
  return t;
}

void ChatEvent::WriteJson(int64_t ns, std::string* out) const {
  out->assign("{\"data\":{");
  switch (kind) {
    case Kind::kMessageCreated:
      IntField("author_id", author, out);
      IntField("channel_id", channel, out);
      Key("edited", out);
      out->append(kTime).push_back(',');
      IntField("id", Id(), out);
      Key("sent", out);
      out->append(kTime).push_back(',');
      IntField("server_id", server, out);
      StringField("text", StampedText(ns), out);
      break;
    case Kind::kMessageEdited:
      IntField("channel_id", channel, out);
      Key("edited", out);
      out->append(kTime).push_back(',');
      IntField("id", Id(), out);
      IntField("server_id", server, out);
      StringField("text", StampedText(ns), out);
      break;
    case Kind::kChannelCreated:
    case Kind::kChannelEdited:
      IntField("id", Id(), out);
      StringField("name", StampedText(ns), out);
      out->push_back(',');
      IntField("server_id", server, out);
      Key("type", out);
      Int(channel_type, out);
      break;
    case Kind::kMessageDeleted:
    case Kind::kVoiceJoined:
    case Kind::kVoiceLeft:
      IntField("channel_id", channel, out);
      [[fallthrough]];
    case Kind::kChannelDeleted:
    case Kind::kUserJoined:
    case Kind::kUserLeft:
      IntField("id", Id(), out);
      Key("server_id", out);
      Int(server, out);
      break;
  }
  out->append("},\"name\":\"");
  out->append(Name(kind));
  out->append("\"}");
}

void ChatEvent::ToProto(int64_t ns, v1::PublishRequest* req) const {
  req->Clear();
  switch (kind) {
    case Kind::kMessageCreated: {
      v1::MessageCreated* m = req->mutable_message_created();
      m->set_id(Id());
      m->set_author_id(author);
      m->set_channel_id(channel);
      m->set_server_id(server);
      Timestamp(m->mutable_sent());
      Timestamp(m->mutable_edited());
      m->set_text(StampedText(ns));
      return;
    }
    case Kind::kMessageEdited: {
      v1::MessageEdited* m = req->mutable_message_edited();
      m->set_id(Id());
      m->set_channel_id(channel);
      m->set_server_id(server);
      Timestamp(m->mutable_edited());
      m->set_text(StampedText(ns));
      return;
    }
    case Kind::kMessageDeleted:
    case Kind::kVoiceJoined:  // the stand-in: see the header
    case Kind::kVoiceLeft: {
      v1::MessageDeleted* m = req->mutable_message_deleted();
      m->set_id(Id());
      m->set_channel_id(channel);
      m->set_server_id(server);
      return;
    }
    case Kind::kChannelCreated: {
      v1::ChannelCreated* c = req->mutable_channel_created();
      c->set_id(Id());
      c->set_server_id(server);
      c->set_name(StampedText(ns));
      c->set_type(static_cast<v1::ChannelType>(channel_type));
      return;
    }
    case Kind::kChannelEdited: {
      v1::ChannelEdited* c = req->mutable_channel_edited();
      c->set_id(Id());
      c->set_server_id(server);
      c->set_name(StampedText(ns));
      c->set_type(static_cast<v1::ChannelType>(channel_type));
      return;
    }
    case Kind::kChannelDeleted:
      req->mutable_channel_deleted()->set_id(Id());
      req->mutable_channel_deleted()->set_server_id(server);
      return;
    case Kind::kUserJoined:
      req->mutable_user_joined()->set_id(Id());
      req->mutable_user_joined()->set_server_id(server);
      return;
    case Kind::kUserLeft:
      req->mutable_user_left()->set_id(Id());
      req->mutable_user_left()->set_server_id(server);
      return;
  }
}

bool ChatEvent::Parse(const char* p, size_t n, uint64_t* seq, int64_t* server,
                      int64_t* ns) {
  std::string_view v(p, n);
  // The envelope's own "name" is the last key: {"data":{...},"name":"X"}.
  constexpr std::string_view kName = "},\"name\":\"";
  size_t at = v.rfind(kName);
  if (!v.starts_with("{\"data\":{") || at == std::string_view::npos) {
    return false;
  }
  std::string_view name = v.substr(at + kName.size());
  std::string_view data = v.substr(0, at);
  uint64_t id = 0;
  uint64_t s = 0;
  if (!NumberAfter(data, "\"id\":", &id) ||
      !NumberAfter(data, "\"server_id\":", &s)) {
    return false;
  }
  auto spare = static_cast<uint64_t>(kSpareUser);
  if (name.starts_with("user_joined\"")) {
    id -= spare;
  } else if (name.starts_with("user_left\"")) {
    id -= spare - 1;
  }
  uint64_t t = 0;
  if (!NumberAfter(data, "\"text\":\"T", &t) &&
      !NumberAfter(data, "\"name\":\"T", &t)) {
    t = 0;
  }
  *seq = id;
  *server = static_cast<int64_t>(s);
  *ns = static_cast<int64_t>(t);
  return true;
}

}  // namespace herald::bench
