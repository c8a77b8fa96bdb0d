#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "push/push_server.h"
#include "service/admin_http_server.h"
#include "service/admin_service.h"
#include "service/cluster/bus_relay.h"
#include "service/cluster/cluster_bus.h"
#include "service/cluster/cluster_gate.h"
#include "service/cluster/cluster_state.h"
#include "service/cluster/session_expiry_closer.h"
#include "service/control_executor.h"
#include "service/control_plane.h"
#include "service/grpc_call_stats.h"
#include "service/herald_gate.h"
#include "service/herald_service.h"
#include "service/local_control_plane.h"
#include "service/options.h"
#include "service/publish_stats.h"
#include "service/redis/redis_client.h"
#include "service/registry.h"
#include "service/session_reaper.h"
#include "service/stats_collector.h"
#include "service/stats_source.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// The whole herald process: registry, WebSocket data plane, gRPC API, and
// the order they start and stop in.
//
// Thread: Start, Reload, BeginDrain and Shutdown from the main thread;
// draining() from any thread.
class HeraldApp {
 public:
  // Opens the state, prepares TLS, binds every port and starts serving.
  // Errors say what is unusable, in one line.
  static absl::StatusOr<std::unique_ptr<HeraldApp>> Start(
      const HeraldOptions& options);
  ~HeraldApp();

  uint16_t main_port() const { return push_->main_port(); }
  uint16_t voice_port() const { return push_->voice_port(); }
  int grpc_port() const { return grpc_port_; }
  // 0 when the admin port is off (--admin_address=).
  uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }
  const std::string& node_name() const { return node_name_; }

  // SIGHUP: loads the WebSocket TLS certificate and key (--tls_cert,
  // --tls_key, or the generated <state>.cert.pem/.key.pem) again from the
  // same files for new handshakes on both ports; open connections are
  // untouched and the ticket keys stay, so resumption goes on working.
  // Nothing else changes (the gRPC port keeps its credentials until a
  // restart). Returns a one-line summary of what is now served, or the
  // error naming the file and its problem (the previous certificate is
  // kept). Logs either.
  absl::StatusOr<std::string> Reload();

  // SIGTERM/SIGINT: draining() becomes true and gRPC health answers
  // NOT_SERVING for "herald.v1.Herald" and "" at once; everything else
  // goes on serving until Shutdown. Idempotent.
  void BeginDrain();

  // BeginDrain, then stops the gRPC API, closes every socket with 1001,
  // flushes the state, and logs the shutdown record (uptime, connections
  // closed, events).
  void Shutdown();

  // True from the moment shutdown (SIGTERM) begins: /readyz answers 503 and
  // gRPC health reports NOT_SERVING. Any thread.
  bool draining() const { return draining_.load(std::memory_order_acquire); }

  // The bodies of /metrics (Prometheus text 0.0.4) and /stats.json. Any
  // thread (the admin thread).
  std::string MetricsText() const;
  std::string StatsJson() const;
  // herald's numbers (for GetStats); set once Start returns.
  const StatsCollector& stats() const { return *stats_; }

  // The gRPC service name health checks ask about.
  static constexpr char kHealthServiceName[] = "herald.v1.Herald";

 private:
  HeraldApp() = default;
  void SetHealth(bool serving);

  // The admin port's paths and their handlers.
  std::map<std::string, AdminHandler> AdminRoutes();
  // /readyz: 200 "ready", or 503 naming what is not ready.
  AdminResponse Readiness() const;
  // Cluster mode (--redis): the Redis client, ClusterState (Init: the
  // shared secret), the ClusterBus (started: its node channel), the
  // ClusterGate with the node's SessionExpiryCloser, and the
  // ClusterControlPlane. Waits up to kRedisStartup on the calling (main)
  // thread; Redis unreachable: UNAVAILABLE "redis: cannot connect to
  // HOST:PORT: why".
  absl::Status StartCluster(const HeraldOptions& options);
  // Drain: ClusterBus::Leave, waiting up to 2 s for Redis.
  void LeaveCluster();
  // /metrics' and /stats.json's cluster numbers (cluster mode).
  void FillClusterStats(StatsSnapshot& s) const;

  static constexpr std::chrono::seconds kRedisStartup{5};

  // The listen records (main, voice, gRPC) and the started record.
  static void LogStarted(const HeraldOptions& options,
                         const push::PushOptions& push_options,
                         const HeraldApp& app, uint64_t nofile);

  // First: outlives everything that posts to it (the registry's writer
  // runs its last callbacks when the registry is destroyed).
  std::unique_ptr<ControlExecutor> executor_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<push::PushServer> push_;
  std::unique_ptr<VoiceCoordinator> voice_;
  std::unique_ptr<HeraldGate> gate_;
  // Cluster mode (--redis) only, instead of registry_, voice_, gate_ and
  // reaper_. Declared after push_ (the bus routes to it), so destroyed
  // before it; Shutdown stops the bus, then the client.
  std::shared_ptr<cluster::BusRelay> relay_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<cluster::ClusterState> cluster_state_;
  std::unique_ptr<cluster::ClusterBus> bus_;
  bool bus_started_ = false;
  std::unique_ptr<cluster::ClusterGate> cluster_gate_;
  std::unique_ptr<cluster::SessionExpiryCloser> expiry_closer_;
  // Events published through the gRPC API (counted by control_).
  PublishStats publish_stats_;
  // LocalControlPlane, or ClusterControlPlane in cluster mode.
  std::unique_ptr<ControlPlane> control_;
  std::unique_ptr<HeraldService> service_;
  // Outlives the gRPC server, whose interceptors count into it.
  GrpcCallStats grpc_stats_;
  // Reads everything above (/metrics, /stats.json, GetStats, the 1 s
  // sampler).
  std::unique_ptr<StatsCollector> stats_;
  // What HeraldAdmin.GetStats reads: the collector, as /stats.json.
  std::unique_ptr<StatsSource> stats_source_;
  std::unique_ptr<AdminService> admin_grpc_;
  std::unique_ptr<SessionReaper> reaper_;
  std::unique_ptr<grpc::Server> grpc_;
  // Its handlers read the members above: stopped before they go.
  std::unique_ptr<AdminHttpServer> admin_;
  int grpc_port_ = 0;
  std::string node_name_;
  bool grpc_tls_ = false;  // --grpc_tls_cert given (not reloaded)
  std::chrono::steady_clock::time_point started_at_ =
      std::chrono::steady_clock::now();
  bool stopped_ = false;
  std::atomic<bool> draining_{false};
};

}  // namespace herald::service
