#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "push/router.h"
#include "service/control_plane.h"
#include "service/publish_stats.h"
#include "service/registry.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// The ControlPlane of one herald process: state in the Registry (SQLite)
// and the VoiceCoordinator, events to this process's push::Router, as
// RoutingPolicy::Plan says.
//
// Thread-safe; no method blocks. Callbacks run on the caller's thread (a
// refusal, a read), a push worker (routing) or the SQLite writer (a commit),
// whichever completes last.
class LocalControlPlane final : public ControlPlane {
 public:
  // `stats` (may be null) counts every published event and observes how
  // long the Router took to queue it on every connection.
  LocalControlPlane(Registry& registry, VoiceCoordinator& voice,
                    push::Router& router, PublishStats* stats = nullptr);

  // Done once the event is queued for every recipient and its state changes
  // are persisted; the result is the number of connections it was queued
  // for. A refusal (user_joined over a membership limit: RESOURCE_EXHAUSTED
  // "user_joined: ...") is reported before Publish returns, with nothing
  // delivered or changed.
  void Publish(const v1::PublishRequest& request,
               Result<uint32_t> done) override;

  void OpenSession(const std::string& token, int64_t user_id,
                   int64_t expires_at_us, Done done) override;
  void CloseSession(const std::string& token, Result<bool> done) override;

  void SetMemberships(int64_t user_id, std::vector<int64_t> server_ids,
                      Done done) override;
  void GetMemberships(int64_t user_id,
                      Result<std::vector<int64_t>> done) override;

  void JoinVoice(int64_t user_id, int64_t server_id, int64_t channel_id,
                 Done done) override;
  void LeaveVoice(int64_t user_id, Result<bool> done) override;
  void GetVoiceState(int64_t server_id, Result<VoiceChannels> done) override;

 private:
  Registry& registry_;
  VoiceCoordinator& voice_;
  push::Router& router_;
  PublishStats* const stats_;
};

}  // namespace herald::service
