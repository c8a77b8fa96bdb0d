#pragma once

#include "push/gate.h"
#include "service/registry.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// Admission of WebSocket connections: main sockets by session token, voice
// sockets through the VoiceCoordinator.
//
// Thread-safe; called on the I/O threads.
class HeraldGate final : public push::Gate {
 public:
  HeraldGate(Registry& registry, VoiceCoordinator& voice);

  std::variant<push::MainAdmission, push::Refusal> AdmitMain(
      std::string_view token) override;
  std::variant<push::VoiceAdmission, push::Refusal> AdmitVoice(
      std::string_view token, int64_t channel_id,
      push::ConnectionId id) override;
  void OnVoiceClosed(push::ConnectionId id) override;

 private:
  Registry& registry_;
  VoiceCoordinator& voice_;
};

}  // namespace herald::service
