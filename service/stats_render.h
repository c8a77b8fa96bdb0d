#pragma once

#include <string>

#include "service/stats_snapshot.h"

namespace herald::service {

// The Prometheus text (0.0.4) of /metrics. The README's metrics table
// lists every family.
std::string RenderMetrics(const StatsSnapshot& s);

// The body of /stats.json (schema in the README), compact.
std::string RenderStatsJson(const StatsSnapshot& s);

// Refusals as /stats.json lists them: (code, reason, count), code 0 for
// sockets closed before any WebSocket (reason says why), only nonzero
// counts, in a fixed order.
struct RefusalCount {
  int code = 0;
  const char* reason = "";
  uint64_t count = 0;
};
std::vector<RefusalCount> Refusals(const push::PushStats& p);

}  // namespace herald::service
