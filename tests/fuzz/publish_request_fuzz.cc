// libFuzzer target: Validator + Translator on arbitrary PublishRequest
// bytes, the path every published event takes.
//
// Parses the input as a PublishRequest; Translator::ToJson must not crash
// on any parsed request (its contract: "" without an event). When
// ValidatePublish accepts the request, the envelope must be:
// - valid UTF-8 and JSON (Boost.JSON parses it), exactly
//   {"data":{...},"name":EventName}, keys of "data" unique and sorted
//   byte-wise;
// - faithful: every "data" key named after an int64 or string field of the
//   event holds that field's value (ids, text and names survive escaping).
// A refused request gets INVALID_ARGUMENT with a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "boost/json.hpp"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "herald/v1/herald.pb.h"
#include "service/translator.h"
#include "service/validator.h"

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using herald::service::Translator;
using herald::service::Validator;
using herald::v1::PublishRequest;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "publish_request_fuzz: invariant violated: %s\n", what);
    abort();
  }
}

// The event message set in `req` (the oneof member).
const Message& Event(const PublishRequest& req) {
  const FieldDescriptor* fd =
      PublishRequest::descriptor()->FindFieldByNumber(req.event_case());
  return req.GetReflection()->GetMessage(req, fd);
}

void CheckData(const Message& event, const boost::json::object& data) {
  std::string_view previous;
  bool first = true;
  for (const auto& [key, value] : data) {
    const std::string_view k(key.data(), key.size());
    Check(first || previous < k, "data keys are unique and sorted");
    first = false;
    previous = k;
    const FieldDescriptor* fd =
        event.GetDescriptor()->FindFieldByName(std::string(k));
    if (fd == nullptr) continue;
    const Reflection* r = event.GetReflection();
    if (fd->type() == FieldDescriptor::TYPE_INT64) {
      Check(value.is_int64() && value.get_int64() == r->GetInt64(event, fd),
            "an id in data equals the event's");
    } else if (fd->type() == FieldDescriptor::TYPE_STRING) {
      Check(value.is_string() &&
                std::string_view(value.get_string()) == r->GetString(event, fd),
            "a string in data equals the event's");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Validator* const validator = new Validator();
  PublishRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;

  const std::string json = Translator::ToJson(req);  // Any request: no crash.
  const absl::Status status = validator->ValidatePublish(req);
  if (!status.ok()) {
    Check(status.code() == absl::StatusCode::kInvalidArgument &&
              !status.message().empty(),
          "a refusal is INVALID_ARGUMENT with a message");
    return 0;
  }
  Check(req.event_case() != PublishRequest::EVENT_NOT_SET,
        "a valid request has an event");
  Check(herald::service::IsValidUtf8(json), "the envelope is UTF-8");
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  Check(!ec, "the envelope is JSON");
  Check(doc.is_object() && doc.get_object().size() == 2,
        "the envelope is an object of two members");
  const boost::json::object& envelope = doc.get_object();
  const boost::json::value* name = envelope.if_contains("name");
  const boost::json::value* body = envelope.if_contains("data");
  Check(name != nullptr && name->is_string() &&
            std::string_view(name->get_string()) == Translator::EventName(req),
        "\"name\" is the event name");
  Check(body != nullptr && body->is_object(), "\"data\" is an object");
  Check(envelope.begin()->key() == "data", "\"data\" comes before \"name\"");
  CheckData(Event(req), body->get_object());
  return 0;
}
