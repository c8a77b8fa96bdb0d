#include "service/stats_render.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "push/worker_stats.h"
#include "service/json_writer.h"
#include "service/prometheus_text.h"

namespace herald::service {
namespace {

using Labels = PrometheusText::Labels;

constexpr const char* kKindNames[push::kSocketKinds] = {"main", "voice"};

// The reason /stats.json gives for each refusal slot (push::kRefusalCodes).
constexpr const char* kRefusalReasons[push::kRefusalCodes.size()] = {
    "try again later", "bad request",          "unknown or expired token",
    "no voice grant",  "too many connections", "other"};

struct TransportLabels {
  const char* transport;
  const char* tls_version;
};
constexpr TransportLabels kTransportLabels[push::kTransports] = {
    {"ws", "none"}, {"wss", "TLSv1.2"}, {"wss", "TLSv1.3"}};

void Counter(PrometheusText& out, std::string_view name, std::string_view help,
             uint64_t value) {
  out.Begin(name, "counter", help);
  out.Sample({}, value);
}

void Gauge(PrometheusText& out, std::string_view name, std::string_view help,
           double value) {
  out.Begin(name, "gauge", help);
  out.Sample({}, value);
}

void RenderConnections(PrometheusText& out, const push::PushStats& p) {
  out.Begin("herald_connections", "gauge",
            "Admitted WebSocket connections open now.");
  for (size_t k = 0; k < push::kSocketKinds; ++k) {
    for (size_t t = 0; t < push::kTransports; ++t) {
      // Only the transports this server speaks (and any counted anyway).
      const bool spoken = p.plain ? t == 0 : t != 0;
      if (!spoken && p.open[k][t] == 0) continue;
      out.Sample({{"socket", kKindNames[k]},
                  {"transport", kTransportLabels[t].transport},
                  {"tls_version", kTransportLabels[t].tls_version}},
                 p.open[k][t]);
    }
  }
  Gauge(out, "herald_handshaking_connections",
        "Sockets still in their TLS or HTTP handshake.",
        static_cast<double>(p.handshaking));
  Gauge(out, "herald_sockets", "Open TCP connections, in any state.",
        static_cast<double>(p.sockets));
  out.Begin("herald_connections_accepted_total", "counter",
            "WebSocket connections admitted.");
  for (size_t k = 0; k < push::kSocketKinds; ++k) {
    out.Sample({{"socket", kKindNames[k]}}, p.accepted[k]);
  }
  out.Begin("herald_connections_refused_total", "counter",
            "WebSocket connections refused at admission, by close code.");
  for (size_t i = 0; i < push::kRefusalCodes.size(); ++i) {
    const uint16_t code = push::kRefusalCodes[i];
    out.Sample({{"code", code == 0 ? "other" : absl::StrCat(code)}},
               p.refused[i]);
  }
  out.Begin("herald_sockets_refused_total", "counter",
            "Sockets closed before any WebSocket, by reason.");
  out.Sample({{"reason", "descriptors"}}, p.refused_descriptors);
  out.Sample({{"reason", "ip_open"}}, p.refused_ip_open);
  out.Sample({{"reason", "ip_rate"}}, p.refused_ip_rate);
  out.Sample({{"reason", "accept_failure"}}, p.accept_failures);
  out.Sample({{"reason", "http_error"}}, p.http_rejected);
  Counter(out, "herald_handshakes_evicted_total",
          "Stalled handshakes closed to make room for waiting connections.",
          p.evicted_handshakes);
}

void RenderDelivery(PrometheusText& out, const StatsSnapshot& s) {
  const push::PushStats& p = s.push;
  out.Begin("herald_events_published_total", "counter",
            "Events published through gRPC Publish and PublishStream.");
  for (const auto& [name, count] : s.events_by_name) {
    out.Sample({{"event", name}}, count);
  }
  Counter(out, "herald_frames_delivered_total",
          "Event frames queued to WebSocket connections.", p.frames_delivered);
  Counter(out, "herald_delivered_bytes_total",
          "Bytes of the event frames queued to connections.",
          p.bytes_delivered);
  Counter(out, "herald_slow_consumer_closes_total",
          "Connections closed with 4008 (send queue full).",
          p.slow_consumer_closes);
  Counter(out, "herald_ping_timeouts_total",
          "Connections closed with 4009 (silent past a ping interval).",
          p.ping_timeouts);
  Gauge(out, "herald_queue_bytes",
        "Bytes queued for connections that the kernel has not taken.",
        static_cast<double>(p.queue_bytes));
  out.Begin("herald_flush_queue_bytes", "histogram",
            "Bytes a connection holds when a flush starts its write.");
  out.Histogram({}, p.flush_queue_bytes);
  out.Begin("herald_publish_queued_seconds", "histogram",
            "From a published event's dispatch until it is queued on every "
            "connection.");
  out.Histogram({}, s.publish_latency);
}

// Cluster mode's registry: the cluster-wide counts from Redis (when it
// answered), and the node's link to the others.
void RenderCluster(PrometheusText& out, const StatsSnapshot& s) {
  const StatsSnapshot::Cluster& c = *s.cluster;
  if (c.counts_known) {
    Gauge(out, "herald_sessions", "Sessions in the cluster (Redis).",
          static_cast<double>(s.sessions));
    Gauge(out, "herald_memberships",
          "User-server memberships in the cluster (Redis).",
          static_cast<double>(s.memberships));
    Gauge(out, "herald_voice_grants", "Voice grants in the cluster (Redis).",
          static_cast<double>(s.voice_grants));
  }
  Gauge(out, "herald_cluster_redis_connected",
        "1 while both Redis connections are up, else 0.",
        c.redis_connected ? 1.0 : 0.0);
  out.Begin("herald_cluster_bus_messages_total", "counter",
            "Bus messages this node received (in) and published (out).");
  out.Sample({{"direction", "in"}}, c.messages_in);
  out.Sample({{"direction", "out"}}, c.messages_out);
  Counter(out, "herald_cluster_ack_timeouts_total",
          "Publishes answered before every receiving node acked "
          "(--cluster_ack_timeout_ms).",
          c.ack_timeouts);
  out.Begin("herald_cluster_subscribed_channels", "gauge",
            "Redis channels this node subscribes, by kind (server: "
            "herald:s:*, user: herald:u:*).");
  out.Sample({{"kind", "server"}}, static_cast<double>(c.server_channels));
  out.Sample({{"kind", "user"}}, static_cast<double>(c.user_channels));
}

void RenderRegistry(PrometheusText& out, const StatsSnapshot& s) {
  if (s.cluster) {
    RenderCluster(out, s);
    return;
  }
  Gauge(out, "herald_sessions",
        "Sessions in the registry (with expired ones "
        "not yet reaped).",
        static_cast<double>(s.sessions));
  Gauge(out, "herald_memberships", "User-server memberships.",
        static_cast<double>(s.memberships));
  Gauge(out, "herald_voice_grants", "Voice grants.",
        static_cast<double>(s.voice_grants));
  uint64_t users = 0;
  for (const auto& [key, ids] : s.voice) users += ids.size();
  Gauge(out, "herald_voice_channels",
        "Voice channels with at least one connected user.",
        static_cast<double>(s.voice.size()));
  Gauge(out, "herald_voice_users", "Users connected to a voice channel.",
        static_cast<double>(users));
  Gauge(out, "herald_registry_write_queue",
        "State changes waiting for the SQLite writer.",
        static_cast<double>(s.write_queue));
  out.Begin("herald_registry_commit_seconds", "histogram",
            "Duration of each SQLite transaction of the state file.");
  out.Histogram({}, s.commit_latency);
}

void RenderProcess(PrometheusText& out, const StatsSnapshot& s) {
  out.Begin("herald_grpc_calls_total", "counter",
            "gRPC calls answered, by method and status code.");
  for (const auto& [key, count] : s.grpc_calls) {
    out.Sample({{"method", key.first}, {"code", key.second}}, count);
  }
  Gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
        static_cast<double>(s.process.rss_bytes));
  Gauge(out, "process_open_fds", "Number of open file descriptors.",
        static_cast<double>(s.process.open_fds));
  out.Begin("process_cpu_seconds_total", "counter",
            "Total user and system CPU time spent in seconds.");
  out.Sample({}, s.process.cpu_seconds);
  Gauge(out, "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.", s.started_at);
  out.Begin("herald_build_info", "gauge", "herald's version and build.");
  out.Sample({{"version", s.version}, {"build", s.build}}, uint64_t{1});
}

// A finite double as JSON (shortest text that reads back the same).
void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void JsonDouble(JsonWriter& w, std::string_view key, double v) {
  w.Key(key);
  AppendJsonNumber(*w.RawValue(), v);
}

void JsonInt(JsonWriter& w, std::string_view key, uint64_t v) {
  w.Key(key);
  w.Int(static_cast<int64_t>(v));
}

std::string Iso8601(double unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// Appends `[v1,v2,...]` of ints.
void AppendIntArray(std::string& out, const std::vector<int64_t>& values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, values[i]);
  }
  out += ']';
}

}  // namespace

