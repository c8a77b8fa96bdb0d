#include "service/cluster/cluster_gate.h"

#include <utility>

#include "push/close_codes.h"
#include "push/log.h"
#include "service/clock.h"
#include "service/translator.h"

namespace herald::service::cluster {
namespace {

push::Refusal TryAgainLater() {
  return push::Refusal{push::kCloseTryAgainLater, "try again later"};
}

push::Refusal UnknownToken() {
  return push::Refusal{push::kCloseUnknownToken, "unknown or expired token"};
}

}  // namespace

ClusterGate::ClusterGate(ClusterState& state, ClusterBus& bus)
    : state_(state), bus_(bus) {}

void ClusterGate::AdmitMain(std::string_view token, push::ConnectionId id,
                            MainDone done) {
  std::string key = state_.SessionKey(token);
  state_.LookupSession(
      key, NowMicros(),
      [this, id, key, done = std::move(done)](
          absl::StatusOr<std::optional<SessionInfo>> session) mutable {
        if (!session.ok()) {
          std::move(done)(TryAgainLater());
          return;
        }
        if (!*session) {
          std::move(done)(UnknownToken());
          return;
        }
        const int64_t user_id = (*session)->user_id;
        const int64_t expires_at_us = (*session)->expires_at_us;
        bus_.AdmitUser(
            user_id, [this, id, user_id, expires_at_us, key = std::move(key),
                      done = std::move(done)](
                         absl::StatusOr<std::vector<int64_t>> servers) mutable {
              if (!servers.ok()) {
                std::move(done)(TryAgainLater());
                return;
              }
              if (observer_.admitted) {
                observer_.admitted(id, user_id, key, expires_at_us);
              }
              std::move(done)(push::MainAdmission{user_id, *std::move(servers),
                                                  std::move(key)});
            });
      });
}

void ClusterGate::OnMainClosed(push::ConnectionId id, int64_t user_id) {
  if (observer_.closed) observer_.closed(id);
  bus_.ReleaseUser(user_id);
}

void ClusterGate::AdmitVoice(std::string_view token, int64_t channel_id,
                             push::ConnectionId id, VoiceDone done) {
  std::string key = state_.SessionKey(token);
  state_.AdmitVoice(
      key, channel_id, bus_.node_id(), id, NowMicros(),
      [this, key, channel_id, id, done = std::move(done)](
          absl::StatusOr<ClusterState::VoiceAdmit> admit) mutable {
        if (!admit.ok()) {
          std::move(done)(TryAgainLater());
          return;
        }
        if (admit->refusal_code == push::kCloseUnknownToken) {
          std::move(done)(UnknownToken());
          return;
        }
        if (admit->refusal_code != 0) {
          std::move(done)(push::Refusal{push::kCloseNoVoiceGrant,
                                        "no voice grant for this channel"});
          return;
        }
        Admitted(*admit, channel_id, id, std::move(key), std::move(done));
      });
}

void ClusterGate::Admitted(const ClusterState::VoiceAdmit& admit,
                           int64_t channel_id, push::ConnectionId id,
                           std::string key, VoiceDone done) {
  const int64_t user = admit.user_id;
  if (admit.replaced) {
    const VoicePresence& old = *admit.replaced;
    bus_.CloseConnectionOn(old.node_id, old.connection, push::kCloseReplaced,
                           "replaced by a newer voice connection");
    if (!admit.same_place) {
      bus_.EmitVoiceEvent(
          Translator::UserLeftVc(user, old.channel_id, old.server_id),
          old.server_id);
    }
  }
  if (!admit.same_place) {
    bus_.EmitVoiceEvent(
        Translator::UserJoinedVc(user, channel_id, admit.server_id),
        admit.server_id);
  }
  {
    // Before `done`: a connection that closed meanwhile calls
    // OnVoiceClosed itself.
    absl::MutexLock lock(&mu_);
    voice_users_[id] = user;
  }
  if (observer_.admitted) {
    observer_.admitted(id, user, key, admit.expires_at_us);
  }
  std::move(done)(
      push::VoiceAdmission{user, admit.server_id, channel_id, std::move(key)});
}

void ClusterGate::OnVoiceClosed(push::ConnectionId id) {
  if (observer_.closed) observer_.closed(id);
  int64_t user = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = voice_users_.find(id);
    if (it == voice_users_.end()) return;
    user = it->second;
    voice_users_.erase(it);
  }
  state_.VoiceClosed(
      user, bus_.node_id(), id,
      [this](absl::StatusOr<std::optional<VoicePresence>> ended) {
        if (!ended.ok()) {
          // The presence stays until a node reaps it or the user's next
          // voice connection replaces it.
          Log(LogLevel::kWarning, "cluster_voice_closed_failed",
              {{"error", ended.status().message()}});
          return;
        }
        if (!*ended) return;  // replaced or ended already
        const VoicePresence& p = **ended;
        bus_.EmitVoiceEvent(
            Translator::UserLeftVc(p.user_id, p.channel_id, p.server_id),
            p.server_id);
      });
}

}  // namespace herald::service::cluster
