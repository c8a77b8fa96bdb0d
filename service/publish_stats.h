#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "push/histogram.h"
#include "push/locked_histogram.h"

namespace herald::service {

// Bounds (seconds) of the publish -> queued latency histogram.
inline constexpr std::array<double, 12> kPublishLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,   0.025,   0.05,   0.1,   0.25,   1};

// Events published through the gRPC API (Publish, PublishStream), by
// envelope name, and how long each took from its Dispatch until the Router
// had queued it on every connection. Counted once per event, never per
// frame.
//
// Thread-safe.
class PublishStats {
 public:
  void CountEvent(std::string_view name);
  void ObserveQueued(double seconds) { latency_.Observe(seconds); }

  // By event name, ascending.
  std::map<std::string, uint64_t> events() const;
  uint64_t total() const;
  push::HistogramSnapshot latency() const { return latency_.Read(); }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> events_ ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  push::LockedHistogram latency_{kPublishLatencyBounds};
};

}  // namespace herald::service
