#include "tools/heraldctl/usage.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/heraldctl/event_builder.h"

namespace herald::tools {
namespace {

constexpr char kGrpcFlags[] = R"(
gRPC flags:
  --grpc=HOST:PORT   herald's gRPC address (default 127.0.0.1:50051)
  --timeout_ms=N     deadline of the call in milliseconds (default 5000)
  --grpc_ca=FILE     use TLS, verifying herald with the CA certificates in
                     FILE (PEM; herald's --grpc_tls_cert or its issuer)
  --grpc_cert=FILE   use TLS, presenting this client certificate (PEM; with
  --grpc_key=FILE    its key) to a herald with --grpc_client_ca
  --grpc_token_file=FILE
                     send the bearer token in FILE with every call (herald's
                     --grpc_token_file)
)";

constexpr char kExitStatus[] = R"(
Exit status: 0 done; 1 herald refused the call or could not be reached, with
`error: CODE: message` on stderr; 2 usage error.
)";

constexpr char kSession[] = R"(usage:
  heraldctl session open --token=T --user_id=U [--expires_at=TIME]
      Opens a session: clients presenting token T are user U (until
      --expires_at, or until closed). Prints ok.
  heraldctl session close --token=T
      Closes the session and its sockets. Prints existed=true|false.

TIME is RFC 3339 (2024-12-04T18:36:14.045681Z) or PostgreSQL
('2024-12-04 18:36:14.045681+00').
)";

constexpr char kMembers[] = R"(usage:
  heraldctl members set --user_id=U --server_ids=1,2
      Replaces the user's whole server list (--server_ids= clears it).
      Prints ok.
  heraldctl members get --user_id=U
      Prints server_ids=1,2 (ascending).
)";

constexpr char kVoice[] = R"(usage:
  heraldctl voice join --user_id=U --server_id=S --channel_id=C
      Grants U presence in voice channel C of server S: U's voice socket may
      then connect. Prints ok.
  heraldctl voice leave --user_id=U
      Withdraws the grant and ends U's voice presence. Prints
      existed=true|false.
  heraldctl voice state --server_id=S
      Prints one line per voice channel with users: channel=C users=1,2
)";

constexpr char kAdmin[] = R"(usage:
  heraldctl conns USER_ID [--json]
      Lists the user's connections on this herald, oldest first, one line
      each: ID, SOCKET (main or voice), CHANNEL (voice), PEER (ip:port),
      TRANSPORT (wss or ws), QUEUE (undelivered bytes), SINCE (when it was
      admitted), NODE.
  heraldctl kick USER_ID [--connection=ID] [--code=4000] [--reason=TEXT]
      Closes the user's connection ID (from conns), or all of them, with
      close code --code (1000, 1001, 1008 or 4000-4999; default 4000) and
      --reason (at most 123 bytes; default "disconnected by an operator").
      Prints disconnected=N.
  heraldctl stats [--json]
      Prints herald's statistics (connections, totals, refusals, registry,
      voice, process), as on the admin HTTP port's /stats.json.

--json prints the response as one line of JSON (the protobuf mapping of
herald.v1.HeraldAdmin, 64-bit integers as strings) instead.
These calls need the same credentials as the rest of the gRPC API.
)";

constexpr char kTail[] =
    R"(usage: heraldctl tail --token=T [--channel=C] [flags]

Connects to herald like a chat client (the main socket; the voice socket
with --channel) and prints every text frame exactly as received, one per
line. When the server closes, prints `closed code=C reason=R` and exits 0.

  --token=T         the session token (sent percent-encoded as ?token=)
  --channel=C       connect to the voice socket for voice channel C
  --url=URL         ws[s]://HOST[:PORT][/PATH] (default wss://127.0.0.1, port
                    444, or 445 with --channel)
  --insecure        do not verify the server's certificate
  --ca=FILE         trust the certificates in FILE (PEM), e.g. the
                    self-signed one herald writes to <state>.cert.pem;
                    default: the system store
  --count=N         exit after N frames, closing with 1000
  --wait_ms=N       close with 1000 and exit after N ms (status 1 if --count
                    frames have not all come)
  --timeout_ms=N    limit for connecting and for the close handshake
                    (default 5000)

