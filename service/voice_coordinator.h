#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "push/gate.h"
#include "push/router.h"
#include "service/registry.h"

namespace herald::service {

// Voice presence: who is connected to which voice channel, admission of
// voice sockets against the backend's grants, and the user_joined_vc /
// user_left_vc events herald emits itself. A user is in at most one voice
// channel, through exactly one voice connection.
//
// Thread-safe: called from the I/O threads (admission, disconnects) and the
// gRPC threads (JoinVoice, LeaveVoice, events that end presence). Presence
// events are routed while the roster lock is held, so their order on every
// connection matches the order of the roster changes.
class VoiceCoordinator {
 public:
  struct Presence {
    int64_t server_id = 0;
    int64_t channel_id = 0;
    push::ConnectionId connection = 0;
  };

  VoiceCoordinator(Registry& registry, push::Router& router);

  // push::Gate's voice half.
  std::variant<push::VoiceAdmission, push::Refusal> Admit(
      std::string_view token, int64_t channel_id, push::ConnectionId id);
  void OnClosed(push::ConnectionId id);

  // The backend granted `user_id` this channel. A live connection to another
  // channel is ended (4005, user_left_vc). Persisted before `done`.
  void Grant(int64_t user_id, int64_t server_id, int64_t channel_id,
             Registry::Done done);
  // Revokes the grant and ends presence (4006, user_left_vc). Returns
  // whether there was a grant or a connection.
  bool Leave(int64_t user_id, Registry::Done done);

  // Ends presence and grants after membership or channel events. `emit`
  // says whether user_left_vc goes to the server's remaining members.
  void EndForUserInServer(int64_t user_id, int64_t server_id,
                          Registry::Done done);
  void EndForChannel(int64_t server_id, int64_t channel_id,
                     Registry::Done done);
  void EndForServer(int64_t server_id, Registry::Done done);

  // Channels of `server_id` with their connected users, ascending.
  std::map<int64_t, std::vector<int64_t>> State(int64_t server_id) const;
  // Every channel with a connected user: (server, channel) -> users, all
  // ascending (for metrics and /stats.json).
  using ChannelKey = std::pair<int64_t, int64_t>;
  std::map<ChannelKey, std::vector<int64_t>> Channels() const;

 private:
  // Removes `user_id`'s presence, closes its connection, and emits
  // user_left_vc when `emit`.
  void EndLocked(int64_t user_id, const Presence& p, uint16_t code,
                 const char* reason, bool emit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Emit(std::string payload, int64_t server_id);

  Registry& registry_;
  push::Router& router_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Presence> by_user_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<push::ConnectionId, int64_t> by_connection_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::service
