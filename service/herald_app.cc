#include "service/herald_app.h"

#include <sys/resource.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "push/fd_budget.h"
#include "push/log.h"
#include "service/cluster/cluster_control_plane.h"
#include "service/collector_stats_source.h"
#include "service/grpc_metrics_interceptor.h"
#include "service/grpc_server_credentials.h"
#include "service/stats_render.h"
#include "service/status_page.h"
#include "service/tls_material.h"

namespace herald::service {
namespace {

void LogListen(std::string_view name, std::string_view address, int port,
               std::string_view transport) {
  Log(LogLevel::kInfo, "listen",
      {{"name", name},
       {"address", address},
       {"port", port},
       {"transport", transport}});
}

RegistryLimits Limits(const HeraldOptions& options) {
  return RegistryLimits{
      .max_sessions = options.max_sessions,
      .max_memberships = options.max_memberships,
      .max_memberships_per_user = options.max_memberships_per_user};
}

// Runs `start(done)` and waits for `done` until `deadline`; DEADLINE_EXCEEDED
// past it (the late answer is dropped).
absl::Status WaitFor(
    absl::AnyInvocable<void(absl::AnyInvocable<void(absl::Status) &&>) &&>
        start,
    std::chrono::steady_clock::time_point deadline) {
  auto answer = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> future = answer->get_future();
  std::move(start)(
      [answer](absl::Status st) mutable { answer->set_value(std::move(st)); });
  if (future.wait_until(deadline) != std::future_status::ready) {
    return absl::DeadlineExceededError("no answer");
  }
  return future.get();
}

// The reason in a RedisClient error, without its "redis: not connected to
// HOST:PORT: " prefix.
std::string Why(const absl::Status& status, const std::string& endpoint) {
  absl::string_view why = status.message();
  for (const std::string& prefix :
       {absl::StrCat("redis: not connected to ", endpoint, ": "),
        std::string("redis: ")}) {
    if (absl::StartsWith(why, prefix)) {
      why.remove_prefix(prefix.size());
      break;
    }
  }
  return std::string(why);
}

}  // namespace

absl::Status HeraldApp::StartCluster(const HeraldOptions& options) {
  auto url = redis::RedisUrl::Parse(options.redis);
  if (!url.ok()) return url.status();
  redis::RedisClientOptions redis_options;
  redis_options.url = *url;
  redis_options.command_timeout = options.redis_timeout;
  redis_options.connect_timeout = options.redis_timeout;
  relay_ = std::make_shared<cluster::BusRelay>();
  redis_ = redis::RedisClient::Start(redis_options, relay_->Handlers());
  cluster_state_ =
      std::make_unique<cluster::ClusterState>(*redis_, Limits(options));
  bus_ = std::make_unique<cluster::ClusterBus>(
      *redis_, *cluster_state_, *push_,
      cluster::ClusterBusOptions{.ack_timeout = options.cluster_ack_timeout,
                                 .node_ttl = options.cluster_node_ttl},
      *relay_);
  // Up to kRedisStartup: the shared secret (retried while Redis is not
  // reachable yet), then the bus's node channel.
  const auto deadline = std::chrono::steady_clock::now() + kRedisStartup;
  absl::Status st, why;  // why: the last answer that was not a timeout
  for (;;) {
    st = WaitFor([this](auto done) { cluster_state_->Init(std::move(done)); },
                 deadline);
    if (!absl::IsDeadlineExceeded(st)) why = st;
    if (st.ok() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!st.ok() && !why.ok()) st = why;
  if (st.ok()) {
    st = WaitFor([this](auto done) { bus_->Start(std::move(done)); }, deadline);
  }
  if (!st.ok()) {
    return absl::UnavailableError(absl::StrCat("redis: cannot connect to ",
                                               redis_->endpoint(), ": ",
                                               Why(st, redis_->endpoint())));
  }
  bus_started_ = true;
  expiry_closer_ = std::make_unique<cluster::SessionExpiryCloser>(
      [state = cluster_state_.get()](
          const std::string& key, int64_t now_us,
          cluster::SessionExpiryCloser::LookupDone done) {
        state->LookupSession(key, now_us, std::move(done));
      },
      *push_);
  cluster_gate_ =
      std::make_unique<cluster::ClusterGate>(*cluster_state_, *bus_);
  cluster_gate_->SetConnectionObserver(cluster::ClusterGate::ConnectionObserver{
      .admitted =
          [closer = expiry_closer_.get()](
              push::ConnectionId id, int64_t user_id, const std::string& key,
              int64_t expires_at_us) {
            closer->Track(id, user_id, key, expires_at_us);
          },
      .closed = [closer = expiry_closer_.get()](
                    push::ConnectionId id) { closer->Untrack(id); }});
  control_ = std::make_unique<cluster::ClusterControlPlane>(
      *cluster_state_, *bus_, &publish_stats_);
  Log(LogLevel::kInfo, "cluster",
      {{"redis", redis_->endpoint()}, {"node_id", bus_->node_id()}});
  return absl::OkStatus();
}

void HeraldApp::LeaveCluster() {
  auto left = std::make_shared<std::promise<void>>();
  std::future<void> future = left->get_future();
  bus_->Leave([left]() mutable { left->set_value(); });
  if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    Log(LogLevel::kWarning, "cluster_leave",
        {{"msg",
          "Redis did not answer within 2 s; the other nodes reap this "
          "node's voice presence when its heartbeat expires"}});
  }
}

void HeraldApp::FillClusterStats(StatsSnapshot& s) const {
  StatsSnapshot::Cluster c;
  c.redis_connected = redis_->connected();
  const cluster::ClusterBus::Stats bus = bus_->stats();
  c.messages_in = bus.messages_in;
  c.messages_out = bus.messages_out;
  c.ack_timeouts = bus.ack_timeouts;
  c.server_channels = bus.server_channels;
  c.user_channels = bus.user_channels;
  if (c.redis_connected) {
    // The whole cluster's counts, if Redis answers soon enough.
    using Counts = cluster::ClusterState::Counts;
    auto answer = std::make_shared<std::promise<absl::StatusOr<Counts>>>();
    auto future = answer->get_future();
    cluster_state_->GetCounts([answer](absl::StatusOr<Counts> counts) mutable {
      answer->set_value(std::move(counts));
    });
    if (future.wait_for(std::chrono::milliseconds(500)) ==
        std::future_status::ready) {
      absl::StatusOr<Counts> counts = future.get();
      if (counts.ok()) {
        c.counts_known = true;
        s.sessions = static_cast<uint64_t>(counts->sessions);
        s.memberships = static_cast<uint64_t>(counts->memberships);
        s.voice_grants = static_cast<uint64_t>(counts->grants);
      }
    }
  }
  s.cluster = c;
}

void HeraldApp::LogStarted(const HeraldOptions& options,
                           const push::PushOptions& push_options,
                           const HeraldApp& app, uint64_t nofile) {
  const char* transport = push_options.plain ? "ws" : "wss";
  LogListen("main", push_options.bind_address, app.main_port(), transport);
  LogListen("voice", push_options.bind_address, app.voice_port(), transport);
  Log(LogLevel::kInfo, "listen",
      {{"name", "grpc"},
       {"address", options.grpc_address},
       {"port", app.grpc_port_},
       {"transport", options.grpc_auth.tls() ? "grpc+tls" : "grpc"},
       {"auth", GrpcAuthName(options.grpc_auth)}});
  if (app.admin_port() != 0) {
    Log(LogLevel::kInfo, "listen",
        {{"name", "admin"},
         {"address", options.admin_address},
         {"port", app.admin_port()},
         {"transport", "http"}});
  }
  Log(LogLevel::kInfo, "started",
      {{"node", app.node_name()},
       {"state", options.cluster() ? std::string("redis") : options.state},
       {"rlimit_nofile", nofile},
       {"max_connections", push_options.max_connections},
       {"max_handshaking", push_options.max_handshaking},
       {"fd_reserve", push_options.fd_reserve},
       {"log_level", LogLevelName(GetLogLevel())},
       {"log_refusals_per_sec", GetLogRefusalsPerSec()}});
}

absl::StatusOr<std::unique_ptr<HeraldApp>> HeraldApp::Start(
    const HeraldOptions& options) {
  // First: a bad credential file stops herald before it opens anything.
  auto grpc_credentials =
      MakeGrpcServerCredentials(options.grpc_auth, options.grpc_address);
  if (!grpc_credentials.ok()) return grpc_credentials.status();
  auto app = std::unique_ptr<HeraldApp>(new HeraldApp());

  // Cluster mode keeps its state in Redis: the state file is not opened.
  if (!options.cluster()) {
    auto registry = Registry::Open(options.state, Limits(options));
    if (!registry.ok()) return registry.status();
    app->registry_ = std::move(*registry);
  }

  push::PushOptions push_options = options.push;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) {
    return absl::InternalError("cannot read RLIMIT_NOFILE");
  }
  const uint64_t nofile = files.rlim_cur == RLIM_INFINITY
                              ? uint64_t{1} << 20
                              : static_cast<uint64_t>(files.rlim_cur);
  if (auto st = push::FitDescriptorBudget(push_options, nofile,
                                          options.max_connections_given,
                                          options.max_handshaking_given);
      !st.ok()) {
    return st;
  }
  if (!push_options.plain && push_options.tls_cert_file.empty()) {
    push_options.tls_cert_file = options.state + ".cert.pem";
    push_options.tls_key_file = options.state + ".key.pem";
    auto st = EnsureSelfSignedCertificate(push_options.tls_cert_file,
                                          push_options.tls_key_file);
    if (!st.ok()) return st;
  }
  if (!options.tls_tickets) {
    push_options.tls_ticket_key_file.clear();
  } else if (push_options.tls_ticket_key_file.empty()) {
    push_options.tls_ticket_key_file = options.state + ".ticket-keys";
  }
  auto push = push::PushServer::Create(push_options);
  if (!push.ok()) return push.status();
  app->push_ = std::move(*push);

