#pragma once

#include "push/gate.h"
#include "service/registry.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// Admission of WebSocket connections: main sockets by session token, voice
// sockets through the VoiceCoordinator. Every answer is given inline,
// before AdmitMain / AdmitVoice return (the registry and the coordinator
// only take short locks).
//
// Thread-safe; called on the I/O threads.
class HeraldGate final : public push::Gate {
 public:
  HeraldGate(Registry& registry, VoiceCoordinator& voice);

  void AdmitMain(std::string_view token, push::ConnectionId id,
                 MainDone done) override;
  void AdmitVoice(std::string_view token, int64_t channel_id,
                  push::ConnectionId id, VoiceDone done) override;
  // Nothing to undo: the registry keeps no per-connection state.
  void OnMainClosed(push::ConnectionId id, int64_t user_id) override;
  void OnVoiceClosed(push::ConnectionId id) override;

 private:
  Registry& registry_;
  VoiceCoordinator& voice_;
};

}  // namespace herald::service
