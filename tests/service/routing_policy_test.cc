// RoutingPolicy::Plan for every publishable event: the exact delivery
// (payload, audience, membership changes) and state effect.

#include "service/routing_policy.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"
#include "service/translator.h"

namespace herald::service {
namespace {

using v1::PublishRequest;
using Change = push::MembershipChange;
using Effect = StateEffect::Kind;

// Comparable forms of the plan's parts.
using ChangeTuple = std::tuple<Change::Kind, int64_t, int64_t>;

std::vector<ChangeTuple> Tuples(const std::vector<Change>& changes) {
  std::vector<ChangeTuple> out;
  for (const Change& c : changes) {
    out.emplace_back(c.kind, c.user_id, c.server_id);
  }
  return out;
}

void ExpectEffect(const StateEffect& effect, Effect kind, int64_t user,
                  int64_t server, int64_t channel) {
  EXPECT_EQ(effect.kind, kind);
  EXPECT_EQ(effect.user_id, user);
  EXPECT_EQ(effect.server_id, server);
  EXPECT_EQ(effect.channel_id, channel);
}

google::protobuf::Timestamp Ts(int64_t seconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  return ts;
}

TEST(RoutingPolicyTest, MessageCreatedGoesToTheServerNarrowedToVisibleTo) {
  PublishRequest req;
  auto* e = req.mutable_message_created();
  e->set_id(6);
  e->set_author_id(1);
  e->set_channel_id(2);
  e->set_server_id(3);
  *e->mutable_sent() = Ts(1733337374);
  *e->mutable_edited() = Ts(1733337374);
  e->set_text("hi");
  req.add_visible_to(7);
  req.add_visible_to(5);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "message_created");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"author_id":1,"channel_id":2,)"
            R"("edited":"2024-12-04 18:36:14+00","id":6,)"
            R"("sent":"2024-12-04 18:36:14+00","server_id":3,)"
            R"("text":"hi"},"name":"message_created"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_EQ(plan.delivery.users, (std::vector<int64_t>{7, 5}));
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, MessageEdited) {
  PublishRequest req;
  auto* e = req.mutable_message_edited();
  e->set_id(6);
  e->set_channel_id(2);
  e->set_server_id(3);
  *e->mutable_edited() = Ts(1733337374);
  e->set_text("x");
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "message_edited");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"channel_id":2,"edited":"2024-12-04 18:36:14+00",)"
            R"("id":6,"server_id":3,"text":"x"},"name":"message_edited"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_TRUE(plan.delivery.users.empty());
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, MessageDeleted) {
  PublishRequest req;
  auto* e = req.mutable_message_deleted();
  e->set_id(6);
  e->set_channel_id(2);
  e->set_server_id(3);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "message_deleted");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"channel_id":2,"id":6,"server_id":3},)"
            R"("name":"message_deleted"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_TRUE(plan.delivery.users.empty());
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, ChannelCreated) {
  PublishRequest req;
  auto* e = req.mutable_channel_created();
  e->set_id(4);
  e->set_name("general");
  e->set_server_id(3);
  e->set_type(v1::CHANNEL_TYPE_VOICE);
  req.add_visible_to(9);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "channel_created");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":4,"name":"general","server_id":3,"type":1},)"
            R"("name":"channel_created"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_EQ(plan.delivery.users, (std::vector<int64_t>{9}));
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, ChannelEdited) {
  PublishRequest req;
  auto* e = req.mutable_channel_edited();
  e->set_id(4);
  e->set_name("g");
  e->set_server_id(3);
  e->set_type(v1::CHANNEL_TYPE_TEXT);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "channel_edited");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":4,"name":"g","server_id":3,"type":0},)"
            R"("name":"channel_edited"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_TRUE(plan.delivery.users.empty());
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, ChannelDeletedEndsTheChannelAfterTheDelivery) {
  PublishRequest req;
  auto* e = req.mutable_channel_deleted();
  e->set_id(4);
  e->set_server_id(3);
  req.add_visible_to(9);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "channel_deleted");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":4,"server_id":3},"name":"channel_deleted"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_EQ(plan.delivery.users, (std::vector<int64_t>{9}));
  // Voice state only: no membership change for the push workers.
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kEndChannel, 0, 3, 4);
}

