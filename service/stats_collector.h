#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "push/push_server.h"
#include "service/grpc_call_stats.h"
#include "service/publish_stats.h"
#include "service/registry.h"
#include "service/stats_snapshot.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// Gathers herald's numbers into a StatsSnapshot on demand (a /metrics or
// /stats.json request), and once a second samples connections and rates
// into a history of at most kMaxHistory samples.
//
// Thread-safe: Collect from any thread (the admin thread); the sampler
// runs on its own thread between Start and Stop. Everything it reads must
// outlive it.
class StatsCollector {
 public:
  static constexpr size_t kMaxHistory = 600;
  // How long Collect waits for the I/O workers' queue walk.
  static constexpr std::chrono::milliseconds kWalkTimeout{500};

  StatsCollector(std::string node, const push::PushServer& push,
                 const Registry& registry, const VoiceCoordinator& voice,
                 const PublishStats& publish, const GrpcCallStats& grpc);
  // Cluster mode: no registry nor voice roster on the node; `cluster`
  // fills StatsSnapshot::cluster (and the cluster-wide counts) at each
  // Collect, on the collecting thread.
  using ClusterFill = std::function<void(StatsSnapshot&)>;
  StatsCollector(std::string node, const push::PushServer& push,
                 ClusterFill cluster, const PublishStats& publish,
                 const GrpcCallStats& grpc);
  ~StatsCollector();

  void Start();  // starts the 1-second sampler
  void Stop();

  StatsSnapshot Collect() const;

  // Takes one history sample now (the sampler's step; tests call it).
  void Sample();

  // "0.1.0" (CMake's project version) and the build's compiler and date.
  static const char* Version();
  static const char* Build();

 private:
  void Run();

  const std::string node_;
  const push::PushServer& push_;
  const Registry* const registry_;       // null in cluster mode
  const VoiceCoordinator* const voice_;  // null in cluster mode
  const ClusterFill cluster_;            // cluster mode only
  const PublishStats& publish_;
  const GrpcCallStats& grpc_;
  const double started_at_;  // Unix seconds
  const std::chrono::steady_clock::time_point started_;

  mutable absl::Mutex mu_;
  std::deque<StatsSample> history_ ABSL_GUARDED_BY(mu_);
  // The totals at the previous sample (for the rates).
  uint64_t last_events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_frames_ ABSL_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point last_ ABSL_GUARDED_BY(mu_);
  double events_per_s_ ABSL_GUARDED_BY(mu_) = 0;
  double deliveries_per_s_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sampler_;
};

}  // namespace herald::service
