// heraldctl's operator commands (conns, kick, stats) without a server: the
// command line's usage errors, the help text, and how responses print.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "herald/v1/admin.pb.h"
#include "tools/heraldctl/admin_format.h"
#include "tools/heraldctl/cli.h"

namespace herald::tools {
namespace {

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

Outcome RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int status = Cli(out, err).Run(args);
  return {status, out.str(), err.str()};
}

google::protobuf::Timestamp At(int64_t seconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  return ts;
}

TEST(AdminCliTest, UsageErrorsBeforeAnythingIsSent) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"conns"}, "conns needs a USER_ID (see heraldctl help conns)"},
      {{"kick"}, "kick needs a USER_ID (see heraldctl help kick)"},
      {{"conns", "x"}, "USER_ID must be a positive integer, not 'x'"},
      {{"conns", "0"}, "USER_ID must be a positive integer, not '0'"},
      {{"kick", "-4"}, "unknown option '-4' (flags are --name=value)"},
      {{"kick", "9999999999999999999"},
       "USER_ID must be a positive integer, not '9999999999999999999'"},
      {{"conns", "1", "2"}, "unexpected argument '2'"},
      {{"stats", "1"}, "unexpected argument '1'"},
      {{"conns", "1", "--code=4000"},
       "unknown flag --code for 'conns' (see heraldctl help conns)"},
      {{"stats", "--connection=1"},
       "unknown flag --connection for 'stats' (see heraldctl help stats)"},
      {{"kick", "1", "--code=x"}, ""},
      {{"kick", "1", "--code=-1"}, ""},
      {{"kick", "1", "--connection=-1"}, ""},
      {{"stats", "--json=maybe"}, ""},
  };
  for (const auto& [args, message] : cases) {
    const Outcome o = RunCli(args);
    EXPECT_EQ(o.status, kExitUsage) << args[0] << " " << o.err;
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(o.err.rfind("heraldctl: ", 0), 0u) << o.err;
    if (!message.empty()) EXPECT_EQ(o.err, "heraldctl: " + message + "\n");
  }
}

TEST(AdminCliTest, FlagErrorsNameTheFlag) {
  EXPECT_NE(RunCli({"kick", "1", "--code=x"}).err.find("--code"),
            std::string::npos);
  EXPECT_NE(RunCli({"kick", "1", "--connection=-1"}).err.find("--connection"),
            std::string::npos);
  EXPECT_NE(RunCli({"stats", "--grpc_token_file=/nonexistent/t"})
                .err.find("--grpc_token_file=/nonexistent/t"),
            std::string::npos);
}

TEST(AdminCliTest, Help) {
  for (const char* topic : {"conns", "kick", "stats"}) {
    const Outcome o = RunCli({"help", topic});
    EXPECT_EQ(o.status, kExitOk);
    EXPECT_NE(o.out.find("heraldctl conns USER_ID [--json]"),
              std::string::npos);
    EXPECT_NE(o.out.find("heraldctl kick USER_ID [--connection=ID] "
                         "[--code=4000] [--reason=TEXT]"),
              std::string::npos);
    EXPECT_NE(o.out.find("--grpc_token_file=FILE"), std::string::npos);
    EXPECT_EQ(RunCli({topic, "--help"}).out, o.out);
  }
  const Outcome main = RunCli({"--help"});
  EXPECT_NE(main.out.find("  conns USER_ID "), std::string::npos);
  EXPECT_NE(main.out.find("  kick USER_ID "), std::string::npos);
  EXPECT_NE(main.out.find("  stats "), std::string::npos);
}

