// The event table has one row per case of the PublishRequest `event` oneof,
// named after its field, and only herald's own presence events are not
// publishable.

#include "service/event_table.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"

namespace herald::service {
namespace {

using v1::PublishRequest;

TEST(EventTableTest, OneRowPerOneofCaseNamedAfterItsField) {
  const google::protobuf::OneofDescriptor* oneof =
      PublishRequest::descriptor()->FindOneofByName("event");
  ASSERT_NE(oneof, nullptr);
  ASSERT_EQ(EventTable::All().size(),
            static_cast<size_t>(oneof->field_count()));
  for (int i = 0; i < oneof->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = oneof->field(i);
    const EventSpec* row = EventTable::Find(
        static_cast<PublishRequest::EventCase>(field->number()));
    ASSERT_NE(row, nullptr) << field->name();
    EXPECT_EQ(std::string(row->name), std::string(field->name()));
    EXPECT_EQ(&EventTable::All()[i], row) << "rows follow the oneof's order";
    EXPECT_NE(row->server_id, nullptr) << field->name();
    EXPECT_NE(row->write_data, nullptr) << field->name();
    EXPECT_EQ(row->validate != nullptr, row->publishable) << field->name();
  }
  EXPECT_EQ(EventTable::Find(PublishRequest::EVENT_NOT_SET), nullptr);
}

TEST(EventTableTest, OnlyPresenceEventsAreNotPublishable) {
  std::set<std::string> unpublishable;
  for (const EventSpec& e : EventTable::All()) {
    if (!e.publishable) unpublishable.insert(std::string(e.name));
  }
  EXPECT_EQ(unpublishable,
            (std::set<std::string>{"user_joined_vc", "user_left_vc"}));
}

TEST(EventTableTest, EffectsAndTheirIds) {
  using Kind = StateEffect::Kind;
  for (const EventSpec& e : EventTable::All()) {
    const bool has_user =
        e.effect == Kind::kAddMembership || e.effect == Kind::kRemoveMembership;
    EXPECT_EQ(e.effect_user != nullptr, has_user) << e.name;
    EXPECT_EQ(e.effect_channel != nullptr, e.effect == Kind::kEndChannel)
        << e.name;
  }
  EXPECT_EQ(EventTable::Find(PublishRequest::kUserJoined)->effect,
            Kind::kAddMembership);
  EXPECT_EQ(EventTable::Find(PublishRequest::kUserLeft)->effect,
            Kind::kRemoveMembership);
  EXPECT_EQ(EventTable::Find(PublishRequest::kServerDeleted)->effect,
            Kind::kDropServer);
  EXPECT_EQ(EventTable::Find(PublishRequest::kChannelDeleted)->effect,
            Kind::kEndChannel);
  EXPECT_NE(EventTable::Find(PublishRequest::kGotServerOwner)->recipient,
            nullptr);
}

}  // namespace
}  // namespace herald::service
