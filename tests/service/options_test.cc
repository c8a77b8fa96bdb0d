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
