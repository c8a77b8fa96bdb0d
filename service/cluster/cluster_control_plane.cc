#include "service/cluster/cluster_control_plane.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "push/close_codes.h"
#include "service/routing_policy.h"
#include "service/translator.h"

namespace herald::service::cluster {
namespace {

using Kind = StateEffect::Kind;

// The answer of one publish step, as the API reports it.
absl::StatusOr<uint32_t> Recipients(absl::StatusOr<uint32_t> n) {
  if (!n.ok()) return RedisStatus(n.status());
  return n;
}

// user_joined refused: a limit is named as in one process.
absl::Status JoinRefused(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    return absl::ResourceExhaustedError(
        absl::StrCat("user_joined: ", status.message()));
  }
  return RedisStatus(status);
}

// Sums the recipients of several publishes of one event (an audience of
// users without a server: one PUBLISH per user channel). The first error
// wins. Completes `done` when the last part does.
class RecipientSum {
 public:
  RecipientSum(size_t parts, ControlPlane::Result<uint32_t> done)
      : pending_(parts), done_(std::move(done)) {}

  void Add(absl::StatusOr<uint32_t> n) {
    ControlPlane::Result<uint32_t> done;
    absl::StatusOr<uint32_t> result;
    {
      absl::MutexLock lock(&mu_);
      if (!n.ok()) {
        if (error_.ok()) error_ = RedisStatus(n.status());
      } else {
        sum_ += *n;
      }
      if (--pending_ != 0) return;
      done = std::move(done_);
      if (error_.ok()) {
        result = sum_;
      } else {
        result = error_;
      }
    }
    std::move(done)(std::move(result));
  }