TEST(RoutingPolicyTest, ServerEdited) {
  PublishRequest req;
  auto* e = req.mutable_server_edited();
  e->set_id(3);
  e->set_name("s");
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "server_edited");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":3,"name":"s"},"name":"server_edited"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_TRUE(plan.delivery.users.empty());
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, ServerDeletedDropsTheServerAfterTheDelivery) {
  PublishRequest req;
  req.mutable_server_deleted()->set_id(3);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "server_deleted");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":3},"name":"server_deleted"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_TRUE(plan.delivery.users.empty());
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_EQ(Tuples(plan.delivery.after),
            (std::vector<ChangeTuple>{{Change::Kind::kDropServer, 0, 3}}));
  ExpectEffect(plan.effect, Effect::kDropServer, 0, 3, 0);
}

TEST(RoutingPolicyTest, UserJoinedAddsTheMembershipBeforeTheDelivery) {
  PublishRequest req;
  auto* e = req.mutable_user_joined();
  e->set_id(8);
  e->set_server_id(3);
  req.add_visible_to(8);
  req.add_visible_to(2);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "user_joined");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":8,"server_id":3},"name":"user_joined"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_EQ(plan.delivery.users, (std::vector<int64_t>{8, 2}));
  EXPECT_EQ(Tuples(plan.delivery.before),
            (std::vector<ChangeTuple>{{Change::Kind::kAdd, 8, 3}}));
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kAddMembership, 8, 3, 0);
}

TEST(RoutingPolicyTest, UserLeftRemovesTheMembershipAfterTheDelivery) {
  PublishRequest req;
  auto* e = req.mutable_user_left();
  e->set_id(8);
  e->set_server_id(3);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "user_left");
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":8,"server_id":3},"name":"user_left"})");
  EXPECT_EQ(plan.delivery.server_id, 3);
  EXPECT_TRUE(plan.delivery.users.empty());
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_EQ(Tuples(plan.delivery.after),
            (std::vector<ChangeTuple>{{Change::Kind::kRemove, 8, 3}}));
  ExpectEffect(plan.effect, Effect::kRemoveMembership, 8, 3, 0);
}

TEST(RoutingPolicyTest, GotServerOwnerGoesToItsUserOnlyIgnoringVisibleTo) {
  PublishRequest req;
  auto* e = req.mutable_got_server_owner();
  e->set_id(3);
  e->set_user_id(8);
  req.add_visible_to(5);
  req.add_visible_to(6);
  const RoutePlan plan = RoutingPolicy::Plan(req);
  EXPECT_EQ(plan.event_name, "got_server_owner");
  // user_id addresses the recipient and is not part of the JSON.
  EXPECT_EQ(plan.delivery.payload,
            R"({"data":{"id":3},"name":"got_server_owner"})");
  EXPECT_EQ(plan.delivery.server_id, 0);
  EXPECT_EQ(plan.delivery.users, (std::vector<int64_t>{8}));
  EXPECT_TRUE(plan.delivery.before.empty());
  EXPECT_TRUE(plan.delivery.after.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

TEST(RoutingPolicyTest, PayloadIsTheTranslatorsEnvelope) {
  PublishRequest req;
  auto* e = req.mutable_server_edited();
  e->set_id(3);
  e->set_name("caf\xc3\xa9 \"quoted\"");
  EXPECT_EQ(RoutingPolicy::Plan(req).delivery.payload, Translator::ToJson(req));
}

TEST(RoutingPolicyTest, NoEventPlansNothing) {
  const RoutePlan plan = RoutingPolicy::Plan(PublishRequest());
  EXPECT_TRUE(plan.event_name.empty());
  EXPECT_TRUE(plan.delivery.payload.empty());
  EXPECT_EQ(plan.delivery.server_id, 0);
  EXPECT_TRUE(plan.delivery.users.empty());
  ExpectEffect(plan.effect, Effect::kNone, 0, 0, 0);
}

}  // namespace
}  // namespace herald::service
