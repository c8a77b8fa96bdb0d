// heraldctl's pieces that need no server: flags, time parsing, the publish
// builder, request flags and the WebSocket endpoint.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"
#include "tools/heraldctl/cli.h"
#include "tools/heraldctl/event_builder.h"
#include "tools/heraldctl/flags.h"
#include "tools/heraldctl/grpc_client_auth.h"
#include "tools/heraldctl/grpc_flags.h"
#include "tools/heraldctl/message_flags.h"
#include "tools/heraldctl/time_parse.h"
#include "tools/heraldctl/ws_endpoint.h"

namespace herald::tools {
namespace {

using google::protobuf::Timestamp;

// 2024-12-04 18:36:14.045681+00, the seed's message_created time.
constexpr int64_t kSeedSeconds = 1733337374;
constexpr int32_t kSeedNanos = 45681000;

Timestamp MakeTimestamp(int64_t seconds, int32_t nanos) {
  Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

const Timestamp kNow = MakeTimestamp(1700000000, 123456789);

Flags MustParse(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args);
  EXPECT_TRUE(flags.ok()) << flags.status();
  return flags.ok() ? *flags : Flags();
}

absl::StatusOr<v1::PublishRequest> Build(const std::string& event,
                                         const std::vector<std::string>& args) {
  return EventBuilder(kNow).Build(event, MustParse(args));
}

// ---- Flags ----

TEST(FlagsTest, SplitsPositionalWordsAndFlags) {
  Flags flags = MustParse(
      {"publish", "--id=6", "message_created", "--text=a=b", "--insecure"});
  EXPECT_EQ(flags.positional(),
            (std::vector<std::string>{"publish", "message_created"}));
  EXPECT_EQ(*flags.GetInt("id"), 6);
  EXPECT_EQ(*flags.GetString("text"), "a=b");
  EXPECT_TRUE(*flags.GetBool("insecure"));
  EXPECT_FALSE(*flags.GetBool("absent"));
  EXPECT_EQ(*flags.GetInt("absent", 42), 42);
}

TEST(FlagsTest, DashHIsHelp) { EXPECT_TRUE(MustParse({"-h"}).Has("help")); }

TEST(FlagsTest, RejectsMalformedCommandLines) {
  EXPECT_FALSE(Flags::Parse({"--id=1", "--id=2"}).ok());
  EXPECT_FALSE(Flags::Parse({"-x"}).ok());
  EXPECT_FALSE(Flags::Parse({"--=1"}).ok());
  EXPECT_FALSE(Flags::Parse({"--"}).ok());
}

TEST(FlagsTest, ConvertsValuesAndNamesTheFlagOnError) {
  Flags flags = MustParse({"--n=-5", "--bad=1x", "--big=9223372036854775808",
                           "--bare", "--yes=yes", "--maybe=maybe"});
  EXPECT_EQ(*flags.GetInt("n"), -5);
  auto bad = flags.GetInt("bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "invalid value '1x' for --bad: expected an integer");
  EXPECT_FALSE(flags.GetInt("big").ok());
  auto bare = flags.GetInt("bare");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().message(),
            "flag --bare needs a value (--bare=VALUE)");
  EXPECT_TRUE(*flags.GetBool("yes"));
  EXPECT_FALSE(flags.GetBool("maybe").ok());
  EXPECT_FALSE(flags.GetIntInRange("n", 0, 0, 10).ok());
  EXPECT_EQ(*flags.GetIntInRange("absent", 7, 0, 10), 7);
}

TEST(FlagsTest, IntLists) {
  Flags flags =
      MustParse({"--a=1,2,3", "--b= 4 , 5", "--c=", "--d=1,,2", "--e=1,x"});
  EXPECT_EQ(*flags.GetIntList("a"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(*flags.GetIntList("b"), (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(flags.GetIntList("c")->empty());
  EXPECT_TRUE(flags.GetIntList("absent")->empty());
  EXPECT_FALSE(flags.GetIntList("d").ok());
  EXPECT_FALSE(flags.GetIntList("e").ok());
}

TEST(FlagsTest, CheckKnownAndWithout) {
  Flags flags = MustParse({"members", "get", "--user_id=1", "--grpc=x:1"});
  EXPECT_TRUE(flags.CheckKnown({"user_id", "grpc"}, "members get").ok());
  auto unknown = flags.CheckKnown({"user_id"}, "members get");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.message(),
            "unknown flag --grpc for 'members get' (see heraldctl help "
            "members)");
  Flags rest = flags.Without({"grpc"});
  EXPECT_FALSE(rest.Has("grpc"));
  EXPECT_TRUE(rest.Has("user_id"));
  EXPECT_EQ(rest.positional(), flags.positional());
}

// ---- ParseTime ----

TEST(ParseTimeTest, Rfc3339AndPostgresFormsOfTheSeedTime) {
  for (const char* text :
       {"2024-12-04T18:36:14.045681Z", "2024-12-04 18:36:14.045681+00",
        "2024-12-04t18:36:14.045681z", "2024-12-04T18:36:14.045681+00:00",
        "2024-12-04 18:36:14.045681", "2024-12-04T21:36:14.045681+03:00",
        "2024-12-04T13:06:14.045681-0530", "2024-12-04 10:36:14.045681-08"}) {
    auto ts = ParseTime(text, kNow);
    ASSERT_TRUE(ts.ok()) << text << ": " << ts.status();
    EXPECT_EQ(ts->seconds(), kSeedSeconds) << text;
    EXPECT_EQ(ts->nanos(), kSeedNanos) << text;
  }
}

TEST(ParseTimeTest, Fractions) {
  EXPECT_EQ(ParseTime("2025-01-11 01:05:03+00", kNow)->seconds(), 1736557503);
  EXPECT_EQ(ParseTime("2025-01-11 01:05:03+00", kNow)->nanos(), 0);
  EXPECT_EQ(ParseTime("2025-01-11 01:05:03.5+00", kNow)->nanos(), 500000000);
  EXPECT_EQ(ParseTime("2025-01-11T01:05:03.000000001Z", kNow)->nanos(), 1);
  EXPECT_EQ(ParseTime("2025-01-11T01:05:03.123456789Z", kNow)->nanos(),
            123456789);
  EXPECT_FALSE(ParseTime("2025-01-11T01:05:03.1234567891Z", kNow).ok());
  EXPECT_FALSE(ParseTime("2025-01-11T01:05:03.Z", kNow).ok());
}

TEST(ParseTimeTest, CalendarEdges) {
  EXPECT_EQ(ParseTime("1970-01-01T00:00:00Z", kNow)->seconds(), 0);
  EXPECT_EQ(ParseTime("2024-02-29T12:00:00Z", kNow)->seconds(), 1709208000);
  EXPECT_EQ(ParseTime("0001-01-01T00:00:00Z", kNow)->seconds(), -62135596800);
  EXPECT_EQ(ParseTime("9999-12-31T23:59:59Z", kNow)->seconds(), 253402300799);
  EXPECT_EQ(ParseTime("1969-12-31T23:59:59.5Z", kNow)->seconds(), -1);
  EXPECT_EQ(ParseTime("1969-12-31T23:59:59.5Z", kNow)->nanos(), 500000000);
}

TEST(ParseTimeTest, Now) {
  auto ts = ParseTime("now", kNow);
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->seconds(), kNow.seconds());
  EXPECT_EQ(ts->nanos(), kNow.nanos());
}

TEST(ParseTimeTest, RejectsWhatIsNotATime) {
  for (const char* text :
       {"", "yesterday", "2024-12-04", "2024-12-04T18:36Z",
        "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-04-31T00:00:00Z",
        "0000-01-01T00:00:00Z", "2024-12-04T24:00:00Z", "2024-12-04T23:60:00Z",
        "2024-12-04T23:59:60Z", "2024-12-04T18:36:14+24:00",
        "2024-12-04T18:36:14+05:", "2024-12-04T18:36:14Zjunk",
        "2024-12-04  18:36:14Z", "2024-12-04X18:36:14Z", "24-12-04T18:36:14Z",
        "1733337374"}) {
    EXPECT_FALSE(ParseTime(text, kNow).ok()) << text;
  }
  EXPECT_EQ(ParseTime("2023-02-29T00:00:00Z", kNow).status().message(),
            "invalid time '2023-02-29T00:00:00Z': no such date (expected "
            "2024-12-04T18:36:14.045681Z or '2024-12-04 18:36:14.045681+00')");
}

TEST(NowTimestampTest, IsRecentAndNormalized) {
  const Timestamp now = NowTimestamp();
  EXPECT_GT(now.seconds(), 1700000000);
  EXPECT_GE(now.nanos(), 0);
  EXPECT_LT(now.nanos(), 1000000000);
}

// ---- EventBuilder ----

TEST(EventBuilderTest, EveryEventOfTheApi) {
  EXPECT_EQ(EventBuilder::EventNames(),
            (std::vector<std::string>{
                "message_created", "message_edited", "message_deleted",
                "channel_created", "channel_edited", "channel_deleted",
                "server_edited", "server_deleted", "user_joined", "user_left",
                "user_joined_vc", "user_left_vc", "got_server_owner"}));
}

TEST(EventBuilderTest, MessageCreatedFromTheIssue) {
  auto request =
      Build("message_created", {"--id=6", "--server_id=1", "--channel_id=1",
                                "--author_id=1", "--text=its over guys"});
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_TRUE(request->has_message_created());
  const v1::MessageCreated& e = request->message_created();
  EXPECT_EQ(e.id(), 6);
  EXPECT_EQ(e.server_id(), 1);
  EXPECT_EQ(e.channel_id(), 1);
  EXPECT_EQ(e.author_id(), 1);
  EXPECT_EQ(e.text(), "its over guys");
  // sent and edited default to now.
  ASSERT_TRUE(e.has_sent());
  ASSERT_TRUE(e.has_edited());
  EXPECT_EQ(e.sent().seconds(), kNow.seconds());
  EXPECT_EQ(e.sent().nanos(), kNow.nanos());
  EXPECT_EQ(e.edited().seconds(), kNow.seconds());
  EXPECT_TRUE(request->visible_to().empty());
}

TEST(EventBuilderTest, ExplicitTimesInBothForms) {
  auto request = Build("message_created",
                       {"--id=6", "--sent=2024-12-04 18:36:14.045681+00",
                        "--edited=2024-12-04T18:36:14.045681Z"});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->message_created().sent().seconds(), kSeedSeconds);
  EXPECT_EQ(request->message_created().sent().nanos(), kSeedNanos);
  EXPECT_EQ(request->message_created().edited().seconds(), kSeedSeconds);

  auto edited = Build("message_edited",
                      {"--id=6", "--edited=2025-01-11 01:05:03.080518+00",
                       "--text=you_are_good_people"});
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->message_edited().edited().seconds(), 1736557503);
  EXPECT_EQ(edited->message_edited().edited().nanos(), 80518000);
  EXPECT_EQ(edited->message_edited().text(), "you_are_good_people");

  auto bad = Build("message_created", {"--sent=yesterday"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().substr(0, 30),
            "--sent: invalid time 'yesterda");
}

TEST(EventBuilderTest, ChannelTypes) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"text", 0},
      {"voice", 1},
      {"0", 0},
      {"1", 1},
      {"VOICE", 1},
      {"CHANNEL_TYPE_VOICE", 1},
      {"channel_type_text", 0},
      // Unknown numbers go through: herald refuses them by name.
      {"7", 7}};
  for (const auto& [flag, type] : cases) {
    auto request = Build("channel_created",
                         {"--id=7", "--server_id=1",
                          "--name=political_discussion", "--type=" + flag});
    ASSERT_TRUE(request.ok()) << flag << ": " << request.status();
    EXPECT_EQ(request->channel_created().type(), type) << flag;
    EXPECT_EQ(request->channel_created().name(), "political_discussion");
  }
  auto edited = Build("channel_edited", {"--id=7", "--type=voice"});
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(edited->channel_edited().type(), v1::CHANNEL_TYPE_VOICE);

