#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "push/histogram.h"
#include "push/push_stats.h"
#include "service/process_stats.h"

namespace herald::service {

// One second of the StatsCollector's history.
struct StatsSample {
  int64_t t = 0;  // Unix seconds
  uint64_t connections = 0;
  double events_per_s = 0;
  double deliveries_per_s = 0;
};

// Everything /metrics and /stats.json show, gathered at one moment by the
// StatsCollector. Plain data.
struct StatsSnapshot {
  std::string version;
  std::string build;
  std::string node;
  double started_at = 0;  // Unix seconds
  double uptime_s = 0;

  push::PushStats push;

  uint64_t events_published = 0;
  std::map<std::string, uint64_t> events_by_name;
  push::HistogramSnapshot publish_latency;  // seconds

  // One process: the registry's. Cluster mode: the whole cluster's from
  // Redis when it answered (cluster->counts_known), else not shown.
  uint64_t sessions = 0;
  uint64_t memberships = 0;
  uint64_t voice_grants = 0;
  uint64_t write_queue = 0;
  push::HistogramSnapshot commit_latency;  // seconds

  // (server, channel) -> connected users, all ascending.
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> voice;

  // (method, code name) -> calls.
  std::map<std::pair<std::string, std::string>, uint64_t> grpc_calls;

  ProcessStats process;

  // Cluster mode (--redis): this node's Redis link and bus. Without it
  // (one process) none of these families is shown; with it, the SQLite
  // families (write queue, commit latency) and the node-local voice
  // roster are not.
  struct Cluster {
    bool redis_connected = false;
    uint64_t messages_in = 0, messages_out = 0;
    uint64_t ack_timeouts = 0;
    uint64_t server_channels = 0, user_channels = 0;  // subscribed
    bool counts_known = false;  // sessions/memberships/voice_grants set
  };
  std::optional<Cluster> cluster;

  double events_per_s = 0;           // over the last second
  double deliveries_per_s = 0;       // frames queued per second, last second
  std::vector<StatsSample> history;  // oldest first
};

}  // namespace herald::service