TEST(AdminFormatTest, ConnectionTable) {
  v1::ListConnectionsResponse r;
  auto* a = r.add_connections();
  a->set_connection_id(256);
  a->set_socket(v1::SOCKET_MAIN);
  a->set_peer_address("127.0.0.1:50000");
  a->set_transport("wss");
  a->set_queue_bytes(0);
  *a->mutable_connected_since() = At(1764630000);
  a->set_node("n1");
  auto* b = r.add_connections();
  b->set_connection_id(1025);
  b->set_socket(v1::SOCKET_VOICE);
  b->set_channel_id(77);
  b->set_peer_address("[::1]:4");
  b->set_transport("ws");
  b->set_queue_bytes(123456);
  *b->mutable_connected_since() = At(1764630061);
  b->set_node("n1");
  EXPECT_EQ(FormatConnections(r),
            "ID    SOCKET  CHANNEL  PEER             TRANSPORT  QUEUE   "
            "SINCE                 NODE\n"
            "256   main    -        127.0.0.1:50000  wss        0       "
            "2025-12-01T23:00:00Z  n1\n"
            "1025  voice   77       [::1]:4          ws         123456  "
            "2025-12-01T23:01:01Z  n1\n");
  r.set_truncated(true);
  EXPECT_EQ(FormatConnections(r).substr(FormatConnections(r).rfind('(')),
            "(truncated: the user has more connections)\n");
  EXPECT_EQ(FormatConnections(v1::ListConnectionsResponse()),
            "no connections\n");
}

TEST(AdminFormatTest, StatsTable) {
  v1::GetStatsResponse s;
  s.set_node("n1");
  s.set_version("0.1.0");
  s.set_build("Dec  1 2026");
  *s.mutable_started_at() = At(1764630000);
  s.set_uptime_s(12.5);
  s.mutable_connections()->set_main(3);
  s.mutable_connections()->set_voice(1);
  (*s.mutable_connections()->mutable_by_transport())["wss"] = 4;
  (*s.mutable_connections()->mutable_by_transport())["ws"] = 0;
  (*s.mutable_events_by_name())["user_joined"] = 1;
  (*s.mutable_events_by_name())["message_created"] = 4;
  auto* refusal = s.add_refusals();
  refusal->set_code(4001);
  refusal->set_reason("unknown or expired token");
  refusal->set_count(2);
  auto* voice = s.add_voice();
  voice->set_server_id(1);
  voice->set_channel_id(2);
  voice->add_user_ids(7);
  voice->add_user_ids(9);
  s.mutable_process()->set_rss_bytes(12345678);
  const std::string text = FormatStats(s);
  // Rows are `name  value`, the values aligned in one column.
  std::map<std::string, std::string> rows;
  size_t value_column = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t gap = line.find("  ");
    ASSERT_NE(gap, absl::string_view::npos) << line;
    const size_t value = line.find_first_not_of(' ', gap);
    if (value_column == 0) value_column = value;
    EXPECT_EQ(value, value_column) << line;
    rows[std::string(line.substr(0, gap))] = std::string(line.substr(value));
  }
  const std::map<std::string, std::string> expected = {
      {"node", "n1"},
      {"version", "0.1.0 (Dec  1 2026)"},
      {"started_at", "2025-12-01T23:00:00Z"},
      {"uptime_s", "12.50"},
      {"connections.main", "3"},
      {"connections.voice", "1"},
      {"connections.ws", "0"},
      {"connections.wss", "4"},
      {"events.message_created", "4"},
      {"events.user_joined", "1"},
      {"refused.4001 unknown or expired token", "2"},
      {"voice.server=1.channel=2", "users=7,9"},
      {"process.rss_bytes", "12345678"},
      {"totals.accepted", "0"},
  };
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(rows[name], value) << name << "\n" << text;
  }
  // Maps print sorted: the output does not depend on hash order.
  EXPECT_LT(text.find("events.message_created"),
            text.find("events.user_joined"));
  EXPECT_LT(text.find("connections.ws "), text.find("connections.wss"));
}

TEST(AdminFormatTest, JsonLine) {
  v1::DisconnectResponse r;
  EXPECT_EQ(ToJsonLine(r), "{\"disconnected\":0}\n");
  r.set_disconnected(2);
  EXPECT_EQ(ToJsonLine(r), "{\"disconnected\":2}\n");
  v1::ListConnectionsResponse list;
  list.add_connections()->set_connection_id(5);
  const std::string json = ToJsonLine(list);
  EXPECT_NE(json.find("\"connection_id\":\"5\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"truncated\":false"), std::string::npos) << json;
  EXPECT_EQ(json.find('\n'), json.size() - 1);
}

}  // namespace
}  // namespace herald::tools
