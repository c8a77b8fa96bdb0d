#include "tools/heraldctl/event_builder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace herald::tools {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::OneofDescriptor;

constexpr char kVisibleTo[] = "visible_to";
// The one event addressed to a user named in the event itself.
constexpr char kNoVisibleTo[] = "got_server_owner";

const OneofDescriptor& EventOneof() {
  return *v1::PublishRequest::descriptor()->FindOneofByName("event");
}

const FieldDescriptor* FindEvent(std::string_view name) {
  const OneofDescriptor& oneof = EventOneof();
  for (int i = 0; i < oneof.field_count(); ++i) {
    if (oneof.field(i)->name() == name) return oneof.field(i);
  }
  return nullptr;
}

bool TakesVisibleTo(const FieldDescriptor& event) {
  return event.name() != kNoVisibleTo;
}

}  // namespace

EventBuilder::EventBuilder(google::protobuf::Timestamp now)
    : message_flags_(std::move(now), /*timestamps_default_to_now=*/true) {}

std::vector<std::string> EventBuilder::EventNames() {
  std::vector<std::string> names;
  const OneofDescriptor& oneof = EventOneof();
  for (int i = 0; i < oneof.field_count(); ++i) {
    names.push_back(oneof.field(i)->name());
  }
  return names;
}

std::string EventBuilder::FlagSynopsis(std::string_view event) {
  const FieldDescriptor* event_field = FindEvent(event);
  if (event_field == nullptr) return "";
  std::string synopsis = MessageFlags::Synopsis(*event_field->message_type());
  if (TakesVisibleTo(*event_field)) {
    absl::StrAppend(&synopsis, " [--", kVisibleTo, "=1,2,3]");
  }
  return synopsis;
}

absl::StatusOr<v1::PublishRequest> EventBuilder::Build(
    std::string_view event, const Flags& flags) const {
  const FieldDescriptor* event_field = FindEvent(event);
  if (event_field == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown event '", std::string(event), "' (one of ",
                     absl::StrJoin(EventNames(), ", "), ")"));
  }
  std::vector<std::string> known =
      MessageFlags::FlagNames(*event_field->message_type());
  if (TakesVisibleTo(*event_field)) known.push_back(kVisibleTo);
  if (absl::Status status = flags.CheckKnown(
          known, absl::StrCat("publish ", event_field->name()));
      !status.ok()) {
    return status;
  }

  v1::PublishRequest request;
  google::protobuf::Message& message =
      *request.GetReflection()->MutableMessage(&request, event_field);
  if (absl::Status status = message_flags_.Fill(flags, message); !status.ok()) {
    return status;
  }
  if (TakesVisibleTo(*event_field)) {
    auto visible_to = flags.GetIntList(kVisibleTo);
    if (!visible_to.ok()) return visible_to.status();
    for (int64_t id : *visible_to) request.add_visible_to(id);
  }
  return request;
}

}  // namespace herald::tools