Exit status: 0 closed by the server or by heraldctl (--count, --wait_ms,
SIGINT/SIGTERM); 1 connection, TLS or protocol error; 2 usage error.
)";

// `words` joined by spaces into lines of at most 78 columns, each starting
// with `indent`.
std::string Wrap(std::string_view words, std::string_view indent) {
  std::string text;
  size_t line = 0;
  for (absl::string_view word :
       absl::StrSplit(absl::string_view(words.data(), words.size()), ' ',
                      absl::SkipEmpty())) {
    if (line > indent.size() && line + 1 + word.size() > 78) {
      text += '\n';
      line = 0;
    }
    if (line == 0) {
      text.append(indent);
      line = indent.size();
    } else {
      text += ' ';
      ++line;
    }
    text.append(word.data(), word.size());
    line += word.size();
  }
  return text + "\n";
}

std::string PublishUsage() {
  std::string text =
      "usage: heraldctl publish EVENT --field=value...\n\n"
      "Publishes one event through herald, which delivers it to every "
      "connection\nthat should see it. Prints recipients=N, the connections "
      "it was queued for.\n\nEvents and their flags:\n";
  for (const std::string& event : EventBuilder::EventNames()) {
    absl::StrAppend(&text, "  ", event, "\n",
                    Wrap(EventBuilder::FlagSynopsis(event), "      "));
  }
  absl::StrAppend(
      &text,
      "\nTIME is RFC 3339 (2024-12-04T18:36:14.045681Z) or PostgreSQL\n"
      "('2024-12-04 18:36:14.045681+00'), or now; --sent and --edited "
      "default to now.\n"
      "--visible_to narrows the recipients to these users (private "
      "channels).\n"
      "Flags left out are sent unset: herald refuses them naming the field. "
      "herald\nemits user_joined_vc and user_left_vc itself and refuses them "
      "here.\n\n"
      "Example:\n"
      "  heraldctl publish message_created --id=6 --server_id=1 "
      "--channel_id=1 \\\n"
      "      --author_id=1 --text='its over guys'\n",
      kGrpcFlags, kExitStatus);
  return text;
}

}  // namespace

std::string MainUsage() {
  return absl::StrCat(
      R"(usage: heraldctl COMMAND [--flag=value...]

heraldctl talks to herald, the real-time push service: to its gRPC API as
the chat backend does, and to its WebSocket ports as a chat client does.

Commands:
  publish EVENT --field=value...   publish an event; prints recipients=N
  session open --token=T --user_id=U [--expires_at=TIME]
  session close --token=T
  members set --user_id=U --server_ids=1,2
  members get --user_id=U
  voice join --user_id=U --server_id=S --channel_id=C
  voice leave --user_id=U
  voice state --server_id=S
  tail --token=T [--channel=C]     print what a client receives
  conns USER_ID                    list a user's connections
  kick USER_ID [--connection=ID] [--code=4000] [--reason=TEXT]
                                   close a user's connections
  stats                            herald's statistics
  help [COMMAND]                   this text, or a command's in detail
)",
      kGrpcFlags, kExitStatus);
}

std::optional<std::string> TopicUsage(std::string_view topic) {
  if (topic == "publish") return PublishUsage();
  if (topic == "session") return absl::StrCat(kSession, kGrpcFlags);
  if (topic == "members") return absl::StrCat(kMembers, kGrpcFlags);
  if (topic == "voice") return absl::StrCat(kVoice, kGrpcFlags);
  if (topic == "tail") return std::string(kTail);
  if (topic == "conns" || topic == "kick" || topic == "stats") {
    return absl::StrCat(kAdmin, kGrpcFlags, kExitStatus);
  }
  if (topic == "help") return MainUsage();
  return std::nullopt;
}

}  // namespace herald::tools