  app->executor_ = std::make_unique<ControlExecutor>();
  if (options.cluster()) {
    if (auto st = app->StartCluster(options); !st.ok()) return st;
  } else {
    app->voice_ =
        std::make_unique<VoiceCoordinator>(*app->registry_, *app->push_);
    app->gate_ = std::make_unique<HeraldGate>(*app->registry_, *app->voice_);
    app->control_ = std::make_unique<LocalControlPlane>(
        *app->registry_, *app->voice_, *app->push_, &app->publish_stats_);
  }
  app->service_ = std::make_unique<HeraldService>(
      *app->control_, *app->executor_, options.limits);
  app->node_name_ = options.node_name;
  if (app->node_name_.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    app->node_name_ = host[0] ? host : "herald";
  }
  if (options.cluster()) {
    app->stats_ = std::make_unique<StatsCollector>(
        app->node_name_, *app->push_,
        [app = app.get()](StatsSnapshot& s) { app->FillClusterStats(s); },
        app->publish_stats_, app->grpc_stats_);
  } else {
    app->stats_ = std::make_unique<StatsCollector>(
        app->node_name_, *app->push_, *app->registry_, *app->voice_,
        app->publish_stats_, app->grpc_stats_);
  }
  app->stats_->Start();
  app->stats_source_ = std::make_unique<CollectorStatsSource>(*app->stats_);
  app->admin_grpc_ = std::make_unique<AdminService>(
      *app->push_, *app->stats_source_, *app->executor_,
      AdminService::Settings{.node = app->node_name_,
                             .max_listed = options.max_listed_connections});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.grpc_address, *grpc_credentials,
                           &app->grpc_port_);
  builder.RegisterService(app->service_.get());
  builder.RegisterService(app->admin_grpc_.get());
  {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        std::make_unique<GrpcMetricsInterceptorFactory>(app->grpc_stats_));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  app->grpc_ = builder.BuildAndStart();
  if (!app->grpc_ || app->grpc_port_ == 0) {
    app->grpc_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on ", options.grpc_address,
                     " (address in use or not HOST:PORT)"));
  }
  if (!options.admin_address.empty()) {
    auto admin = AdminHttpServer::Start(
        options.admin_address, app->AdminRoutes(), options.admin_limits);
    if (!admin.ok()) return admin.status();
    app->admin_ = std::move(*admin);
  }
  app->grpc_tls_ = options.grpc_auth.tls();
  app->SetHealth(true);
  if (options.cluster()) {
    app->push_->Start(app->cluster_gate_.get());
  } else {
    app->push_->Start(app->gate_.get());
    app->reaper_ =
        std::make_unique<SessionReaper>(*app->registry_, *app->push_);
  }
  LogStarted(options, push_options, *app, nofile);
  return app;
}

