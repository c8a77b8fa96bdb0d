#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "push/gate.h"
#include "service/cluster/cluster_bus.h"
#include "service/cluster/cluster_state.h"

namespace herald::service::cluster {

// Admission of WebSocket connections in cluster mode: sessions, voice
// grants and presence live in Redis (ClusterState); the user's servers and
// channels on this node come from the ClusterBus. Refusals and events match
// HeraldGate and VoiceCoordinator (one process) exactly; while Redis does
// not answer, connections are refused with 1013 "try again later".
//
// Thread-safe: the Gate methods are called on the I/O threads and return
// at once; completions run on the bus thread.
class ClusterGate final : public push::Gate {
 public:
  ClusterGate(ClusterState& state, ClusterBus& bus);

  void AdmitMain(std::string_view token, push::ConnectionId id,
                 MainDone done) override;
  void AdmitVoice(std::string_view token, int64_t channel_id,
                  push::ConnectionId id, VoiceDone done) override;
  void OnMainClosed(push::ConnectionId id, int64_t user_id) override;
  void OnVoiceClosed(push::ConnectionId id) override;

  // Told of every main and voice connection admitted, with its session's
  // expiry (expires_at_us, 0: never), before the admission completes, and
  // of every admitted one that closed: cluster mode's SessionExpiryCloser
  // (which closes both kinds, as one process's SessionReaper does). Ids of
  // main and voice connections never collide (one push::Worker counter).
  // Set before the gate serves; either may be empty.
  struct ConnectionObserver {
    std::function<void(push::ConnectionId id, int64_t user_id,
                       const std::string& session_key, int64_t expires_at_us)>
        admitted;
    std::function<void(push::ConnectionId id)> closed;
  };
  void SetConnectionObserver(ConnectionObserver observer) {
    observer_ = std::move(observer);
  }

 private:
  void Admitted(const ClusterState::VoiceAdmit& admit, int64_t channel_id,
                push::ConnectionId id, std::string key, VoiceDone done);

  ClusterState& state_;
  ClusterBus& bus_;
  ConnectionObserver observer_;  // set before serving, then read-only
  absl::Mutex mu_;
  // Admitted voice connections -> their user (VoiceClosed needs it).
  absl::flat_hash_map<push::ConnectionId, int64_t> voice_users_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::service::cluster
