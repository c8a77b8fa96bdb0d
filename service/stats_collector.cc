#include "service/stats_collector.h"

#include "absl/time/time.h"
#include "service/process_stats.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "0.0.0"
#endif

namespace herald::service {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StatsCollector::StatsCollector(std::string node, const push::PushServer& push,
                               const Registry& registry,
                               const VoiceCoordinator& voice,
                               const PublishStats& publish,
                               const GrpcCallStats& grpc)
    : node_(std::move(node)),
      push_(push),
      registry_(&registry),
      voice_(&voice),
      publish_(publish),
      grpc_(grpc),
      started_at_(UnixNow()),
      started_(std::chrono::steady_clock::now()),
      last_(started_) {}

StatsCollector::StatsCollector(std::string node, const push::PushServer& push,
                               ClusterFill cluster, const PublishStats& publish,
                               const GrpcCallStats& grpc)
    : node_(std::move(node)),
      push_(push),
      registry_(nullptr),
      voice_(nullptr),
      cluster_(std::move(cluster)),
      publish_(publish),
      grpc_(grpc),
      started_at_(UnixNow()),
      started_(std::chrono::steady_clock::now()),
      last_(started_) {}

StatsCollector::~StatsCollector() { Stop(); }

const char* StatsCollector::Version() { return HERALD_VERSION; }

const char* StatsCollector::Build() {
#if defined(__clang__)
  return "clang " __clang_version__ " " __DATE__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__ " " __DATE__;
#else
  return __DATE__;
#endif
}

void StatsCollector::Start() {
  sampler_ = std::thread([this] { Run(); });
}

void StatsCollector::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (sampler_.joinable()) sampler_.join();
}

void StatsCollector::Run() {
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    next += std::chrono::seconds(1);
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      const auto wait = next - std::chrono::steady_clock::now();
      if (mu_.AwaitWithTimeout(absl::Condition(&stop),
                               absl::FromChrono(wait))) {
        return;
      }
    }
    Sample();
  }
}

void StatsCollector::Sample() {
  const push::PushStats p = push_.CollectStats(false, kWalkTimeout);
  const uint64_t events = publish_.total();
  const auto now = std::chrono::steady_clock::now();
  absl::MutexLock lock(&mu_);
  const double dt = std::chrono::duration<double>(now - last_).count();
  events_per_s_ = dt > 0 ? static_cast<double>(events - last_events_) / dt : 0;
  deliveries_per_s_ =
      dt > 0 ? static_cast<double>(p.frames_delivered - last_frames_) / dt : 0;
  last_events_ = events;
  last_frames_ = p.frames_delivered;
  last_ = now;
  history_.push_back({static_cast<int64_t>(UnixNow()), p.open_total(),
                      events_per_s_, deliveries_per_s_});
  while (history_.size() > kMaxHistory) history_.pop_front();
}

StatsSnapshot StatsCollector::Collect() const {
  StatsSnapshot s;
  s.version = Version();
  s.build = Build();
  s.node = node_;
  s.started_at = started_at_;
  s.uptime_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_)
          .count();
  s.push = push_.CollectStats(true, kWalkTimeout);
  s.events_published = publish_.total();
  s.events_by_name = publish_.events();
  s.publish_latency = publish_.latency();
  if (registry_ != nullptr) {
    s.sessions = registry_->session_count();
    s.memberships = registry_->membership_count();
    s.voice_grants = registry_->grant_count();
    s.write_queue = registry_->write_queue_depth();
    s.commit_latency = registry_->commit_latency();
  }
  if (voice_ != nullptr) s.voice = voice_->Channels();
  if (cluster_) cluster_(s);
  s.grpc_calls = grpc_.calls();
  s.process = ProcessStats::Read();
  absl::MutexLock lock(&mu_);
  s.events_per_s = events_per_s_;
  s.deliveries_per_s = deliveries_per_s_;
  s.history.assign(history_.begin(), history_.end());
  return s;
}

}  // namespace herald::service