  auto bad = Build("channel_created", {"--type=audio"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "invalid value 'audio' for --type: expected text|voice or a "
            "number");
}

TEST(EventBuilderTest, VisibleTo) {
  auto request = Build(
      "message_deleted",
      {"--id=8", "--channel_id=1", "--server_id=1", "--visible_to=1,2,3"});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(std::vector<int64_t>(request->visible_to().begin(),
                                 request->visible_to().end()),
            (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(Build("message_deleted", {"--visible_to=1;2"}).ok());
}

TEST(EventBuilderTest, GotServerOwnerTakesUserIdAndNoVisibleTo) {
  auto request = Build("got_server_owner", {"--id=1", "--user_id=5"});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->got_server_owner().id(), 1);
  EXPECT_EQ(request->got_server_owner().user_id(), 5);
  EXPECT_FALSE(
      Build("got_server_owner", {"--id=1", "--user_id=5", "--visible_to=5"})
          .ok());
}

TEST(EventBuilderTest, EveryEventBuildsWithItsOwnFlags) {
  struct Case {
    std::string event;
    std::vector<std::string> args;
    v1::PublishRequest::EventCase expected;
  };
  const std::vector<Case> cases = {
      {"channel_deleted",
       {"--id=7", "--server_id=1"},
       v1::PublishRequest::kChannelDeleted},
      {"server_edited",
       {"--id=1", "--name=speed_cameras_hotspots"},
       v1::PublishRequest::kServerEdited},
      {"server_deleted", {"--id=2"}, v1::PublishRequest::kServerDeleted},
      {"user_joined",
       {"--id=2", "--server_id=1"},
       v1::PublishRequest::kUserJoined},
      {"user_left", {"--id=1", "--server_id=1"}, v1::PublishRequest::kUserLeft},
      {"user_joined_vc",
       {"--id=2", "--server_id=1", "--channel_id=2"},
       v1::PublishRequest::kUserJoinedVc},
      {"user_left_vc",
       {"--id=2", "--server_id=1", "--channel_id=2"},
       v1::PublishRequest::kUserLeftVc},
  };
  for (const Case& c : cases) {
    auto request = Build(c.event, c.args);
    ASSERT_TRUE(request.ok()) << c.event << ": " << request.status();
    EXPECT_EQ(request->event_case(), c.expected) << c.event;
  }
  auto left = Build("user_left", {"--id=1", "--server_id=3"});
  EXPECT_EQ(left->user_left().server_id(), 3);
  auto vc =
      Build("user_joined_vc", {"--id=2", "--server_id=1", "--channel_id=9"});
  EXPECT_EQ(vc->user_joined_vc().channel_id(), 9);
}

TEST(EventBuilderTest, AbsentFieldsStayUnsetForHeraldToJudge) {
  auto request = Build("server_deleted", {});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_TRUE(request->has_server_deleted());
  EXPECT_EQ(request->server_deleted().id(), 0);

  auto negative = Build("message_deleted", {"--id=-3", "--text="});
  EXPECT_FALSE(negative.ok());  // message_deleted has no text
  negative = Build("message_deleted", {"--id=-3"});
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->message_deleted().id(), -3);

  auto empty_text = Build("message_edited", {"--id=1", "--text="});
  ASSERT_TRUE(empty_text.ok());
  EXPECT_EQ(empty_text->message_edited().text(), "");
}

TEST(EventBuilderTest, UsageErrors) {
  auto unknown_event = Build("message_sent", {});
  ASSERT_FALSE(unknown_event.ok());
  EXPECT_EQ(unknown_event.status().message().substr(0, 37),
            "unknown event 'message_sent' (one of ");

  auto unknown_flag = Build("message_deleted", {"--id=1", "--text=x"});
  ASSERT_FALSE(unknown_flag.ok());
  EXPECT_EQ(unknown_flag.status().message(),
            "unknown flag --text for 'publish message_deleted' (see heraldctl "
            "help publish)");

  auto bad_number = Build("message_deleted", {"--id=six"});
  ASSERT_FALSE(bad_number.ok());
  EXPECT_EQ(bad_number.status().message(),
            "invalid value 'six' for --id: expected an integer");

  EXPECT_FALSE(Build("message_created", {"--text"}).ok());
}

TEST(EventBuilderTest, FlagSynopsis) {
  EXPECT_EQ(EventBuilder::FlagSynopsis("channel_created"),
            "--id=INT --server_id=INT --name=TEXT --type=text|voice "
            "[--visible_to=1,2,3]");
  EXPECT_EQ(EventBuilder::FlagSynopsis("got_server_owner"),
            "--id=INT --user_id=INT");
  EXPECT_EQ(EventBuilder::FlagSynopsis("nope"), "");
}

// ---- MessageFlags (session, members, voice requests) ----

TEST(MessageFlagsTest, RequestsFromFlags) {
  const MessageFlags message_flags(kNow, /*timestamps_default_to_now=*/false);

  v1::OpenSessionRequest open;
  ASSERT_TRUE(
      message_flags.Fill(MustParse({"--token=T", "--user_id=3"}), open).ok());
  EXPECT_EQ(open.token(), "T");
  EXPECT_EQ(open.user_id(), 3);
  EXPECT_FALSE(open.has_expires_at());  // no default: the session lasts

  ASSERT_TRUE(
      message_flags
          .Fill(MustParse({"--expires_at=2024-12-04T18:36:14.045681Z"}), open)
          .ok());
  EXPECT_EQ(open.expires_at().seconds(), kSeedSeconds);

  v1::SetMembershipsRequest members;
  ASSERT_TRUE(message_flags
                  .Fill(MustParse({"--user_id=1", "--server_ids=1,2"}), members)
                  .ok());
  EXPECT_EQ(std::vector<int64_t>(members.server_ids().begin(),
                                 members.server_ids().end()),
            (std::vector<int64_t>{1, 2}));

  v1::JoinVoiceRequest join;
  ASSERT_TRUE(
      message_flags
          .Fill(MustParse({"--user_id=2", "--server_id=1", "--channel_id=2"}),
                join)
          .ok());
  EXPECT_EQ(join.channel_id(), 2);

  EXPECT_EQ(MessageFlags::FlagNames(*v1::JoinVoiceRequest::descriptor()),
            (std::vector<std::string>{"user_id", "server_id", "channel_id"}));
  EXPECT_EQ(MessageFlags::Synopsis(*v1::SetMembershipsRequest::descriptor()),
            "--user_id=INT --server_ids=1,2,3");
}

// ---- WsEndpoint ----

TEST(WsEndpointTest, DefaultsToTheLocalMainAndVoicePorts) {
  auto main = WsEndpoint::FromUrl("", "17d58d53-014e-4787-80c2-6518924d8d92",
                                  std::nullopt);
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_TRUE(main->tls);
  EXPECT_EQ(main->host, "127.0.0.1");
  EXPECT_TRUE(main->host_is_ip);
  EXPECT_EQ(main->port, "444");
  EXPECT_EQ(main->host_header, "127.0.0.1:444");
  EXPECT_EQ(main->target, "/?token=17d58d53-014e-4787-80c2-6518924d8d92");

  auto voice = WsEndpoint::FromUrl("wss://localhost", "t", 2);
  ASSERT_TRUE(voice.ok()) << voice.status();
  EXPECT_EQ(voice->host, "localhost");
  EXPECT_FALSE(voice->host_is_ip);
  EXPECT_EQ(voice->port, "445");
  EXPECT_EQ(voice->target, "/?token=t&channel=2");
}

TEST(WsEndpointTest, ExplicitUrls) {
  auto plain = WsEndpoint::FromUrl("ws://[::1]:8080/push", "t", std::nullopt);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "::1");
  EXPECT_TRUE(plain->host_is_ip);
  EXPECT_EQ(plain->port, "8080");
  EXPECT_EQ(plain->host_header, "[::1]:8080");
  EXPECT_EQ(plain->target, "/push?token=t");

