#include "tools/heraldctl/cli.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "herald/v1/admin.grpc.pb.h"
#include "herald/v1/herald.grpc.pb.h"
#include "tools/heraldctl/admin_commands.h"
#include "tools/heraldctl/event_builder.h"
#include "tools/heraldctl/grpc_client_auth.h"
#include "tools/heraldctl/grpc_commands.h"
#include "tools/heraldctl/grpc_flags.h"
#include "tools/heraldctl/message_flags.h"
#include "tools/heraldctl/tail_client.h"
#include "tools/heraldctl/time_parse.h"
#include "tools/heraldctl/usage.h"
#include "tools/heraldctl/ws_endpoint.h"

namespace herald::tools {
namespace {

constexpr char kGrpcFlag[] = "grpc";
constexpr char kTimeoutFlag[] = "timeout_ms";
constexpr char kDefaultGrpcAddress[] = "127.0.0.1:50051";
constexpr int64_t kDefaultTimeoutMs = 5000;
constexpr int64_t kMaxTimeoutMs = 24 * 3600 * 1000;
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

absl::Status UsageError(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

// Fails on positional words beyond the first `expected`.
absl::Status CheckNoExtraWords(const Flags& flags, size_t expected) {
  if (flags.positional().size() <= expected) return absl::OkStatus();
  return UsageError(
      absl::StrCat("unexpected argument '", flags.positional()[expected], "'"));
}

absl::StatusOr<std::chrono::milliseconds> ReadTimeout(const Flags& flags) {
  auto ms =
      flags.GetIntInRange(kTimeoutFlag, kDefaultTimeoutMs, 1, kMaxTimeoutMs);
  if (!ms.ok()) return ms.status();
  return std::chrono::milliseconds(*ms);
}

// Reads --grpc and the credential flags; the channel connects on the
// first call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Flags& flags) {
  auto address = flags.GetString(kGrpcFlag, kDefaultGrpcAddress);
  if (!address.ok()) return address.status();
  if (address->empty()) return UsageError("--grpc needs HOST:PORT");
  auto auth = ReadGrpcClientAuth(flags);
  if (!auth.ok()) return auth.status();
  return CreateHeraldChannel(*address, *auth);
}

// Reads --grpc, --timeout_ms and the credential flags.
absl::StatusOr<GrpcCommands> ConnectGrpc(const Flags& flags, std::ostream& out,
                                         std::ostream& err) {
  auto timeout = ReadTimeout(flags);
  if (!timeout.ok()) return timeout.status();
  auto channel = OpenChannel(flags);
  if (!channel.ok()) return channel.status();
  return GrpcCommands(v1::Herald::NewStub(*std::move(channel)), *timeout, out,
                      err);
}

// The same for the operator API; --json prints responses as JSON.
absl::StatusOr<AdminCommands> ConnectAdmin(const Flags& flags,
                                           std::ostream& out,
                                           std::ostream& err) {
  auto timeout = ReadTimeout(flags);
  if (!timeout.ok()) return timeout.status();
  auto json = flags.GetBool("json");
  if (!json.ok()) return json.status();
  auto channel = OpenChannel(flags);
  if (!channel.ok()) return channel.status();
  return AdminCommands(v1::HeraldAdmin::NewStub(*std::move(channel)), *timeout,
                       *json, out, err);
}

bool IsAdminCommand(std::string_view word) {
  return word == "conns" || word == "kick" || word == "stats";
}

// The USER_ID word of conns and kick.
absl::StatusOr<int64_t> ReadUserId(const Flags& flags) {
  const std::string& command = flags.positional()[0];
  if (flags.positional().size() < 2) {
    return UsageError(absl::StrCat(command,
                                   " needs a USER_ID (see heraldctl "
                                   "help ",
                                   command, ")"));
  }
  const std::string& word = flags.positional()[1];
  int64_t user_id = 0;
  if (!absl::SimpleAtoi(word, &user_id) || user_id <= 0) {
    return UsageError(
        absl::StrCat("USER_ID must be a positive integer, not '", word, "'"));
  }
  return user_id;
}

// A `GROUP VERB` command making one call; its flags are the fields of the
// request message (plus --grpc and --timeout_ms).
struct RpcCommand {
  using Call = std::function<int(GrpcCommands&)>;

