#include "service/routing_policy.h"

#include <utility>

#include "service/event_table.h"
#include "service/translator.h"

namespace herald::service {

RoutePlan RoutingPolicy::Plan(const v1::PublishRequest& request) {
  RoutePlan plan;
  const EventSpec* event = EventTable::Find(request);
  if (event == nullptr) return plan;  // never passes validation
  plan.event_name = event->name;
  push::Delivery& d = plan.delivery;
  d.payload = Translator::ToJson(request);
  if (event->recipient != nullptr) {
    d.server_id = 0;
    d.users.assign(1, event->recipient(request));
  } else {
    d.server_id = event->server_id(request);
    d.users.assign(request.visible_to().begin(), request.visible_to().end());
  }
  StateEffect& effect = plan.effect;
  effect.kind = event->effect;
  if (effect.kind == StateEffect::Kind::kNone) return plan;
  effect.server_id = event->server_id(request);
  if (event->effect_user != nullptr)
    effect.user_id = event->effect_user(request);
  if (event->effect_channel != nullptr) {
    effect.channel_id = event->effect_channel(request);
  }
  using Change = push::MembershipChange::Kind;
  switch (effect.kind) {
    case StateEffect::Kind::kAddMembership:
      d.before.push_back({Change::kAdd, effect.user_id, effect.server_id});
      break;
    case StateEffect::Kind::kRemoveMembership:
      d.after.push_back({Change::kRemove, effect.user_id, effect.server_id});
      break;
    case StateEffect::Kind::kDropServer:
      d.after.push_back({Change::kDropServer, 0, effect.server_id});
      break;
    case StateEffect::Kind::kNone:
    case StateEffect::Kind::kEndChannel:
      break;
  }
  return plan;
}

}  // namespace herald::service
