#pragma once

#include "service/stats_collector.h"
#include "service/stats_source.h"

namespace herald::service {

// GetStats from the collector behind /stats.json: the snapshot is rendered
// as that JSON and parsed into the typed response (whose field names are
// the JSON keys), so the two can never disagree.
//
// Thread-safe (as StatsCollector::Collect).
class CollectorStatsSource final : public StatsSource {
 public:
  explicit CollectorStatsSource(const StatsCollector& collector)
      : collector_(collector) {}

  void Read(v1::GetStatsResponse* out) const override;

 private:
  const StatsCollector& collector_;
};

}  // namespace herald::service