 private:
  absl::Mutex mu_;
  size_t pending_ ABSL_GUARDED_BY(mu_);
  uint32_t sum_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  ControlPlane::Result<uint32_t> done_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status RedisStatus(const absl::Status& status) {
  if (status.ok() || status.code() == absl::StatusCode::kResourceExhausted) {
    return status;
  }
  if (absl::StartsWith(status.message(), "redis:")) {
    return absl::UnavailableError(status.message());
  }
  return absl::UnavailableError(absl::StrCat("redis: ", status.message()));
}

ClusterControlPlane::ClusterControlPlane(ClusterState& state, ClusterBus& bus,
                                         PublishStats* stats)
    : state_(state), bus_(bus), stats_(stats) {}

void ClusterControlPlane::EndPresences(const std::vector<VoicePresence>& ended,
                                       uint16_t code, const char* reason,
                                       bool emit) {
  std::vector<VoicePresence> sorted = ended;
  std::sort(sorted.begin(), sorted.end(),
            [](const VoicePresence& a, const VoicePresence& b) {
              return a.user_id < b.user_id;
            });
  for (const VoicePresence& p : sorted) {
    bus_.CloseConnectionOn(p.node_id, p.connection, code, reason);
    if (emit) {
      bus_.EmitVoiceEvent(
          Translator::UserLeftVc(p.user_id, p.channel_id, p.server_id),
          p.server_id);
    }
  }
}

void ClusterControlPlane::PublishPlain(push::Delivery delivery,
                                       Result<uint32_t> done,
                                       Sequencer::Release release) {
  auto answer = [done = std::move(done)](absl::StatusOr<uint32_t> n) mutable {
    std::move(done)(Recipients(std::move(n)));
  };
  if (delivery.server_id != 0) {
    const int64_t server = delivery.server_id;
    bus_.Publish(ClusterBus::ServerChannel(server),
                 bus_.EncodeDeliver(delivery), std::move(answer));
    std::move(release)();
    return;
  }
  // Users only (got_server_owner): each user's channel, the delivery
  // narrowed to that user so no node counts a connection twice.
  std::vector<int64_t> users = delivery.users;
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  if (users.empty()) {
    std::move(release)();
    std::move(answer)(0u);
    return;
  }
  auto sum = std::make_shared<RecipientSum>(users.size(), std::move(answer));
  for (int64_t user : users) {
    push::Delivery one = delivery;
    one.users.assign(1, user);
    bus_.Publish(ClusterBus::UserChannel(user), bus_.EncodeDeliver(one),
                 [sum](absl::StatusOr<uint32_t> n) { sum->Add(std::move(n)); });
  }
  std::move(release)();
}

void ClusterControlPlane::PublishUserJoined(push::Delivery delivery,
                                            int64_t user_id, int64_t server_id,
                                            Result<uint32_t> done,
                                            Sequencer::Release release) {
  // Phase 1: the membership, and its notice to the user's nodes, which
  // subscribe the server's channel before they ack.
  push::Delivery notice;
  notice.users.assign(1, user_id);
  notice.before.push_back(
      {push::MembershipChange::Kind::kAdd, user_id, server_id});
  ClusterBus::Outgoing out = bus_.EncodeDeliver(notice);
  const uint64_t request_id = out.request_id;
  state_.AddMembership(
      user_id, server_id,
      Notify{ClusterBus::UserChannel(user_id), std::move(out.bytes)},
      [this, request_id, server_id, delivery = std::move(delivery),
       done = std::move(done), release = std::move(release)](
          absl::StatusOr<ClusterState::Changed> changed) mutable {
        if (!changed.ok()) {
          std::move(release)();
          std::move(done)(JoinRefused(changed.status()));
          return;
        }
        bus_.AwaitAcks(
            request_id, changed->receivers,
            [this, server_id, delivery = std::move(delivery),
             done = std::move(done),
             release = std::move(release)](uint32_t) mutable {
              // Phase 2: the event, to the server's members (the new one
              // included); later calls wait until it is sent.
              bus_.Publish(
                  ClusterBus::ServerChannel(server_id),
                  bus_.EncodeDeliver(delivery),
                  [done = std::move(done)](absl::StatusOr<uint32_t> n) mutable {
                    std::move(done)(Recipients(std::move(n)));
                  });
              std::move(release)();
            });
      });
}

void ClusterControlPlane::Publish(const v1::PublishRequest& request,
                                  Result<uint32_t> done) {
  RoutePlan plan = RoutingPolicy::Plan(request);
  if (stats_ != nullptr) {
    // Counted once delivered (a refused or failed event is not).
    done = [stats = stats_, name = plan.event_name,
            start = std::chrono::steady_clock::now(),
            done = std::move(done)](absl::StatusOr<uint32_t> n) mutable {
      if (n.ok()) {
        stats->CountEvent(name);
        stats->ObserveQueued(std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count());
      }
      std::move(done)(std::move(n));
    };
  }
  sequencer_.Run([this, plan = std::move(plan),
                  done = std::move(done)](Sequencer::Release release) mutable {
    const StateEffect effect = plan.effect;
    switch (effect.kind) {
      case Kind::kNone:
        PublishPlain(std::move(plan.delivery), std::move(done),
                     std::move(release));
        return;
      case Kind::kAddMembership:
        PublishUserJoined(std::move(plan.delivery), effect.user_id,
                          effect.server_id, std::move(done),
                          std::move(release));
        return;
      case Kind::kEndChannel:
        // channel_deleted: the event, then voice ends in the channel. Later
        // calls wait until the voice step's user_left_vc were sent, so none
        // of them overtakes those.
        PublishPlain(
            std::move(plan.delivery),
            [this, effect, done = std::move(done),
             release = std::move(release)](absl::StatusOr<uint32_t> n) mutable {
              if (!n.ok()) {
                std::move(release)();
                std::move(done)(std::move(n));
                return;
              }
              state_.EndForChannel(
                  effect.server_id, effect.channel_id,
                  [this, n = *n, done = std::move(done),
                   release = std::move(release)](
                      absl::StatusOr<std::vector<VoicePresence>>
                          ended) mutable {
                    if (!ended.ok()) {
                      std::move(release)();
                      std::move(done)(RedisStatus(ended.status()));
                      return;
                    }
                    EndPresences(*ended, push::kCloseRemovedFromVoice,
                                 "removed from voice", /*emit=*/true);
                    std::move(release)();
                    std::move(done)(n);
                  });
            },
            /*release=*/[] {});
        return;
      case Kind::kRemoveMembership:
      case Kind::kDropServer:
        break;
    }
    // user_left / server_deleted: the script publishes the event, then
    // changes the memberships; voice ends once every node has it. Later
    // calls wait until the voice step's closes and user_left_vc were sent
    // (as user_joined's phase 2), so none of them overtakes those.
    ClusterBus::Outgoing out = bus_.EncodeDeliver(plan.delivery);
    const uint64_t request_id = out.request_id;
    Notify notify{ClusterBus::ServerChannel(effect.server_id),
                  std::move(out.bytes)};
    auto published = [this, request_id, effect, done = std::move(done),
                      release = std::move(release)](
                         absl::StatusOr<ClusterState::Published> p) mutable {
      if (!p.ok()) {
        std::move(release)();
        std::move(done)(RedisStatus(p.status()));
        return;
      }
      bus_.AwaitAcks(request_id, p->receivers,
                     [this, effect, done = std::move(done),
                      release = std::move(release)](uint32_t n) mutable {
                       EndVoiceAfter(effect, n, std::move(done),
                                     std::move(release));
                     });
    };
    if (effect.kind == Kind::kRemoveMembership) {
      state_.RemoveMembership(effect.user_id, effect.server_id,
                              std::move(notify), std::move(published));
    } else {
      state_.DropServer(effect.server_id, std::move(notify),
                        std::move(published));
    }
  });
}

void ClusterControlPlane::EndVoiceAfter(const StateEffect& effect,
                                        uint32_t recipients,
                                        Result<uint32_t> done,
                                        Sequencer::Release release) {
  const bool left = effect.kind == Kind::kRemoveMembership;
  auto ended = [this, left, recipients, done = std::move(done),
                release = std::move(release)](
                   absl::StatusOr<std::vector<VoicePresence>> ended) mutable {
    if (!ended.ok()) {
      std::move(release)();
      std::move(done)(RedisStatus(ended.status()));
      return;
    }
    // A deleted server has nobody left to tell.
    EndPresences(*ended, push::kCloseRemovedFromVoice, "removed from voice",
                 /*emit=*/left);
    std::move(release)();
    std::move(done)(recipients);
  };
  if (left) {
    state_.EndForUserInServer(effect.user_id, effect.server_id,
                              std::move(ended));
  } else {
    state_.EndForServer(effect.server_id, std::move(ended));
  }
}

void ClusterControlPlane::OpenSession(const std::string& token, int64_t user_id,
                                      int64_t expires_at_us, Done done) {
  sequencer_.Run([this, key = state_.SessionKey(token), user_id, expires_at_us,
                  done = std::move(done)](Sequencer::Release release) mutable {
    // If the token named another user, its old sockets must not stay, on
    // any node: the script publishes the close on that user's channel.
    ClusterBus::Outgoing close = bus_.EncodeCloseUser(
        /*user_id=*/0, key, push::kCloseSessionClosed, "session closed");
    const uint64_t request_id = close.request_id;
    state_.OpenSession(
        key, user_id, expires_at_us, std::move(close.bytes),
        [this, request_id, done = std::move(done)](
            absl::StatusOr<ClusterState::SessionChange> change) mutable {
          if (!change.ok()) {
            std::move(done)(RedisStatus(change.status()));
            return;
          }
          bus_.AwaitAcks(request_id, change->receivers,
                         [done = std::move(done)](uint32_t) mutable {
                           std::move(done)(absl::OkStatus());
                         });
        });
    std::move(release)();
  });
}

void ClusterControlPlane::CloseSession(const std::string& token,
                                       Result<bool> done) {
  sequencer_.Run([this, key = state_.SessionKey(token),
                  done = std::move(done)](Sequencer::Release release) mutable {
    ClusterBus::Outgoing close = bus_.EncodeCloseUser(
        /*user_id=*/0, key, push::kCloseSessionClosed, "session closed");
    const uint64_t request_id = close.request_id;
    state_.CloseSession(
        key, std::move(close.bytes),
        [this, request_id, done = std::move(done)](
            absl::StatusOr<ClusterState::SessionChange> change) mutable {
          if (!change.ok()) {
            std::move(done)(RedisStatus(change.status()));
            return;
          }
          bus_.AwaitAcks(
              request_id, change->receivers,
              [existed = change->user.has_value(), done = std::move(done)](
                  uint32_t) mutable { std::move(done)(existed); });
        });
    std::move(release)();
  });
}

void ClusterControlPlane::SetMemberships(int64_t user_id,
                                         std::vector<int64_t> server_ids,
                                         Done done) {
  std::sort(server_ids.begin(), server_ids.end());
  server_ids.erase(std::unique(server_ids.begin(), server_ids.end()),
                   server_ids.end());
  sequencer_.Run([this, user_id, server_ids = std::move(server_ids),
                  done = std::move(done)](Sequencer::Release release) mutable {
    ClusterBus::Outgoing out = bus_.EncodeSetServers(user_id, server_ids);
    const uint64_t request_id = out.request_id;
    state_.SetMemberships(
        user_id, std::move(server_ids),
        Notify{ClusterBus::UserChannel(user_id), std::move(out.bytes)},
        [this, request_id, user_id, done = std::move(done),
         release = std::move(release)](
            absl::StatusOr<ClusterState::Changed> changed) mutable {
          if (!changed.ok()) {
            std::move(release)();
            std::move(done)(RedisStatus(changed.status()));
            return;
          }
          // Later calls wait until the voice step's closes and user_left_vc
          // were sent, so none of them overtakes those.
          bus_.AwaitAcks(
              request_id, changed->receivers,
              [this, user_id, removed = std::move(changed->diff.removed),
               done = std::move(done),
               release = std::move(release)](uint32_t) mutable {
                EndVoiceIn(
                    user_id, removed,
                    [done = std::move(done), release = std::move(release)](
                        absl::Status status) mutable {
                      std::move(release)();
                      std::move(done)(std::move(status));
                    });
              });
        });
  });
}

void ClusterControlPlane::EndVoiceIn(int64_t user_id,
                                     const std::vector<int64_t>& server_ids,
                                     Done done) {
  if (server_ids.empty()) {
    std::move(done)(absl::OkStatus());
    return;
  }
  // Ends the user's grant and presence in each server the user left; the
  // first error is the answer.
  struct Join {
    absl::Mutex mu;
    size_t pending ABSL_GUARDED_BY(mu);
    absl::Status error ABSL_GUARDED_BY(mu);
    Done done ABSL_GUARDED_BY(mu);
  };
  auto join = std::make_shared<Join>();
  {
    absl::MutexLock lock(&join->mu);
    join->pending = server_ids.size();
    join->done = std::move(done);
  }
  for (int64_t server : server_ids) {
    state_.EndForUserInServer(
        user_id, server,
        [this, join](absl::StatusOr<std::vector<VoicePresence>> ended) {
          if (ended.ok()) {
            EndPresences(*ended, push::kCloseRemovedFromVoice,
                         "removed from voice", /*emit=*/true);
          }
          Done finish;
          absl::Status status;
          {
            absl::MutexLock lock(&join->mu);
            if (!ended.ok() && join->error.ok()) {
              join->error = RedisStatus(ended.status());
            }
            if (--join->pending != 0) return;
            finish = std::move(join->done);
            status = join->error;
          }
          std::move(finish)(std::move(status));
        });
  }
}

void ClusterControlPlane::GetMemberships(int64_t user_id,
                                         Result<std::vector<int64_t>> done) {
  sequencer_.Run([this, user_id,
                  done = std::move(done)](Sequencer::Release release) mutable {
    state_.ServersOf(user_id,
                     [done = std::move(done)](
                         absl::StatusOr<std::vector<int64_t>> servers) mutable {
                       if (!servers.ok()) {
                         std::move(done)(RedisStatus(servers.status()));
                         return;
                       }
                       std::sort(servers->begin(), servers->end());
                       std::move(done)(std::move(servers));
                     });
    std::move(release)();
  });
}

void ClusterControlPlane::JoinVoice(int64_t user_id, int64_t server_id,
                                    int64_t channel_id, Done done) {
  sequencer_.Run([this, user_id, server_id, channel_id,
                  done = std::move(done)](Sequencer::Release release) mutable {
    state_.SetGrant(
        user_id, server_id, channel_id,
        [this, done = std::move(done)](
            absl::StatusOr<ClusterState::GrantResult> granted) mutable {
          if (!granted.ok()) {
            std::move(done)(RedisStatus(granted.status()));
            return;
          }
          if (granted->ended) {
            EndPresences({*granted->ended}, push::kCloseReplaced,
                         "moved to another voice channel", /*emit=*/true);
          }
          std::move(done)(absl::OkStatus());
        });
    std::move(release)();
  });
}

void ClusterControlPlane::LeaveVoice(int64_t user_id, Result<bool> done) {
  sequencer_.Run([this, user_id,
                  done = std::move(done)](Sequencer::Release release) mutable {
    state_.Leave(user_id,
                 [this, done = std::move(done)](
                     absl::StatusOr<ClusterState::LeaveResult> left) mutable {
                   if (!left.ok()) {
                     std::move(done)(RedisStatus(left.status()));
                     return;
                   }
                   if (left->ended) {
                     EndPresences({*left->ended}, push::kCloseRemovedFromVoice,
                                  "removed from voice", /*emit=*/true);
                   }
                   std::move(done)(left->existed);
                 });
    std::move(release)();
  });
}

void ClusterControlPlane::GetVoiceState(int64_t server_id,
                                        Result<VoiceChannels> done) {
  sequencer_.Run([this, server_id,
                  done = std::move(done)](Sequencer::Release release) mutable {
    state_.VoiceState(server_id,
                      [done = std::move(done)](
                          absl::StatusOr<VoiceChannels> channels) mutable {
                        if (!channels.ok()) {
                          std::move(done)(RedisStatus(channels.status()));
                          return;
                        }
                        std::move(done)(std::move(channels));
                      });
    std::move(release)();
  });
}

}  // namespace herald::service::cluster
