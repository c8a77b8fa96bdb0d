#include "service/stats_render.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "push/worker_stats.h"

namespace herald::service {
namespace {

StatsSnapshot Example() {
  StatsSnapshot s;
  s.version = "0.1.0";
  s.build = "gcc test";
  s.node = "node-a";
  s.started_at = 1764630000;  // 2025-12-01T23:00:00Z
  s.uptime_s = 12.5;
  s.push.open[0][2] = 3;  // main, TLS 1.3
  s.push.open[1][1] = 1;  // voice, TLS 1.2
  s.push.accepted = {7, 2};
  s.push.refused[push::RefusalSlot(4001)] = 2;
  s.push.refused_ip_rate = 1;
  s.push.frames_delivered = 12;
  s.push.bytes_delivered = 1400;
  s.push.handshaking = 1;
  s.events_published = 5;
  s.events_by_name = {{"message_created", 4}, {"user_joined", 1}};
  s.sessions = 3;
  s.memberships = 6;
  s.voice_grants = 1;
  s.voice[{1, 2}] = {7, 9};
  s.process = {.rss_bytes = 12345678, .open_fds = 40, .cpu_seconds = 1.5};
  s.events_per_s = 2;
  s.deliveries_per_s = 0.5;
  s.history = {{1764630000, 4, 0, 0}, {1764630001, 4, 2, 0.5}};
  return s;
}

TEST(StatsRenderTest, JsonSchema) {
  EXPECT_EQ(
      RenderStatsJson(Example()),
      "{\"version\":\"0.1.0\",\"build\":\"gcc test\",\"node\":\"node-a\","
      "\"started_at\":\"2025-12-01T23:00:00Z\",\"uptime_s\":12.5,"
      "\"connections\":{\"main\":3,\"voice\":1,\"handshaking\":1,"
      "\"by_transport\":{\"wss\":4,\"ws\":0}},"
      "\"totals\":{\"accepted\":9,\"events_published\":5,"
      "\"frames_delivered\":12,\"bytes_delivered\":1400,"
      "\"slow_consumer_closes\":0,\"ping_timeouts\":0},"
      "\"events_by_name\":{\"message_created\":4,\"user_joined\":1},"
      "\"refusals\":[{\"code\":0,\"reason\":\"over the per-IP connection "
      "rate\",\"count\":1},{\"code\":4001,\"reason\":\"unknown or expired "
      "token\",\"count\":2}],"
      "\"rates\":{\"events_per_s\":2,\"deliveries_per_s\":0.5},"
      "\"history\":[{\"t\":1764630000,\"connections\":4,\"events_per_s\":0,"
      "\"deliveries_per_s\":0},{\"t\":1764630001,\"connections\":4,"
      "\"events_per_s\":2,\"deliveries_per_s\":0.5}],"
      "\"registry\":{\"sessions\":3,\"memberships\":6,\"voice_grants\":1},"
      "\"voice\":[{\"server_id\":1,\"channel_id\":2,\"user_ids\":[7,9]}],"
      "\"process\":{\"rss_bytes\":12345678,\"open_fds\":40,"
      "\"cpu_seconds\":1.5}}");
}

TEST(StatsRenderTest, TryAgainLaterHasItsOwnSlot) {
  // 1013: an admission the gate did not answer within the handshake
  // timeout (push::kCloseTryAgainLater).
  StatsSnapshot s;
  s.push.refused[push::RefusalSlot(1013)] = 3;
  EXPECT_NE(push::RefusalSlot(1013), push::RefusalSlot(1));  // not "other"
  EXPECT_NE(RenderStatsJson(s).find("\"refusals\":[{\"code\":1013,"
                                    "\"reason\":\"try again later\","
                                    "\"count\":3}]"),
            std::string::npos);
  EXPECT_NE(RenderMetrics(s).find(
                "\nherald_connections_refused_total{code=\"1013\"} 3\n"),
            std::string::npos);
}

TEST(StatsRenderTest, EmptyListsAreEmptyArrays) {
  StatsSnapshot s;
  const std::string json = RenderStatsJson(s);
  EXPECT_NE(json.find("\"refusals\":[]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"history\":[]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"voice\":[]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"events_by_name\":{}"), std::string::npos) << json;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(StatsRenderTest, MetricsSeries) {
  const std::string m = RenderMetrics(Example());
  EXPECT_TRUE(Has(m,
                  "herald_connections{socket=\"main\",transport=\"wss\","
                  "tls_version=\"TLSv1.3\"} 3"))
      << m;
  EXPECT_TRUE(Has(m,
                  "herald_connections{socket=\"voice\",transport=\"wss\","
                  "tls_version=\"TLSv1.2\"} 1"));
  // A TLS server shows no ws series.
  EXPECT_EQ(m.find("transport=\"ws\""), std::string::npos);
  EXPECT_TRUE(Has(m, "herald_connections_accepted_total{socket=\"main\"} 7"));
  EXPECT_TRUE(Has(m, "herald_connections_refused_total{code=\"4001\"} 2"));
  EXPECT_TRUE(Has(m, "herald_connections_refused_total{code=\"4029\"} 0"));
  EXPECT_TRUE(Has(m, "herald_sockets_refused_total{reason=\"ip_rate\"} 1"));
  EXPECT_TRUE(
      Has(m, "herald_events_published_total{event=\"message_created\"} 4"));
  EXPECT_TRUE(Has(m, "herald_frames_delivered_total 12"));
  EXPECT_TRUE(Has(m, "herald_delivered_bytes_total 1400"));
  EXPECT_TRUE(Has(m, "herald_voice_channels 1"));
  EXPECT_TRUE(Has(m, "herald_voice_users 2"));
  EXPECT_TRUE(Has(m, "process_resident_memory_bytes 12345678"));
  EXPECT_TRUE(Has(m, "process_cpu_seconds_total 1.5"));
  EXPECT_TRUE(Has(m, "process_start_time_seconds 1764630000"));
  EXPECT_TRUE(
      Has(m, "herald_build_info{version=\"0.1.0\",build=\"gcc test\"} 1"));
  EXPECT_TRUE(Has(m, "herald_publish_queued_seconds_bucket{le=\"+Inf\"} 0"));
  EXPECT_EQ(m.back(), '\n');
}

TEST(StatsRenderTest, ClusterModeShowsTheClusterFamilies) {
  StatsSnapshot s = Example();
  // One process: none of them.
  EXPECT_EQ(RenderMetrics(s).find("herald_cluster_"), std::string::npos);
  s.cluster = StatsSnapshot::Cluster{.redis_connected = true,
                                     .messages_in = 9,
                                     .messages_out = 4,
                                     .ack_timeouts = 1,
                                     .server_channels = 3,
                                     .user_channels = 2,
                                     .counts_known = true};
  s.sessions = 5;
  s.memberships = 6;
  s.voice_grants = 7;
  std::string m = RenderMetrics(s);
  EXPECT_TRUE(Has(m, "herald_cluster_redis_connected 1")) << m;
  EXPECT_TRUE(Has(m, "herald_cluster_bus_messages_total{direction=\"in\"} 9"));
  EXPECT_TRUE(Has(m, "herald_cluster_bus_messages_total{direction=\"out\"} 4"));
  EXPECT_TRUE(Has(m, "herald_cluster_ack_timeouts_total 1"));
  EXPECT_TRUE(Has(m, "herald_cluster_subscribed_channels{kind=\"server\"} 3"));
  EXPECT_TRUE(Has(m, "herald_cluster_subscribed_channels{kind=\"user\"} 2"));
  EXPECT_TRUE(Has(m, "herald_sessions 5"));
  EXPECT_TRUE(Has(m, "herald_memberships 6"));
  EXPECT_TRUE(Has(m, "herald_voice_grants 7"));
  // No SQLite, no node-local roster.
  EXPECT_EQ(m.find("herald_registry_"), std::string::npos);
  EXPECT_EQ(m.find("herald_voice_users"), std::string::npos);
  const std::string json = RenderStatsJson(s);
  EXPECT_NE(json.find("\"cluster\":{\"redis_connected\":true,"
                      "\"bus_messages_in\":9"),
            std::string::npos)
      << json;
  // Redis down: no counts rather than wrong ones.
  s.cluster->redis_connected = false;
  s.cluster->counts_known = false;
  m = RenderMetrics(s);
  EXPECT_TRUE(Has(m, "herald_cluster_redis_connected 0"));
  EXPECT_EQ(m.find("herald_sessions"), std::string::npos);
  EXPECT_NE(RenderStatsJson(s).find("\"registry\":{}"), std::string::npos);
}

TEST(StatsRenderTest, PlainServerShowsWs) {
  StatsSnapshot s = Example();
  s.push = {};
  s.push.plain = true;
  s.push.open[0][0] = 2;
  const std::string m = RenderMetrics(s);
  EXPECT_TRUE(Has(m,
                  "herald_connections{socket=\"main\",transport=\"ws\","
                  "tls_version=\"none\"} 2"))
      << m;
  EXPECT_EQ(m.find("TLSv1.3"), std::string::npos);
  EXPECT_NE(RenderStatsJson(s).find("\"by_transport\":{\"wss\":0,\"ws\":2}"),
            std::string::npos);
}

// promtool (Debian's prometheus package) parses and lints the text: no
// problems, exit 0. Skipped only on a machine without promtool (a build
// made outside tools/install-deps); install-deps installs it, so CI runs it.
TEST(StatsRenderTest, PromtoolAcceptsMetrics) {
  constexpr const char* kPromtool = "/usr/bin/promtool";
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << "no " << kPromtool;
  StatsSnapshot s = Example();
  s.grpc_calls[{"herald.v1.Herald/Publish", "OK"}] = 3;
  s.publish_latency.bounds = {0.001, 0.01};
  s.publish_latency.counts = {1, 1, 0};
  s.publish_latency.count = 2;
  s.publish_latency.sum = 0.0055;
  const std::string path =
      ::testing::TempDir() + "/herald_metrics_" + std::to_string(getpid());
  std::ofstream(path) << RenderMetrics(s);
  const std::string cmd =
      std::string(kPromtool) + " check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) output.append(buf, n);
  const int status = pclose(p);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace herald::service