std::map<std::string, AdminHandler> HeraldApp::AdminRoutes() {
  std::map<std::string, AdminHandler> routes;
  routes["/healthz"] = [] {
    return AdminResponse{200, "text/plain; charset=utf-8", "ok\n"};
  };
  routes["/readyz"] = [this] { return Readiness(); };
  routes["/metrics"] = [this] {
    return AdminResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                         MetricsText()};
  };
  routes["/stats.json"] = [this] {
    return AdminResponse{200, "application/json", StatsJson()};
  };
  routes["/"] = [] {
    return AdminResponse{200, "text/html; charset=utf-8",
                         std::string(StatusPageHtml())};
  };
  return routes;
}

AdminResponse HeraldApp::Readiness() const {
  std::string problems;
  if (draining()) absl::StrAppend(&problems, "draining\n");
  if (push_->main_port() == 0 || push_->voice_port() == 0) {
    absl::StrAppend(&problems, "WebSocket ports not listening\n");
  }
  if (registry_ && !registry_->writable()) {
    absl::StrAppend(&problems, "state file not writable\n");
  }
  if (redis_ && !redis_->connected()) {
    absl::StrAppend(&problems, "redis: disconnected\n");
  }
  if (problems.empty()) return {200, "text/plain; charset=utf-8", "ready\n"};
  return {503, "text/plain; charset=utf-8", problems};
}

