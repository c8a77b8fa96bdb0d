#pragma once

#include "herald/v1/admin.pb.h"

namespace herald::service {

// Where HeraldAdmin.GetStats gets its figures: the same collector that
// serves the admin HTTP port's /stats.json, so both always agree.
//
// Thread-safe: Read is called on gRPC threads, concurrently, and must not
// block on the data plane.
class StatsSource {
 public:
  virtual ~StatsSource() = default;

  // Fills `out` (empty on entry) with the current statistics.
  virtual void Read(v1::GetStatsResponse* out) const = 0;
};

}  // namespace herald::service
