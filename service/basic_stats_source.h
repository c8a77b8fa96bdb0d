#pragma once

#include <chrono>
#include <string>

#include "push/push_server.h"
#include "service/registry.h"
#include "service/stats_source.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// A StatsSource reading what the process already keeps: the data plane's
// shared counters, the registry's sizes, the voice roster and /proc. The
// event, delivery and rate figures (which need counting on the delivery
// path) stay zero.
//
// Thread-safe: everything it reads is.
class BasicStatsSource final : public StatsSource {
 public:
  BasicStatsSource(const push::PushServer& push, const Registry& registry,
                   const VoiceCoordinator& voice, std::string node);

  void Read(v1::GetStatsResponse* out) const override;

 private:
  void ReadConnections(v1::GetStatsResponse* out) const;
  void ReadRefusals(v1::GetStatsResponse* out) const;
  static void ReadProcess(v1::GetStatsResponse::Process* out);

  const push::PushServer& push_;
  const Registry& registry_;
  const VoiceCoordinator& voice_;
  const std::string node_;
  const std::chrono::system_clock::time_point started_at_;
  const std::chrono::steady_clock::time_point started_steady_;
};

}  // namespace herald::service
