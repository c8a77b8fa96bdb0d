#include "service/voice_coordinator.h"

#include "push/close_codes.h"
#include "service/clock.h"
#include "service/translator.h"

namespace herald::service {

VoiceCoordinator::VoiceCoordinator(Registry& registry, push::Router& router)
    : registry_(registry), router_(router) {}

void VoiceCoordinator::Emit(std::string payload, int64_t server_id) {
  push::Delivery d;
  d.payload = std::move(payload);
  d.server_id = server_id;
  router_.Route(std::move(d), nullptr);
}

std::variant<push::VoiceAdmission, push::Refusal> VoiceCoordinator::Admit(
    std::string_view token, int64_t channel_id, push::ConnectionId id) {
  std::string key = registry_.SessionKey(token);
  auto session = registry_.LookupSession(key, NowMicros());
  if (!session) {
    return push::Refusal{push::kCloseUnknownToken, "unknown or expired token"};
  }
  const int64_t user = session->user_id;
  // Grants change only under mu_, so the check and the roster entry agree.
  absl::MutexLock lock(&mu_);
  auto grant = registry_.GrantOf(user);
  if (!grant || grant->channel_id != channel_id) {
    return push::Refusal{push::kCloseNoVoiceGrant,
                         "no voice grant for this channel"};
  }
  bool same_place = false;
  if (auto it = by_user_.find(user); it != by_user_.end()) {
    const Presence old = it->second;
    same_place =
        old.server_id == grant->server_id && old.channel_id == channel_id;
    by_connection_.erase(old.connection);
    router_.CloseConnection(old.connection, push::kCloseReplaced,
                            "replaced by a newer voice connection");
    if (!same_place) {
      Emit(Translator::UserLeftVc(user, old.channel_id, old.server_id),
           old.server_id);
    }
  }
  by_user_[user] = Presence{grant->server_id, channel_id, id};
  by_connection_[id] = user;
  if (!same_place) {
    Emit(Translator::UserJoinedVc(user, channel_id, grant->server_id),
         grant->server_id);
  }
  return push::VoiceAdmission{user, grant->server_id, channel_id,
                              std::move(key)};
}

void VoiceCoordinator::OnClosed(push::ConnectionId id) {
  absl::MutexLock lock(&mu_);
  auto it = by_connection_.find(id);
  if (it == by_connection_.end()) return;  // already replaced or ended
  const int64_t user = it->second;
  by_connection_.erase(it);
  auto presence = by_user_.find(user);
  if (presence == by_user_.end()) return;
  const Presence p = presence->second;
  by_user_.erase(presence);
  Emit(Translator::UserLeftVc(user, p.channel_id, p.server_id), p.server_id);
}

void VoiceCoordinator::EndLocked(int64_t user_id, const Presence& p,
                                 uint16_t code, const char* reason, bool emit) {
  by_connection_.erase(p.connection);
  by_user_.erase(user_id);
  router_.CloseConnection(p.connection, code, reason);
  if (emit) {
    Emit(Translator::UserLeftVc(user_id, p.channel_id, p.server_id),
         p.server_id);
  }
}

void VoiceCoordinator::Grant(int64_t user_id, int64_t server_id,
                             int64_t channel_id, Registry::Done done) {
  absl::MutexLock lock(&mu_);
  registry_.SetGrant(user_id, VoiceGrant{server_id, channel_id},
                     std::move(done));
  auto it = by_user_.find(user_id);
  if (it != by_user_.end() && (it->second.server_id != server_id ||
                               it->second.channel_id != channel_id)) {
    EndLocked(user_id, Presence(it->second), push::kCloseReplaced,
              "moved to another voice channel", /*emit=*/true);
  }
}

bool VoiceCoordinator::Leave(int64_t user_id, Registry::Done done) {
  absl::MutexLock lock(&mu_);
  const bool had_grant =
      registry_.RemoveGrant(user_id, std::move(done)).has_value();
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return had_grant;
  EndLocked(user_id, Presence(it->second), push::kCloseRemovedFromVoice,
            "removed from voice", /*emit=*/true);
  return true;
}

void VoiceCoordinator::EndForUserInServer(int64_t user_id, int64_t server_id,
                                          Registry::Done done) {
  absl::MutexLock lock(&mu_);
  auto grant = registry_.GrantOf(user_id);
  if (grant && grant->server_id == server_id) {
    registry_.RemoveGrant(user_id, std::move(done));
  } else if (done) {
    std::move(done)(absl::OkStatus());
  }
  auto it = by_user_.find(user_id);
  if (it != by_user_.end() && it->second.server_id == server_id) {
    EndLocked(user_id, Presence(it->second), push::kCloseRemovedFromVoice,
              "removed from voice", /*emit=*/true);
  }
}

void VoiceCoordinator::EndForChannel(int64_t server_id, int64_t channel_id,
                                     Registry::Done done) {
  absl::MutexLock lock(&mu_);
  registry_.RemoveGrantsForChannel(server_id, channel_id, std::move(done));
  std::vector<std::pair<int64_t, Presence>> victims;
  for (const auto& [user, p] : by_user_) {
    if (p.server_id == server_id && p.channel_id == channel_id) {
      victims.emplace_back(user, p);
    }
  }
  std::sort(victims.begin(), victims.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [user, p] : victims) {
    EndLocked(user, p, push::kCloseRemovedFromVoice, "removed from voice",
              /*emit=*/true);
  }
}

void VoiceCoordinator::EndForServer(int64_t server_id, Registry::Done done) {
  absl::MutexLock lock(&mu_);
  registry_.RemoveGrantsForServer(server_id, std::move(done));
  std::vector<std::pair<int64_t, Presence>> victims;
  for (const auto& [user, p] : by_user_) {
    if (p.server_id == server_id) victims.emplace_back(user, p);
  }
  // The server is gone: nobody remains to be told.
  for (const auto& [user, p] : victims) {
    EndLocked(user, p, push::kCloseRemovedFromVoice, "removed from voice",
              /*emit=*/false);
  }
}

std::map<int64_t, std::vector<int64_t>> VoiceCoordinator::State(
    int64_t server_id) const {
  std::map<int64_t, std::vector<int64_t>> channels;
  absl::MutexLock lock(&mu_);
  for (const auto& [user, p] : by_user_) {
    if (p.server_id == server_id) channels[p.channel_id].push_back(user);
  }
  for (auto& [channel, users] : channels) std::sort(users.begin(), users.end());
  return channels;
}

std::map<VoiceCoordinator::ChannelKey, std::vector<int64_t>>
VoiceCoordinator::Channels() const {
  std::map<ChannelKey, std::vector<int64_t>> channels;
  absl::MutexLock lock(&mu_);
  for (const auto& [user, p] : by_user_) {
    channels[{p.server_id, p.channel_id}].push_back(user);
  }
  for (auto& [key, users] : channels) std::sort(users.begin(), users.end());
  return channels;
}

}  // namespace herald::service
