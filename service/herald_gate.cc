#include "service/herald_gate.h"

#include <utility>

#include "push/close_codes.h"
#include "service/clock.h"

namespace herald::service {

HeraldGate::HeraldGate(Registry& registry, VoiceCoordinator& voice)
    : registry_(registry), voice_(voice) {}

void HeraldGate::AdmitMain(std::string_view token, push::ConnectionId,
                           MainDone done) {
  std::string key = registry_.SessionKey(token);
  auto session = registry_.LookupSession(key, NowMicros());
  if (!session) {
    std::move(done)(
        push::Refusal{push::kCloseUnknownToken, "unknown or expired token"});
    return;
  }
  std::move(done)(push::MainAdmission{
      session->user_id, registry_.ServersOf(session->user_id), std::move(key)});
}

void HeraldGate::AdmitVoice(std::string_view token, int64_t channel_id,
                            push::ConnectionId id, VoiceDone done) {
  std::move(done)(voice_.Admit(token, channel_id, id));
}

void HeraldGate::OnMainClosed(push::ConnectionId, int64_t) {}

void HeraldGate::OnVoiceClosed(push::ConnectionId id) { voice_.OnClosed(id); }

}  // namespace herald::service