  std::string_view group;
  std::string_view verb;
  const google::protobuf::Descriptor* request_type;
  // Reads the request from the flags; returns the call to make with it.
  std::function<absl::StatusOr<Call>(const Flags&)> prepare;
};

template <typename Request>
RpcCommand MakeRpcCommand(std::string_view group, std::string_view verb,
                          int (GrpcCommands::*method)(const Request&)) {
  return RpcCommand{
      group, verb, Request::descriptor(),
      [method](const Flags& flags) -> absl::StatusOr<RpcCommand::Call> {
        Request request;
        const MessageFlags message_flags(NowTimestamp(),
                                         /*timestamps_default_to_now=*/false);
        if (absl::Status status = message_flags.Fill(flags, request);
            !status.ok()) {
          return status;
        }
        return [method, request](GrpcCommands& commands) {
          return (commands.*method)(request);
        };
      }};
}

const std::vector<RpcCommand>& RpcCommands() {
  static const auto* const kCommands = new std::vector<RpcCommand>{
      MakeRpcCommand("session", "open", &GrpcCommands::OpenSession),
      MakeRpcCommand("session", "close", &GrpcCommands::CloseSession),
      MakeRpcCommand("members", "set", &GrpcCommands::SetMemberships),
      MakeRpcCommand("members", "get", &GrpcCommands::GetMemberships),
      MakeRpcCommand("voice", "join", &GrpcCommands::JoinVoice),
      MakeRpcCommand("voice", "leave", &GrpcCommands::LeaveVoice),
      MakeRpcCommand("voice", "state", &GrpcCommands::GetVoiceState),
  };
  return *kCommands;
}

bool IsRpcGroup(std::string_view word) {
  for (const RpcCommand& command : RpcCommands()) {
    if (command.group == word) return true;
  }
  return false;
}

}  // namespace

Cli::Cli(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

int Cli::Run(const std::vector<std::string>& args) {
  absl::StatusOr<Flags> flags = Flags::Parse(args);
  absl::StatusOr<int> status =
      flags.ok() ? Dispatch(*flags) : absl::StatusOr<int>(flags.status());
  if (status.ok()) return *status;
  err_ << "heraldctl: " << status.status().message() << std::endl;
  return kExitUsage;
}

absl::StatusOr<int> Cli::Dispatch(const Flags& flags) {
  const std::vector<std::string>& words = flags.positional();
  if (words.empty()) {
    if (flags.Has("help")) return Help({});
    return UsageError("missing command (see heraldctl --help)");
  }
  const std::string& command = words[0];
  if (command == "help") {
    return Help(std::vector<std::string>(words.begin() + 1, words.end()));
  }
  if (flags.Has("help")) return Help({command});
  if (command == "publish") return Publish(flags);
  if (command == "tail") return Tail(flags);
  if (IsRpcGroup(command)) return CallRpc(flags);
  if (IsAdminCommand(command)) return Admin(flags);
  return UsageError(
      absl::StrCat("unknown command '", command, "' (see heraldctl --help)"));
}

absl::StatusOr<int> Cli::Help(const std::vector<std::string>& topic) {
  if (topic.empty()) {
    out_ << MainUsage();
    return kExitOk;
  }
  if (topic.size() > 1) {
    return UsageError(absl::StrCat("unexpected argument '", topic[1], "'"));
  }
  std::optional<std::string> text = TopicUsage(topic[0]);
  if (!text) {
    return UsageError(
        absl::StrCat("no help for '", topic[0], "' (see heraldctl --help)"));
  }
  out_ << *text;
  return kExitOk;
}

absl::StatusOr<int> Cli::Publish(const Flags& flags) {
  if (flags.positional().size() < 2) {
    return UsageError("publish needs an EVENT (see heraldctl help publish)");
  }
  if (absl::Status status = CheckNoExtraWords(flags, 2); !status.ok()) {
    return status;
  }
  const EventBuilder builder(NowTimestamp());
  auto request = builder.Build(flags.positional()[1],
                               flags.Without(GrpcConnectionFlags()));
  if (!request.ok()) return request.status();
  auto commands = ConnectGrpc(flags, out_, err_);
  if (!commands.ok()) return commands.status();
  return commands->Publish(*request);
}

absl::StatusOr<int> Cli::CallRpc(const Flags& flags) {
  const std::string& group = flags.positional()[0];
  if (flags.positional().size() < 2) {
    return UsageError(absl::StrCat(
        group, " needs a subcommand (see heraldctl help ", group, ")"));
  }
  if (absl::Status status = CheckNoExtraWords(flags, 2); !status.ok()) {
    return status;
  }
  const std::string& verb = flags.positional()[1];
  const std::string name = absl::StrCat(group, " ", verb);
  for (const RpcCommand& command : RpcCommands()) {
    if (command.group != group || command.verb != verb) continue;
    std::vector<std::string> known =
        MessageFlags::FlagNames(*command.request_type);
    known.insert(known.end(), GrpcConnectionFlags().begin(),
                 GrpcConnectionFlags().end());
    if (absl::Status status = flags.CheckKnown(known, name); !status.ok()) {
      return status;
    }
    auto call = command.prepare(flags.Without(GrpcConnectionFlags()));
    if (!call.ok()) return call.status();
    auto commands = ConnectGrpc(flags, out_, err_);
    if (!commands.ok()) return commands.status();
    return (*call)(*commands);
  }
  return UsageError(absl::StrCat("unknown command '", name,
                                 "' (see heraldctl help ", group, ")"));
}

absl::StatusOr<int> Cli::Tail(const Flags& flags) {
  if (absl::Status status = CheckNoExtraWords(flags, 1); !status.ok()) {
    return status;
  }
  if (absl::Status status =
          flags.CheckKnown({"token", "channel", "url", "insecure", "ca",
                            "count", "wait_ms", kTimeoutFlag},
                           "tail");
      !status.ok()) {
    return status;
  }
  auto token = flags.GetString("token");
  if (!token.ok()) return token.status();
  std::optional<int64_t> channel;
  if (flags.Has("channel")) {
    auto value = flags.GetInt("channel");
    if (!value.ok()) return value.status();
    channel = *value;
  }
  auto url = flags.GetString("url");
  if (!url.ok()) return url.status();
  auto endpoint = WsEndpoint::FromUrl(*url, *token, channel);
  if (!endpoint.ok()) return endpoint.status();

  TailOptions options;
  options.endpoint = *std::move(endpoint);
  auto insecure = flags.GetBool("insecure");
  if (!insecure.ok()) return insecure.status();
  options.insecure = *insecure;
  auto ca = flags.GetString("ca");
  if (!ca.ok()) return ca.status();
  options.ca_file = *std::move(ca);
  if (options.insecure && !options.ca_file.empty()) {
    return UsageError("--insecure and --ca exclude each other");
  }
  auto count = flags.GetIntInRange("count", 0, 0, kMaxInt64);
  if (!count.ok()) return count.status();
  options.count = *count;
  auto wait = flags.GetIntInRange("wait_ms", 0, 0, kMaxInt64);
  if (!wait.ok()) return wait.status();
  options.wait = std::chrono::milliseconds(*wait);
  auto timeout = ReadTimeout(flags);
  if (!timeout.ok()) return timeout.status();
  options.timeout = *timeout;
  return TailClient(std::move(options), out_, err_).Run();
}

absl::StatusOr<int> Cli::Admin(const Flags& flags) {
  const std::string& command = flags.positional()[0];
  std::vector<std::string> known = GrpcConnectionFlags();
  known.push_back("json");
  if (command == "kick") {
    known.insert(known.end(), {"connection", "code", "reason"});
  }
  if (absl::Status status = flags.CheckKnown(known, command); !status.ok()) {
    return status;
  }
  if (command == "stats") {
    if (absl::Status status = CheckNoExtraWords(flags, 1); !status.ok()) {
      return status;
    }
    auto commands = ConnectAdmin(flags, out_, err_);
    if (!commands.ok()) return commands.status();
    return commands->GetStats();
  }
  if (absl::Status status = CheckNoExtraWords(flags, 2); !status.ok()) {
    return status;
  }
  auto user_id = ReadUserId(flags);
  if (!user_id.ok()) return user_id.status();
  if (command == "conns") {
    v1::ListConnectionsRequest request;
    request.set_user_id(*user_id);
    auto commands = ConnectAdmin(flags, out_, err_);
    if (!commands.ok()) return commands.status();
    return commands->ListConnections(request);
  }
  v1::DisconnectRequest request;
  request.set_user_id(*user_id);
  auto connection = flags.GetIntInRange("connection", 0, 0, kMaxInt64);
  if (!connection.ok()) return connection.status();
  request.set_connection_id(static_cast<uint64_t>(*connection));
  // herald judges the code (1000, 1001, 1008, 4000-4999).
  auto code = flags.GetIntInRange("code", 4000, 0,
                                  std::numeric_limits<uint32_t>::max());
  if (!code.ok()) return code.status();
  request.set_code(static_cast<uint32_t>(*code));
  auto reason = flags.GetString("reason", "disconnected by an operator");
  if (!reason.ok()) return reason.status();
  request.set_reason(*std::move(reason));
  auto commands = ConnectAdmin(flags, out_, err_);
  if (!commands.ok()) return commands.status();
  return commands->Disconnect(request);
}

}  // namespace herald::tools
