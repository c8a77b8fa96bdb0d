#include "service/herald_gate.h"

#include "push/close_codes.h"
#include "service/clock.h"

namespace herald::service {

HeraldGate::HeraldGate(Registry& registry, VoiceCoordinator& voice)
    : registry_(registry), voice_(voice) {}

std::variant<push::MainAdmission, push::Refusal> HeraldGate::AdmitMain(
    std::string_view token) {
  std::string key = registry_.SessionKey(token);
  auto session = registry_.LookupSession(key, NowMicros());
  if (!session) {
    return push::Refusal{push::kCloseUnknownToken, "unknown or expired token"};
  }
  return push::MainAdmission{
      session->user_id, registry_.ServersOf(session->user_id), std::move(key)};
}

std::variant<push::VoiceAdmission, push::Refusal> HeraldGate::AdmitVoice(
    std::string_view token, int64_t channel_id, push::ConnectionId id) {
  return voice_.Admit(token, channel_id, id);
}

void HeraldGate::OnVoiceClosed(push::ConnectionId id) { voice_.OnClosed(id); }

}  // namespace herald::service