  auto voice = WsEndpoint::FromUrl("wss://127.0.0.1:9445/", "t", 3);
  ASSERT_TRUE(voice.ok());
  EXPECT_EQ(voice->port, "9445");
  EXPECT_EQ(voice->target, "/?token=t&channel=3");
}

TEST(WsEndpointTest, EncodesTheToken) {
  auto endpoint =
      WsEndpoint::FromUrl("", "a b+c&d=e/\xC3\xA9~_.-", std::nullopt);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->target, "/?token=a%20b%2Bc%26d%3De%2F%C3%A9~_.-");
}

TEST(WsEndpointTest, RejectsOtherUrls) {
  for (const char* url : {"http://127.0.0.1:444", "127.0.0.1:444", "wss://",
                          "wss://h:444/?token=x", "wss://h:444/#f",
                          "wss://user@h:444", "not a url"}) {
    EXPECT_FALSE(WsEndpoint::FromUrl(url, "t", std::nullopt).ok()) << url;
  }
}

TEST(GrpcFlagsTest, ReadsTheCredentialFlags) {
  auto auth = ReadGrpcClientAuth(
      MustParse({"session", "open", "--grpc_ca=ca.pem", "--grpc_cert=c.pem",
                 "--grpc_key=k.pem", "--grpc_token_file=t"}));
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->ca_file, "ca.pem");
  EXPECT_EQ(auth->cert_file, "c.pem");
  EXPECT_EQ(auth->key_file, "k.pem");
  EXPECT_EQ(auth->token_file, "t");
  EXPECT_TRUE(auth->tls());

  auto none = ReadGrpcClientAuth(MustParse({"session", "open"}));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->tls());
  EXPECT_TRUE(none->token_file.empty());
  auto token_only = ReadGrpcClientAuth(MustParse({"--grpc_token_file=t"}));
  ASSERT_TRUE(token_only.ok());
  EXPECT_FALSE(token_only->tls());  // plaintext to a loopback herald
}

