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

}  // namespace
}  // namespace herald::service
