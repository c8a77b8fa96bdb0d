#include "service/local_control_plane.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "push/close_codes.h"
#include "service/clock.h"
#include "service/countdown.h"
#include "service/routing_policy.h"

namespace herald::service {
namespace {

using Kind = push::MembershipChange::Kind;

// Completes `done` with *value, or the countdown's error. *value is set
// before the countdown is armed, so before this can run with OK.
template <typename T>
Countdown::Callback ResultOf(std::shared_ptr<T> value,
                             ControlPlane::Result<T> done) {
  return [value = std::move(value),
          done = std::move(done)](absl::Status status) mutable {
    if (status.ok()) {
      std::move(done)(std::move(*value));
    } else {
      std::move(done)(std::move(status));
    }
  };
}

}  // namespace

LocalControlPlane::LocalControlPlane(Registry& registry,
                                     VoiceCoordinator& voice,
                                     push::Router& router, PublishStats* stats)
    : registry_(registry), voice_(voice), router_(router), stats_(stats) {}

void LocalControlPlane::Publish(const v1::PublishRequest& request,
                                Result<uint32_t> done) {
  RoutePlan plan = RoutingPolicy::Plan(request);
  if (plan.event_name.empty()) {  // no event: never passes validation
    std::move(done)(0u);
    return;
  }
  auto recipients = std::make_shared<std::atomic<uint32_t>>(0);
  auto countdown = Countdown::Create(
      [recipients, done = std::move(done)](absl::Status status) mutable {
        if (status.ok()) {
          std::move(done)(recipients->load());
        } else {
          std::move(done)(std::move(status));
        }
      });
  const StateEffect& effect = plan.effect;
  // State changes that must precede the delivery on every connection.
  switch (effect.kind) {
    case StateEffect::Kind::kAddMembership: {
      // Refused over a membership limit before anything is delivered.
      absl::StatusOr<bool> added = registry_.AddMembership(
          effect.user_id, effect.server_id, countdown->Part());
      if (!added.ok()) {
        countdown->Abort(
            absl::Status(added.status().code(),
                         absl::StrCat(absl::string_view(plan.event_name.data(),
                                                        plan.event_name.size()),
                                      ": ", added.status().message())));
        return;
      }
      break;
    }
    case StateEffect::Kind::kRemoveMembership:
      registry_.RemoveMembership(effect.user_id, effect.server_id,
                                 countdown->Part());
      break;
    case StateEffect::Kind::kDropServer:
      registry_.DropServer(effect.server_id, countdown->Part());
      break;
    case StateEffect::Kind::kNone:
    case StateEffect::Kind::kEndChannel:
      break;
  }
  if (stats_ != nullptr) stats_->CountEvent(plan.event_name);
  router_.Route(
      std::move(plan.delivery),
      [stats = stats_, start = std::chrono::steady_clock::now(), recipients,
       part = countdown->Part()](uint32_t n) mutable {
        if (stats != nullptr) {
          stats->ObserveQueued(std::chrono::duration<double>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
        }
        recipients->store(n);
        std::move(part)(absl::OkStatus());
      });
  // Voice presence ends after the delivery (its user_left_vc follows it).
  switch (effect.kind) {
    case StateEffect::Kind::kRemoveMembership:
      voice_.EndForUserInServer(effect.user_id, effect.server_id,
                                countdown->Part());
      break;
    case StateEffect::Kind::kDropServer:
      voice_.EndForServer(effect.server_id, countdown->Part());
      break;
    case StateEffect::Kind::kEndChannel:
      voice_.EndForChannel(effect.server_id, effect.channel_id,
                           countdown->Part());
      break;
    case StateEffect::Kind::kNone:
    case StateEffect::Kind::kAddMembership:
      break;
  }
  countdown->Arm();
}

void LocalControlPlane::OpenSession(const std::string& token, int64_t user_id,
                                    int64_t expires_at_us, Done done) {
  auto previous = registry_.LookupToken(token, NowMicros());
  auto countdown = Countdown::Create(std::move(done));
  absl::Status st =
      registry_.OpenSession(token, user_id, expires_at_us, countdown->Part());
  if (!st.ok()) {
    countdown->Abort(st);  // the part will never complete
    return;
  }
  if (previous && previous->user_id != user_id) {
    // The token now names another user: its old sockets must not stay.
    router_.CloseUser(previous->user_id, registry_.SessionKey(token),
                      push::kCloseSessionClosed, "session closed");
  }
  countdown->Arm();
}

void LocalControlPlane::CloseSession(const std::string& token,
                                     Result<bool> done) {
  auto existed = std::make_shared<bool>(false);
  auto countdown = Countdown::Create(ResultOf(existed, std::move(done)));
  auto removed = registry_.CloseSession(token, countdown->Part());
  *existed = removed.has_value();
  if (removed) {
    router_.CloseUser(removed->user_id, registry_.SessionKey(token),
                      push::kCloseSessionClosed, "session closed");
  }
  countdown->Arm();
}

void LocalControlPlane::SetMemberships(int64_t user_id,
                                       std::vector<int64_t> server_ids,
                                       Done done) {
  auto countdown = Countdown::Create(std::move(done));
  auto diff = registry_.SetMemberships(user_id, std::move(server_ids),
                                       countdown->Part());
  if (!diff.ok()) {
    countdown->Abort(diff.status());  // the part will never complete
    return;
  }
  if (!diff->added.empty() || !diff->removed.empty()) {
    push::Delivery d;  // no payload: membership changes only
    for (int64_t s : diff->added) d.before.push_back({Kind::kAdd, user_id, s});
    for (int64_t s : diff->removed) {
      d.before.push_back({Kind::kRemove, user_id, s});
    }
    router_.Route(std::move(d), [part = countdown->Part()](uint32_t) mutable {
      std::move(part)(absl::OkStatus());
    });
    for (int64_t s : diff->removed) {
      voice_.EndForUserInServer(user_id, s, countdown->Part());
    }
  }
  countdown->Arm();
}

void LocalControlPlane::GetMemberships(int64_t user_id,
                                       Result<std::vector<int64_t>> done) {
  std::move(done)(registry_.ServersOf(user_id));
}

void LocalControlPlane::JoinVoice(int64_t user_id, int64_t server_id,
                                  int64_t channel_id, Done done) {
  auto countdown = Countdown::Create(std::move(done));
  voice_.Grant(user_id, server_id, channel_id, countdown->Part());
  countdown->Arm();
}

void LocalControlPlane::LeaveVoice(int64_t user_id, Result<bool> done) {
  auto existed = std::make_shared<bool>(false);
  auto countdown = Countdown::Create(ResultOf(existed, std::move(done)));
  *existed = voice_.Leave(user_id, countdown->Part());
  countdown->Arm();
}

void LocalControlPlane::GetVoiceState(int64_t server_id,
                                      Result<VoiceChannels> done) {
  std::move(done)(voice_.State(server_id));
}

}  // namespace herald::service