std::vector<RefusalCount> Refusals(const push::PushStats& p) {
  std::vector<RefusalCount> out;
  auto add = [&out](int code, const char* reason, uint64_t count) {
    if (count > 0) out.push_back({code, reason, count});
  };
  add(0, "over the descriptor budget", p.refused_descriptors);
  add(0, "over the per-IP connection cap", p.refused_ip_open);
  add(0, "over the per-IP connection rate", p.refused_ip_rate);
  add(0, "accept failed", p.accept_failures);
  add(0, "HTTP error response to the upgrade request", p.http_rejected);
  for (size_t i = 0; i < push::kRefusalCodes.size(); ++i) {
    add(push::kRefusalCodes[i] == 0 ? -1 : push::kRefusalCodes[i],
        kRefusalReasons[i], p.refused[i]);
  }
  return out;
}

std::string RenderMetrics(const StatsSnapshot& s) {
  PrometheusText out;
  RenderConnections(out, s.push);
  RenderDelivery(out, s);
  RenderRegistry(out, s);
  RenderProcess(out, s);
  return out.Take();
}

std::string RenderStatsJson(const StatsSnapshot& s) {
  const push::PushStats& p = s.push;
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("version");
  w.String(s.version);
  w.Key("build");
  w.String(s.build);
  w.Key("node");
  w.String(s.node);
  w.Key("started_at");
  w.String(Iso8601(s.started_at));
  JsonDouble(w, "uptime_s", s.uptime_s);

  uint64_t main = 0, voice = 0, wss = 0, ws = 0;
  for (size_t t = 0; t < push::kTransports; ++t) {
    main += p.open[0][t];
    voice += p.open[1][t];
    (t == 0 ? ws : wss) += p.open[0][t] + p.open[1][t];
  }
  w.Key("connections");
  w.BeginObject();
  JsonInt(w, "main", main);
  JsonInt(w, "voice", voice);
  JsonInt(w, "handshaking", p.handshaking);
  w.Key("by_transport");
  w.BeginObject();
  JsonInt(w, "wss", wss);
  JsonInt(w, "ws", ws);
  w.EndObject();
  w.EndObject();

  w.Key("totals");
  w.BeginObject();
  JsonInt(w, "accepted", p.accepted[0] + p.accepted[1]);
  JsonInt(w, "events_published", s.events_published);
  JsonInt(w, "frames_delivered", p.frames_delivered);
  JsonInt(w, "bytes_delivered", p.bytes_delivered);
  JsonInt(w, "slow_consumer_closes", p.slow_consumer_closes);
  JsonInt(w, "ping_timeouts", p.ping_timeouts);
  w.EndObject();

  w.Key("events_by_name");
  w.BeginObject();
  for (const auto& [name, count] : s.events_by_name) JsonInt(w, name, count);
  w.EndObject();

  std::string* refusals = (w.Key("refusals"), w.RawValue());
  *refusals += '[';
  bool first = true;
  for (const RefusalCount& r : Refusals(p)) {
    if (!first) *refusals += ',';
    first = false;
    JsonWriter item(refusals);
    item.BeginObject();
    JsonInt(item, "code", static_cast<uint64_t>(r.code < 0 ? 0 : r.code));
    item.Key("reason");
    item.String(r.reason);
    JsonInt(item, "count", r.count);
    item.EndObject();
  }
  *refusals += ']';

  w.Key("rates");
  w.BeginObject();
  JsonDouble(w, "events_per_s", s.events_per_s);
  JsonDouble(w, "deliveries_per_s", s.deliveries_per_s);
  w.EndObject();

  std::string* history = (w.Key("history"), w.RawValue());
  *history += '[';
  for (size_t i = 0; i < s.history.size(); ++i) {
    if (i > 0) *history += ',';
    const StatsSample& h = s.history[i];
    JsonWriter item(history);
    item.BeginObject();
    JsonInt(item, "t", static_cast<uint64_t>(h.t));
    JsonInt(item, "connections", h.connections);
    JsonDouble(item, "events_per_s", h.events_per_s);
    JsonDouble(item, "deliveries_per_s", h.deliveries_per_s);
    item.EndObject();
  }
  *history += ']';

  w.Key("registry");
  w.BeginObject();
  if (!s.cluster || s.cluster->counts_known) {
    JsonInt(w, "sessions", s.sessions);
    JsonInt(w, "memberships", s.memberships);
    JsonInt(w, "voice_grants", s.voice_grants);
  }
  w.EndObject();
  if (s.cluster) {
    const StatsSnapshot::Cluster& c = *s.cluster;
    w.Key("cluster");
    w.BeginObject();
    w.Key("redis_connected");
    *w.RawValue() += c.redis_connected ? "true" : "false";
    JsonInt(w, "bus_messages_in", c.messages_in);
    JsonInt(w, "bus_messages_out", c.messages_out);
    JsonInt(w, "ack_timeouts", c.ack_timeouts);
    JsonInt(w, "server_channels", c.server_channels);
    JsonInt(w, "user_channels", c.user_channels);
    w.EndObject();
  }

  std::string* voice_out = (w.Key("voice"), w.RawValue());
  *voice_out += '[';
  first = true;
  for (const auto& [key, users] : s.voice) {
    if (!first) *voice_out += ',';
    first = false;
    absl::StrAppend(voice_out, "{\"server_id\":", key.first,
                    ",\"channel_id\":", key.second, ",\"user_ids\":");
    AppendIntArray(*voice_out, users);
    *voice_out += '}';
  }
  *voice_out += ']';

  w.Key("process");
  w.BeginObject();
  JsonInt(w, "rss_bytes", s.process.rss_bytes);
  JsonInt(w, "open_fds", s.process.open_fds);
  JsonDouble(w, "cpu_seconds", s.process.cpu_seconds);
  w.EndObject();
  w.EndObject();
  return out;
}

}  // namespace herald::service