TEST(GrpcFlagsTest, UsageErrors) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--grpc_cert=c.pem"},
       "--grpc_cert and --grpc_key go together: give both or neither"},
      {{"--grpc_key=k.pem"},
       "--grpc_cert and --grpc_key go together: give both or neither"},
      {{"--grpc_ca="}, "--grpc_ca needs a FILE (--grpc_ca=FILE)"},
      {{"--grpc_token_file"},
       "flag --grpc_token_file needs a value (--grpc_token_file=VALUE)"},
  };
  for (const auto& [args, want] : cases) {
    auto auth = ReadGrpcClientAuth(MustParse(args));
    ASSERT_FALSE(auth.ok()) << args[0];
    EXPECT_EQ(auth.status().message(), want);
  }
}

TEST(GrpcFlagsTest, TokenFile) {
  const std::string path =
      testing::TempDir() + "heraldctl_token_" + std::to_string(getpid());
  FILE* f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  fputs("tok-123\n", f);
  fclose(f);
  auto token = ReadClientToken(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok-123");
  f = fopen(path.c_str(), "wb");
  fputs("\n", f);
  fclose(f);
  EXPECT_EQ(ReadClientToken(path).status().message(),
            "--grpc_token_file=" + path + ": holds no token");
  unlink(path.c_str());
  EXPECT_EQ(ReadClientToken(path).status().message(),
            "--grpc_token_file=" + path + ": No such file or directory");
}

// Every gRPC command takes the credential flags; a bad one is a usage error
// (status 2) before anything is sent.
TEST(GrpcFlagsTest, CommandsAcceptThemAndReportBadFiles) {
  const std::vector<std::vector<std::string>> commands = {
      {"session", "open", "--token=t", "--user_id=1"},
      {"publish", "got_server_owner", "--id=1", "--user_id=2"},
  };
  for (std::vector<std::string> args : commands) {
    args.push_back("--grpc_token_file=/nonexistent/token");
    std::ostringstream out, err;
    EXPECT_EQ(Cli(out, err).Run(args), kExitUsage) << args[0];
    EXPECT_EQ(err.str(),
              "heraldctl: --grpc_token_file=/nonexistent/token: No such file "
              "or directory\n");
    args.back() = "--grpc_ca=/nonexistent/ca.pem";
    std::ostringstream out2, err2;
    EXPECT_EQ(Cli(out2, err2).Run(args), kExitUsage) << args[0];
    EXPECT_EQ(err2.str(),
              "heraldctl: --grpc_ca=/nonexistent/ca.pem: No such file or "
              "directory\n");
  }
}

}  // namespace
}  // namespace herald::tools