HeraldApp::~HeraldApp() { Shutdown(); }

std::string HeraldApp::MetricsText() const {
  return RenderMetrics(stats_->Collect());
}

std::string HeraldApp::StatsJson() const {
  return RenderStatsJson(stats_->Collect());
}

void HeraldApp::SetHealth(bool serving) {
  if (!grpc_) return;
  grpc::HealthCheckServiceInterface* health = grpc_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(kHealthServiceName, serving);
  health->SetServingStatus("", serving);
}

absl::StatusOr<std::string> HeraldApp::Reload() {
  const std::string& cert = push_->options().tls_cert_file;
  const std::string grpc_note =
      grpc_tls_ ? "; gRPC TLS certificate unchanged (restart to replace it)"
                : "";
  auto tls = push_->ReloadTls();
  if (!tls.ok()) {
    const std::string line =
        absl::StrCat("reload: ", tls.status().message(),
                     "; still serving the previous WebSocket certificate (",
                     push_->TlsDescription(), ")", grpc_note);
    Log(LogLevel::kError, "reload", {{"msg", line}});
    return absl::Status(tls.status().code(), line);
  }
  const std::string line =
      push_->options().plain
          ? absl::StrCat("reload: nothing to reload (", *tls, ")", grpc_note)
          : absl::StrCat("reload: WebSocket TLS certificate ", cert, ": ", *tls,
                         grpc_note);
  Log(LogLevel::kInfo, "reload", {{"msg", line}});
  return line;
}

void HeraldApp::BeginDrain() {
  if (draining_.exchange(true, std::memory_order_acq_rel)) return;
  SetHealth(false);
}

void HeraldApp::Shutdown() {
  if (stopped_) return;
  BeginDrain();
  stopped_ = true;
  if (stats_) stats_->Stop();
  const uint64_t admitted = push_ ? push_->counters().admitted.load() : 0;
  const uint64_t sockets = push_ ? push_->counters().sockets.load() : 0;
  if (reaper_) reaper_->Stop();
  if (expiry_closer_) expiry_closer_->Stop();
  if (grpc_) {
    grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  // Cluster mode: the node leaves (its voice presence ends, with
  // user_left_vc) before its sockets close with 1001.
  if (bus_started_) LeaveCluster();
  if (push_) push_->Shutdown(std::chrono::seconds(2));
  if (grpc_) grpc_->Wait();
  if (bus_) bus_->Stop();
  if (redis_) redis_->Stop();
  if (registry_) registry_->Flush();
  if (admin_) admin_->Stop();
  if (executor_) executor_->Stop();
  if (!push_) return;
  const std::chrono::duration<double> uptime =
      std::chrono::steady_clock::now() - started_at_;
  Log(LogLevel::kInfo, "shutdown",
      {{"uptime_s", uptime.count()},
       {"connections_closed", admitted},
       {"sockets_closed", sockets},
       {"sockets_left", push_->counters().sockets.load()},
       {"events_published", push_->counters().events_routed.load()}});
}

}  // namespace herald::service
