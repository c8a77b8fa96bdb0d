#include "service/options.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace herald::service {
namespace {

absl::StatusOr<HeraldOptions> Parse(std::vector<std::string> args) {
  return ParseOptions(args);
}

TEST(OptionsTest, DefaultsAreTheDocumentedOnes) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->push.main_port, 444);
  EXPECT_EQ(o->push.voice_port, 445);
  EXPECT_EQ(o->grpc_address, "127.0.0.1:50051");
  EXPECT_EQ(o->state, "herald.db");
  EXPECT_FALSE(o->push.plain);
  EXPECT_TRUE(o->push.tls_own_records);
  EXPECT_TRUE(o->push.tls_cert_file.empty());
  EXPECT_EQ(o->push.max_request_header_bytes, 8192u);
  EXPECT_TRUE(o->push.allowed_origins.empty());
}

TEST(OptionsTest, RequestHeaderLimit) {
  auto o = Parse({"--max_request_header_bytes=1024"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->push.max_request_header_bytes, 1024u);
  for (const char* bad :
       {"--max_request_header_bytes=255", "--max_request_header_bytes=1048577",
        "--max_request_header_bytes=x"}) {
    auto e = Parse({bad});
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(std::string(e.status().message())
                  .find("for --max_request_header_bytes: expected an integer "
                        "from 256 to 1048576"),
              std::string::npos)
        << e.status().message();
  }
}

TEST(OptionsTest, AllowedOrigins) {
  auto o =
      Parse({"--allowed_origins=https://a.example, https://b.example:8443,"
             "http://localhost:3000"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(
      o->push.allowed_origins,
      (std::vector<std::string>{"https://a.example", "https://b.example:8443",
                                "http://localhost:3000"}));
  auto off =
      Parse({"--allowed_origins=https://a.example", "--allowed_origins="});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(off->push.allowed_origins.empty());
  for (const char* bad :
       {"--allowed_origins=a.example", "--allowed_origins=https://a.example/",
        "--allowed_origins=https://a.example/path",
        "--allowed_origins=https://",
        "--allowed_origins=https://a.example,,https://b.example",
        "--allowed_origins=://a.example", "--allowed_origins=https://a b"}) {
    auto e = Parse({bad});
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(std::string(e.status().message())
                  .find("for --allowed_origins: expected comma-separated "
                        "origins like https://chat.example.com"),
              std::string::npos)
        << e.status().message();
  }
}

TEST(OptionsTest, ParsesEveryKind) {
  auto o = Parse({"--main_port=0", "--voice_port=9", "--grpc_address=[::1]:1",
                  "--state=/x/y.db", "--plain", "--threads=3",
                  "--ping_interval_ms=250", "--max_queue_bytes=65536",
                  "--tls_cert=c.pem", "--tls_key=k.pem", "--verbose=false",
                  "--tls_own_records=false"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->push.main_port, 0);
  EXPECT_EQ(o->push.voice_port, 9);
  EXPECT_EQ(o->grpc_address, "[::1]:1");
  EXPECT_EQ(o->state, "/x/y.db");
  EXPECT_TRUE(o->push.plain);
  EXPECT_EQ(o->push.threads, 3);
  EXPECT_EQ(o->push.ping_interval.count(), 250);
  EXPECT_EQ(o->push.max_queue_bytes, 65536u);
  EXPECT_EQ(o->push.tls_cert_file, "c.pem");
  EXPECT_FALSE(o->verbose);
  EXPECT_FALSE(o->push.tls_own_records);
}

TEST(OptionsTest, LogFlags) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->log_level, LogLevel::kInfo);
  EXPECT_EQ(o->log_format, LogFormat::kText);
  EXPECT_EQ(o->log_refusals_per_sec, 10u);
  o = Parse(
      {"--log_level=warning", "--log_format=json", "--log_refusals_per_sec=0"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->log_level, LogLevel::kWarning);
  EXPECT_EQ(o->log_format, LogFormat::kJson);
  EXPECT_EQ(o->log_refusals_per_sec, 0u);
  o = Parse({"--verbose"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->log_level, LogLevel::kDebug);
  o = Parse({"--verbose=false"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->log_level, LogLevel::kInfo);
  for (const char* bad :
       {"--log_level=warn", "--log_level=", "--log_format=xml",
        "--log_refusals_per_sec=-1", "--log_refusals_per_sec=1000001"}) {
    auto e = Parse({bad});
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Parse({"--log_format=yaml"}).status().message(),
            "invalid value 'yaml' for --log_format: expected text or json");
}

TEST(OptionsTest, HelpIsNotAnError) {
  auto o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_NE(Usage().find("--main_port"), std::string::npos);
}

TEST(OptionsTest, ErrorsNameTheFlag) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--main_port=abc"}, "invalid value 'abc' for --main_port"},
      {{"--main_port=70000"}, "invalid value '70000' for --main_port"},
      {{"--main_port=-1"}, "invalid value '-1' for --main_port"},
      {{"--nonexistent_flag=1"}, "unknown flag --nonexistent_flag"},
      {{"--state"}, "flag --state needs a value"},
      {{"--state="}, "invalid value '' for --state"},
      {{"--plain=maybe"}, "invalid value 'maybe' for --plain"},
      {{"positional"}, "unexpected argument 'positional'"},
      {{"--tls_cert=a.pem"}, "--tls_cert and --tls_key go together"},
      {{"--main_port=5", "--voice_port=5"}, "must differ"},
      {{"--ping_interval_ms=1"}, "invalid value '1' for --ping_interval_ms"},
      {{"--grpc_tls_cert=c.pem"}, "--grpc_tls_cert and --grpc_tls_key go"},
      {{"--grpc_client_ca=ca.pem"}, "--grpc_client_ca needs TLS"},
      {{"--grpc_token_file="}, "invalid value '' for --grpc_token_file"},
  };
  for (const auto& [args, want] : cases) {
    auto o = Parse(args);
    ASSERT_FALSE(o.ok()) << args[0];
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(o.status().message()).find(want), std::string::npos)
        << o.status().message();
    EXPECT_EQ(std::string(o.status().message()).find('\n'), std::string::npos);
  }
}

TEST(OptionsTest, GrpcAuthFlags) {
  auto o = Parse({"--grpc_tls_cert=c.pem", "--grpc_tls_key=k.pem",
                  "--grpc_client_ca=ca.pem", "--grpc_token_file=t"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->grpc_auth.tls_cert_file, "c.pem");
  EXPECT_EQ(o->grpc_auth.tls_key_file, "k.pem");
  EXPECT_EQ(o->grpc_auth.client_ca_file, "ca.pem");
  EXPECT_EQ(o->grpc_auth.token_file, "t");
  auto d = Parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->grpc_auth.tls());
  EXPECT_FALSE(d->grpc_auth.authenticates());
}

TEST(OptionsTest, LoopbackGrpcAddresses) {
  for (const char* a :
       {"127.0.0.1:50051", "127.1.2.3:0", "localhost:1", "[::1]:50051",
        "unix:/run/herald.sock", "unix-abstract:herald"}) {
    EXPECT_TRUE(IsLoopbackGrpcAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:0", "[::]:50051", "10.0.0.1:50051",
                        "128.0.0.1:1", "example.com:1", ":50051",
                        "[::ffff:127.0.0.1]:1", "localhost.evil:1"}) {
    EXPECT_FALSE(IsLoopbackGrpcAddress(a)) << a;
  }
}

TEST(OptionsTest, NonLoopbackGrpcNeedsCredentials) {
  auto o = Parse({"--grpc_address=0.0.0.0:0"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(std::string(o.status().message()),
            "refusing to serve the gRPC API on 0.0.0.0:0 without "
            "credentials: anyone who can reach it could open sessions and "
            "publish. Give --grpc_tls_cert=FILE --grpc_tls_key=FILE with "
            "--grpc_client_ca=FILE (mutual TLS) or --grpc_token_file=FILE "
            "(bearer token), or bind a loopback --grpc_address");
  // TLS alone authenticates nobody.
  EXPECT_FALSE(Parse({"--grpc_address=0.0.0.0:0", "--grpc_tls_cert=c",
                      "--grpc_tls_key=k"})
                   .ok());
  auto clear = Parse({"--grpc_address=0.0.0.0:0", "--grpc_token_file=t"});
  ASSERT_FALSE(clear.ok());
  EXPECT_NE(std::string(clear.status().message())
                .find("refusing to send the gRPC bearer token in clear"),
            std::string::npos);
  for (std::vector<std::string> ok :
       {std::vector<std::string>{"--grpc_address=0.0.0.0:0",
                                 "--grpc_tls_cert=c", "--grpc_tls_key=k",
                                 "--grpc_client_ca=ca"},
        {"--grpc_address=0.0.0.0:0", "--grpc_tls_cert=c", "--grpc_tls_key=k",
         "--grpc_token_file=t"},
        {"--grpc_address=127.0.0.1:0", "--grpc_token_file=t"},
        {"--grpc_address=127.0.0.1:0", "--grpc_tls_cert=c",
         "--grpc_tls_key=k"}}) {
    EXPECT_TRUE(Parse(ok).ok()) << ok[1];
  }
}

}  // namespace
}  // namespace herald::service

namespace herald::service {
namespace {

TEST(OptionsTest, AdmissionLimitsAndWhetherTheBudgetIsGiven) {
  auto d = Parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->max_connections_given);
  EXPECT_FALSE(d->max_handshaking_given);
  EXPECT_EQ(d->push.fd_reserve, 256u);
  EXPECT_EQ(d->push.max_connections_per_ip, 1000u);
  EXPECT_EQ(d->push.max_new_connections_per_ip_per_sec, 100u);
  EXPECT_EQ(d->push.max_connections_per_user, 64u);
  auto o = Parse({"--max_connections=10", "--max_handshaking=5",
                  "--fd_reserve=0", "--max_connections_per_ip=0",
                  "--max_new_connections_per_ip_per_sec=7",
                  "--max_connections_per_user=3"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->max_connections_given);
  EXPECT_TRUE(o->max_handshaking_given);
  EXPECT_EQ(o->push.max_connections, 10u);
  EXPECT_EQ(o->push.max_handshaking, 5u);
  EXPECT_EQ(o->push.fd_reserve, 0u);
  EXPECT_EQ(o->push.max_connections_per_ip, 0u);
  EXPECT_EQ(o->push.max_new_connections_per_ip_per_sec, 7u);
  EXPECT_EQ(o->push.max_connections_per_user, 3u);
  EXPECT_FALSE(Parse({"--max_handshaking=0"}).ok());
}

TEST(OptionsTest, HandshakeEvictAfter) {
  auto d = Parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->push.handshake_evict_after, std::chrono::milliseconds(2000));
  auto o = Parse({"--handshake_evict_after_ms=150"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->push.handshake_evict_after, std::chrono::milliseconds(150));
  EXPECT_FALSE(Parse({"--handshake_evict_after_ms=5"}).ok());
}

TEST(OptionsTest, DrainDelay) {
  auto d = Parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->drain_delay, std::chrono::milliseconds(0));
  auto o = Parse({"--drain_delay_ms=1500"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->drain_delay, std::chrono::milliseconds(1500));
  EXPECT_TRUE(Parse({"--drain_delay_ms=60000"}).ok());
  auto big = Parse({"--drain_delay_ms=60001"});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(),
            "invalid value '60001' for --drain_delay_ms: expected "
            "milliseconds from 0 to 60000");
  EXPECT_FALSE(Parse({"--drain_delay_ms=-1"}).ok());
}

TEST(OptionsTest, ClusterFlags) {
  auto d = Parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->cluster());
  EXPECT_EQ(d->cluster_ack_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(d->cluster_node_ttl, std::chrono::milliseconds(3000));
  EXPECT_EQ(d->redis_timeout, std::chrono::milliseconds(1000));
  auto o = Parse({"--redis=redis://:pw@127.0.0.1:6380/2",
                  "--cluster_ack_timeout_ms=500", "--cluster_node_ttl_ms=2000",
                  "--redis_timeout_ms=250"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->cluster());
  EXPECT_EQ(o->redis, "redis://:pw@127.0.0.1:6380/2");
  EXPECT_EQ(o->cluster_ack_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(o->cluster_node_ttl, std::chrono::milliseconds(2000));
  EXPECT_EQ(o->redis_timeout, std::chrono::milliseconds(250));
  EXPECT_TRUE(Parse({"--redis=unix:///run/redis.sock?db=1"}).ok());
  // Empty: off.
  auto off = Parse({"--redis="});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->cluster());
  // The URL parser's own message.
  auto bad = Parse({"--redis=http://example.com"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("--redis: ", 0), 0u)
      << bad.status().message();
  EXPECT_FALSE(Parse({"--cluster_ack_timeout_ms=0"}).ok());
  EXPECT_FALSE(Parse({"--cluster_node_ttl_ms=1000"}).ok());
  EXPECT_FALSE(Parse({"--redis_timeout_ms=5"}).ok());
}

}  // namespace
}  // namespace herald::service
