#include "service/options.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <concepts>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/config_file.h"
#include "service/config_sources.h"
#include "service/redis/redis_url.h"

namespace herald::service {
namespace {

using SetFn = std::function<absl::Status(HeraldOptions&, const std::string&)>;

// A flag's setter and the TOML type it takes in a config file.
struct Setter {
  Setter(FlagType type, SetFn fn) : type(type), fn(std::move(fn)) {}
  template <typename F>
  requires(!std::same_as<std::decay_t<F>, Setter>) Setter(F f)
      : type(FlagType::kOther), fn(std::move(f)) {}
  absl::Status operator()(HeraldOptions& o, const std::string& v) const {
    return fn(o, v);
  }
  FlagType type;
  SetFn fn;
};

struct Flag {
  const char* help;
  bool boolean;
  Setter set;
};

absl::Status Bad(const std::string& name, const std::string& value,
                 const char* want) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value '", value, "' for --", name, ": expected ", want));
}

// Parses an unsigned decimal in [min, max] into `out`.
template <typename T>
bool ParseNumber(const std::string& s, T min, T max, T* out) {
  if (s.empty()) return false;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

template <typename T>
Setter NumberFlag(const char* name, std::function<T&(HeraldOptions&)> field,
                  T min, T max) {
  return Setter(FlagType::kInteger, [=](HeraldOptions& o,
                                        const std::string& v) {
    if (!ParseNumber<T>(v, min, max, &field(o))) {
      return Bad(name, v,
                 absl::StrCat("an integer from ", min, " to ", max).c_str());
    }
    return absl::OkStatus();
  });
}

Setter StringFlag(const char* name,
                  std::function<std::string&(HeraldOptions&)> field) {
  return Setter(FlagType::kString, [=](HeraldOptions& o, const std::string& v) {
    if (v.empty()) return Bad(name, v, "a non-empty value");
    field(o) = v;
    return absl::OkStatus();
  });
}

// A WebSocket Origin as browsers send it: scheme://host[:port], no path.
bool IsOrigin(absl::string_view s) {
  const size_t sep = s.find("://");
  if (sep == absl::string_view::npos || sep == 0) return false;
  for (char c : s.substr(0, sep)) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  const absl::string_view authority = s.substr(sep + 3);
  if (authority.empty() || authority.front() == ':') return false;
  for (char c : authority) {
    if (c <= ' ' || c >= 0x7F || c == '/' || c == '?' || c == '#' || c == '@' ||
        c == ',') {
      return false;
    }
  }
  return true;
}

// Comma-separated origins; empty: any origin.
Setter OriginListFlag(
    const char* name,
    std::function<std::vector<std::string>&(HeraldOptions&)> field) {
  return Setter(FlagType::kList, [=](HeraldOptions& o, const std::string& v) {
    std::vector<std::string> origins;
    if (!v.empty()) {
      for (absl::string_view part : absl::StrSplit(v, ',')) {
        part = absl::StripAsciiWhitespace(part);
        if (!IsOrigin(part)) {
          return Bad(name, v,
                     "comma-separated origins like https://chat.example.com "
                     "(scheme://host[:port], no path)");
        }
        origins.emplace_back(part);
      }
    }
    field(o) = std::move(origins);
    return absl::OkStatus();
  });
}

Setter BoolFlag(const char* name, std::function<bool&(HeraldOptions&)> field) {
  return Setter(FlagType::kBoolean,
                [=](HeraldOptions& o, const std::string& v) {
                  if (v == "true" || v == "1" || v == "yes") {
                    field(o) = true;
                  } else if (v == "false" || v == "0" || v == "no") {
                    field(o) = false;
                  } else {
                    return Bad(name, v, "true or false");
                  }
                  return absl::OkStatus();
                });
}

Setter MillisFlag(const char* name,
                  std::function<std::chrono::milliseconds&(HeraldOptions&)> f,
                  int64_t min, int64_t max = 86400000) {
  return Setter(FlagType::kInteger, [=](HeraldOptions& o,
                                        const std::string& v) {
    int64_t ms = 0;
    if (!ParseNumber<int64_t>(v, min, max, &ms)) {
      return Bad(name, v,
                 absl::StrCat("milliseconds from ", min, " to ", max).c_str());
    }
    f(o) = std::chrono::milliseconds(ms);
    return absl::OkStatus();
  });
}

// Also records that the flag was given.
Setter Given(Setter set, std::function<bool&(HeraldOptions&)> given) {
  return Setter(set.type, [=](HeraldOptions& o, const std::string& v) {
    absl::Status st = set(o, v);
    if (st.ok()) given(o) = true;
    return st;
  });
}

const std::map<std::string, Flag>& Flags() {
  static const auto* flags = new std::map<std::string, Flag>{
      {"main_port",
       {"TCP port of the main WebSocket socket (0: any free port)", false,
        NumberFlag<uint16_t>(
            "main_port",
            [](HeraldOptions& o) -> uint16_t& { return o.push.main_port; }, 0,
            65535)}},
      {"voice_port",
       {"TCP port of the voice WebSocket socket (0: any free port)", false,
        NumberFlag<uint16_t>(
            "voice_port",
            [](HeraldOptions& o) -> uint16_t& { return o.push.voice_port; }, 0,
            65535)}},
      {"bind_address",
       {"IP address both WebSocket ports listen on", false,
        StringFlag("bind_address",
                   [](HeraldOptions& o) -> std::string& {
                     return o.push.bind_address;
                   })}},
      {"grpc_address",
       {"HOST:PORT of the gRPC API (port 0: any free port)", false,
        StringFlag(
            "grpc_address",
            [](HeraldOptions& o) -> std::string& { return o.grpc_address; })}},
      // gRPC API authentication (GrpcAuthOptions).
      {"grpc_tls_cert",
       {"PEM certificate chain of the gRPC API's TLS (with --grpc_tls_key)",
        false,
        StringFlag("grpc_tls_cert",
                   [](HeraldOptions& o) -> std::string& {
                     return o.grpc_auth.tls_cert_file;
                   })}},
      {"grpc_tls_key",
       {"PEM private key of --grpc_tls_cert", false,
        StringFlag("grpc_tls_key",
                   [](HeraldOptions& o) -> std::string& {
                     return o.grpc_auth.tls_key_file;
                   })}},
      {"grpc_client_ca",
       {"mutual TLS: gRPC clients must present a certificate issued by this "
        "PEM CA (needs --grpc_tls_cert)",
        false,
        StringFlag("grpc_client_ca",
                   [](HeraldOptions& o) -> std::string& {
                     return o.grpc_auth.client_ca_file;
                   })}},
      {"grpc_token_file",
       {"file holding the bearer token every gRPC call must send as "
        "'authorization: Bearer TOKEN' (not readable by others; without "
        "TLS only on a loopback --grpc_address)",
        false,
        StringFlag("grpc_token_file",
                   [](HeraldOptions& o) -> std::string& {
                     return o.grpc_auth.token_file;
                   })}},
      // End of gRPC API authentication.
      {"state",
       {"SQLite file holding sessions, memberships and voice grants; with "
        "--redis it is not opened (Redis holds them): only the default "
        "certificate and ticket-key paths (<state>.cert.pem, ...) are used",
        false,
        StringFlag("state",
                   [](HeraldOptions& o) -> std::string& { return o.state; })}},
      {"tls_cert",
       {"PEM certificate chain; default: <state>.cert.pem, generated "
        "self-signed when missing",
        false,
        StringFlag("tls_cert",
                   [](HeraldOptions& o) -> std::string& {
                     return o.push.tls_cert_file;
                   })}},
      {"tls_key",
       {"PEM private key; default: <state>.key.pem, generated with the "
        "certificate",
        false,
        StringFlag("tls_key",
                   [](HeraldOptions& o) -> std::string& {
                     return o.push.tls_key_file;
                   })}},
      {"plain",
       {"serve ws:// without TLS (only behind a TLS-terminating proxy)", true,
        BoolFlag("plain",
                 [](HeraldOptions& o) -> bool& { return o.push.plain; })}},
      {"tls_own_records",
       {"after a TLS 1.3 handshake herald protects the records itself and "
        "frees OpenSSL's per-connection state (false: OpenSSL keeps every "
        "connection)",
        true,
        BoolFlag(
            "tls_own_records",
            [](HeraldOptions& o) -> bool& { return o.push.tls_own_records; })}},
      {"tls_tickets",
       {"TLS session resumption by stateless tickets (false: every "
        "handshake is full)",
        true,
        BoolFlag("tls_tickets",
                 [](HeraldOptions& o) -> bool& { return o.tls_tickets; })}},
      {"tls_ticket_keys",
       {"file of the session ticket keys (0600, created when missing); "
        "default: <state>.ticket-keys",
        false,
        StringFlag("tls_ticket_keys",
                   [](HeraldOptions& o) -> std::string& {
                     return o.push.tls_ticket_key_file;
                   })}},
      {"tls_ticket_rotation_s",
       {"age at which the ticket key is replaced; a ticket is accepted for "
        "two periods",
        false,
        Setter(FlagType::kInteger,
               [](HeraldOptions& o, const std::string& v) {
                 int64_t s = 0;
                 if (!ParseNumber<int64_t>(v, 60, 30 * 86400, &s)) {
                   return Bad("tls_ticket_rotation_s", v,
                              "seconds from 60 to 2592000");
                 }
                 o.push.tls_ticket_rotation = std::chrono::seconds(s);
                 return absl::OkStatus();
               })}},
      {"threads",
       {"I/O threads (0: one per core)", false,
        NumberFlag<int>(
            "threads", [](HeraldOptions& o) -> int& { return o.push.threads; },
            0, 256)}},
      {"max_connections",
       {"admitted WebSocket connections, both ports (4029 beyond); default: "
        "RLIMIT_NOFILE - --fd_reserve - --max_handshaking",
        false,
        Given(NumberFlag<size_t>(
                  "max_connections",
                  [](HeraldOptions& o) -> size_t& {
                    return o.push.max_connections;
                  },
                  1, 100000000),
              [](HeraldOptions& o) -> bool& {
                return o.max_connections_given;
              })}},
      {"max_handshaking",
       {"open sockets not admitted (in the TLS/HTTP handshake or closing); "
        "beyond, new connections wait in the listen backlog and may evict a "
        "handshake older than --handshake_evict_after_ms; default: min(1024, "
        "(RLIMIT_NOFILE - --fd_reserve) / 8)",
        false,
        Given(NumberFlag<size_t>(
                  "max_handshaking",
                  [](HeraldOptions& o) -> size_t& {
                    return o.push.max_handshaking;
                  },
                  1, 100000000),
              [](HeraldOptions& o) -> bool& {
                return o.max_handshaking_given;
              })}},
      {"fd_reserve",
       {"descriptors below RLIMIT_NOFILE that WebSocket sockets never take "
        "(left to gRPC, SQLite, logs)",
        false,
        NumberFlag<size_t>(
            "fd_reserve",
            [](HeraldOptions& o) -> size_t& { return o.push.fd_reserve; }, 0,
            100000000)}},
      {"max_connections_per_ip",
       {"open sockets per client IP; beyond, new ones are closed at accept "
        "(plain: HTTP 429) (0: no limit)",
        false,
        NumberFlag<size_t>(
            "max_connections_per_ip",
            [](HeraldOptions& o) -> size_t& {
              return o.push.max_connections_per_ip;
            },
            0, 100000000)}},
      {"max_new_connections_per_ip_per_sec",
       {"new sockets per client IP per second (token bucket, one second of "
        "burst); beyond, closed at accept (plain: HTTP 429) (0: no limit)",
        false,
        NumberFlag<size_t>(
            "max_new_connections_per_ip_per_sec",
            [](HeraldOptions& o) -> size_t& {
              return o.push.max_new_connections_per_ip_per_sec;
            },
            0, 100000000)}},
      {"max_connections_per_user",
       {"admitted main-socket connections per user (4029 beyond) (0: no "
        "limit)",
        false,
        NumberFlag<size_t>(
            "max_connections_per_user",
            [](HeraldOptions& o)
                -> size_t& { return o.push.max_connections_per_user; },
            0, 100000000)}},
      {"max_queue_bytes",
       {"undelivered bytes per connection before it is closed as too slow "
        "(4008)",
        false,
        NumberFlag<size_t>(
            "max_queue_bytes",
            [](HeraldOptions& o) -> size_t& { return o.push.max_queue_bytes; },
            1024, size_t{1} << 32)}},
      {"socket_send_buffer_bytes",
       {"SO_SNDBUF of each WebSocket client socket: what the kernel accepts "
        "for a client beyond max_queue_bytes before herald waits (0: the "
        "kernel's autotuning, up to net.ipv4.tcp_wmem's maximum)",
        false,
        NumberFlag<size_t>(
            "socket_send_buffer_bytes",
            [](HeraldOptions& o)
                -> size_t& { return o.push.socket_send_buffer_bytes; },
            0, size_t{1} << 30)}},
      {"max_client_message_bytes",
       {"largest client message tolerated (and ignored); larger closes with "
        "1009",
        false,
        NumberFlag<size_t>(
            "max_client_message_bytes",
            [](HeraldOptions& o)
                -> size_t& { return o.push.max_client_message_bytes; },
            0, size_t{1} << 24)}},
      {"max_request_header_bytes",
       {"largest WebSocket upgrade request (request line and headers); "
        "larger is answered HTTP 431",
        false,
        NumberFlag<size_t>(
            "max_request_header_bytes",
            [](HeraldOptions& o)
                -> size_t& { return o.push.max_request_header_bytes; },
            256, size_t{1} << 20)}},
      {"allowed_origins",
       {"comma-separated origins (https://chat.example.com) a browser's "
        "upgrade request must come from; others get HTTP 403, requests "
        "without Origin pass (empty: any origin)",
        false,
        OriginListFlag("allowed_origins",
                       [](HeraldOptions& o) -> std::vector<std::string>& {
                         return o.push.allowed_origins;
                       })}},
      {"ping_interval_ms",
       {"interval of server pings; a connection silent for two intervals is "
        "closed",
        false,
        MillisFlag(
            "ping_interval_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.push.ping_interval;
            },
            50)}},
      {"handshake_timeout_ms",
       {"time allowed for the TLS and WebSocket handshakes", false,
        MillisFlag(
            "handshake_timeout_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.push.handshake_timeout;
            },
            50)}},
      {"handshake_evict_after_ms",
       {"at --max_handshaking, a connection waiting in the listen backlog "
        "closes a handshake older than this (stalled); younger ones are "
        "never evicted",
        false,
        MillisFlag(
            "handshake_evict_after_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.push.handshake_evict_after;
            },
            10)}},
      {"drain_delay_ms",
       {"after SIGTERM/SIGINT, time herald keeps serving with gRPC health "
        "NOT_SERVING and /readyz 503 before it closes connections (a second "
        "signal ends the wait)",
        false,
        MillisFlag(
            "drain_delay_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.drain_delay;
            },
            0, 60000)}},
      // Cluster mode (--redis).
      {"redis",
       {"cluster mode: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or "
        "unix:///PATH[?db=N] holds sessions, memberships and voice state "
        "(--state is then not opened) and carries events between the herald "
        "nodes using it; empty: one process, state in --state",
        false,
        Setter(FlagType::kString,
               [](HeraldOptions& o, const std::string& v) -> absl::Status {
                 if (!v.empty()) {
                   auto url = redis::RedisUrl::Parse(v);
                   if (!url.ok()) return url.status();
                 }
                 o.redis = v;
                 return absl::OkStatus();
               })}},
      {"cluster_ack_timeout_ms",
       {"cluster mode: how long a call waits for the other nodes to confirm "
        "an event before it answers with the recipients counted so far",
        false,
        MillisFlag(
            "cluster_ack_timeout_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.cluster_ack_timeout;
            },
            1, 60000)}},
      {"cluster_node_ttl_ms",
       {"cluster mode: a node that stops refreshing its heartbeat (every "
        "second) this long is dead and its voice connections end",
        false,
        MillisFlag(
            "cluster_node_ttl_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.cluster_node_ttl;
            },
            1500, 600000)}},
      {"redis_timeout_ms",
       {"cluster mode: a Redis command unanswered this long fails "
        "(UNAVAILABLE) and the connection is made again; also the connect "
        "timeout",
        false,
        MillisFlag(
            "redis_timeout_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.redis_timeout;
            },
            10, 60000)}},
      {"max_text_bytes",
       {"largest message text accepted by Publish", false,
        NumberFlag<size_t>(
            "max_text_bytes",
            [](HeraldOptions& o) -> size_t& { return o.limits.max_text_bytes; },
            1, size_t{1} << 22)}},
      {"max_sessions",
       {"sessions the registry holds at most", false,
        NumberFlag<size_t>(
            "max_sessions",
            [](HeraldOptions& o) -> size_t& { return o.max_sessions; }, 1,
            100000000)}},
      {"max_memberships",
       {"user-server memberships the registry holds at most (~110 bytes each)",
        false,
        NumberFlag<size_t>(
            "max_memberships",
            [](HeraldOptions& o) -> size_t& { return o.max_memberships; }, 1,
            1000000000)}},
      {"max_memberships_per_user",
       {"servers one user may be a member of", false,
        NumberFlag<size_t>(
            "max_memberships_per_user",
            [](HeraldOptions& o)
                -> size_t& { return o.max_memberships_per_user; },
            1, 100000000)}},
      {"admin_address",
       {"HOST:PORT of the admin HTTP port (/metrics, /healthz, /readyz, "
        "/stats.json, the status page at /); port 0: any free port; empty: "
        "off. Unauthenticated: keep it on loopback or a private network",
        false,
        Setter(FlagType::kString,
               [](HeraldOptions& o, const std::string& v) {
                 o.admin_address = v;
                 return absl::OkStatus();
               })}},
      {"admin_max_connections",
       {"open connections to the admin port; beyond, new ones are closed "
        "at once",
        false,
        NumberFlag<size_t>(
            "admin_max_connections",
            [](HeraldOptions& o)
                -> size_t& { return o.admin_limits.max_connections; },
            1, 10000)}},
      {"admin_timeout_ms",
       {"time an admin port client has to send a request (and idle time of "
        "a kept-alive connection) before it is closed",
        false,
        MillisFlag(
            "admin_timeout_ms",
            [](HeraldOptions& o) -> std::chrono::milliseconds& {
              return o.admin_limits.timeout;
            },
            100, 600000)}},
      {"node_name",
       {"this node's name in stats and the admin API (default: the host "
        "name)",
        false,
        Setter(FlagType::kString,
               [](HeraldOptions& o, const std::string& v) {
                 if (v.empty() || v.size() > 64) {
                   return Bad("node_name", v, "1 to 64 characters");
                 }
                 for (char c : v) {
                   if (!absl::ascii_isalnum(c) && c != '-' && c != '_' &&
                       c != '.') {
                     return Bad("node_name", v,
                                "letters, digits, '-', '_', '.'");
                   }
                 }
                 o.node_name = v;
                 return absl::OkStatus();
               })}},
      {"max_listed_connections",
       {"connections one admin ListConnections call returns at most (the "
        "rest: truncated)",
        false,
        NumberFlag<size_t>(
            "max_listed_connections",
            [](HeraldOptions& o)
                -> size_t& { return o.max_listed_connections; },
            1, 100000)}},
      {"verbose",
       {"the same as --log_level=debug (given as --verbose=false: no "
        "change)",
        true,
        Setter(FlagType::kBoolean,
               [](HeraldOptions& o, const std::string& v) {
                 absl::Status st = BoolFlag(
                     "verbose",
                     [](HeraldOptions& o) -> bool& { return o.verbose; })(o, v);
                 if (st.ok() && o.verbose) o.log_level = LogLevel::kDebug;
                 return st;
               })}},
      {"log_level",
       {"least severe records written: debug (every connection's admission "
        "and end), info (default), warning or error",
        false,
        Setter(FlagType::kString,
               [](HeraldOptions& o, const std::string& v) {
                 if (!ParseLogLevel(v, &o.log_level)) {
                   return Bad("log_level", v, "debug, info, warning or error");
                 }
                 return absl::OkStatus();
               })}},
      {"log_format",
       {"stderr records as text (default: timestamp level event key=value "
        "...) or json (one object per line)",
        false,
        Setter(FlagType::kString,
               [](HeraldOptions& o, const std::string& v) {
                 if (!ParseLogFormat(v, &o.log_format)) {
                   return Bad("log_format", v, "text or json");
                 }
                 return absl::OkStatus();
               })}},
      {"log_refusals_per_sec",
       {"records of each kind clients can cause (refused, slow_consumer, "
        "ping_timeout, registry_error) written per second per I/O thread; "
        "the rest are counted in a log_suppressed record once a second "
        "(0: no limit)",
        false,
        NumberFlag<size_t>(
            "log_refusals_per_sec",
            [](HeraldOptions& o) -> size_t& { return o.log_refusals_per_sec; },
            0, 1000000)}},
  };
  return *flags;
}

// The gRPC API flags make sense together, and an address other hosts can
// reach demands credentials: session tokens travel in OpenSession.
absl::Status CheckGrpcAuth(const HeraldOptions& options) {
  const GrpcAuthOptions& auth = options.grpc_auth;
  if (auth.tls_cert_file.empty() != auth.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--grpc_tls_cert and --grpc_tls_key go together: give both or "
        "neither");
  }
  if (!auth.client_ca_file.empty() && !auth.tls()) {
    return absl::InvalidArgumentError(
        "--grpc_client_ca needs TLS: give --grpc_tls_cert and "
        "--grpc_tls_key too");
  }
  if (IsLoopbackGrpcAddress(options.grpc_address)) return absl::OkStatus();
  if (!auth.authenticates()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve the gRPC API on ", options.grpc_address,
        " without credentials: anyone who can reach it could open sessions "
        "and publish. Give --grpc_tls_cert=FILE --grpc_tls_key=FILE with "
        "--grpc_client_ca=FILE (mutual TLS) or --grpc_token_file=FILE "
        "(bearer token), or bind a loopback --grpc_address"));
  }
  if (!auth.tls()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to send the gRPC bearer token in clear on ",
        options.grpc_address,
        ": give --grpc_tls_cert=FILE --grpc_tls_key=FILE, or bind a "
        "loopback --grpc_address"));
  }
  return absl::OkStatus();
}

// "HOST:PORT" or "[HOST]:PORT" -> HOST; no port: all of it.
std::string GrpcHost(const std::string& address) {
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    return address.substr(
        1, close == std::string::npos ? std::string::npos : close - 1);
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || address.find(':') != colon) {
    return address;  // no port, or a bare IPv6 address
  }
  return address.substr(0, colon);
}

// The command line: flag values to apply last (highest precedence), and
// --config. --help, --version and --check_config are set on `options`.
struct CommandLine {
  std::vector<ConfigEntry> flags;
  std::optional<std::string> config_file;
};

CommandLine ParseCommandLine(const std::vector<std::string>& args,
                             HeraldOptions& options,
                             std::vector<std::string>& errors) {
  CommandLine out;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      continue;
    }
    if (arg == "--version") {
      options.version = true;
      continue;
    }
    if (arg == "--check_config") {
      options.check_config = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      errors.push_back(absl::StrCat("unexpected argument '", arg,
                                    "' (flags look like --name=value)"));
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string name =
        arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name == "config") {
      if (eq == std::string::npos) {
        errors.push_back("flag --config needs a value: --config=FILE");
      } else {
        out.config_file = arg.substr(eq + 1);
      }
      continue;
    }
    auto it = Flags().find(name);
    if (it == Flags().end()) {
      errors.push_back(absl::StrCat("unknown flag --", name, " (see --help)"));
      continue;
    }
    if (eq == std::string::npos && !it->second.boolean) {
      errors.push_back(
          absl::StrCat("flag --", name, " needs a value: --", name, "=..."));
      continue;
    }
    out.flags.push_back(
        ConfigEntry{name, eq == std::string::npos ? "true" : arg.substr(eq + 1),
                    "flag", ""});
  }
  return out;
}

}  // namespace

bool IsLoopbackGrpcAddress(const std::string& address) {
  if (address.rfind("unix:", 0) == 0 ||
      address.rfind("unix-abstract:", 0) == 0) {
    return true;
  }
  const std::string host = GrpcHost(address);
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  return false;
}

std::string Usage() {
  std::string out =
      "usage: herald [--flag=value ...]\n"
      "Real-time push service: gRPC API in, JSON events out over wss.\n\n";
  for (const auto& [name, flag] : Flags()) {
    absl::StrAppend(&out, "  --", name, flag.boolean ? "" : "=VALUE",
                    "\n      ", flag.help, "\n");
  }
  absl::StrAppend(
      &out,
      "  --config=FILE\n      TOML file of settings: keys are the flag "
      "names (main_port = 444); flag > HERALD_<FLAG> environment variable > "
      "file > default; also HERALD_CONFIG=FILE\n"
      "  --check_config\n      check the settings and the files they name, "
      "print 'config ok' and the effective settings (exit 0) or each problem "
      "(exit 2); serves nothing\n"
      "  --help\n      print this text (ignores --config and the "
      "environment)\n"
      "  --version\n      print the version\n");
  return out;
}

std::optional<FlagType> FindFlagType(const std::string& name) {
  auto it = Flags().find(name);
  if (it == Flags().end()) return std::nullopt;
  return it->second.set.type;
}

std::vector<std::string> FlagNames() {
  std::vector<std::string> names;
  for (const auto& [name, flag] : Flags()) names.push_back(name);
  return names;
}

absl::Status SetFlag(HeraldOptions& options, const std::string& name,
                     const std::string& value) {
  auto it = Flags().find(name);
  if (it == Flags().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown flag --", name, " (see --help)"));
  }
  return it->second.set(options, value);
}

absl::Status CheckOptionCombinations(const HeraldOptions& options) {
  if (options.push.tls_cert_file.empty() != options.push.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both or neither");
  }
  if (auto st = CheckGrpcAuth(options); !st.ok()) return st;
  if (options.push.main_port != 0 &&
      options.push.main_port == options.push.voice_port) {
    return absl::InvalidArgumentError(
        "--main_port and --voice_port must differ");
  }
  return absl::OkStatus();
}

ParsedOptions ParseOptionsReportingAll(const std::vector<std::string>& args,
                                       const Environment& env) {
  ParsedOptions out;
  HeraldOptions& options = out.options;
  CommandLine command_line = ParseCommandLine(args, options, out.errors);
  std::vector<ConfigEntry> entries;
  if (!options.help && !options.version) {
    if (command_line.config_file) {
      options.config_file = *command_line.config_file;
    } else if (auto it = env.find(kConfigEnvVar); it != env.end()) {
      options.config_file = it->second;
    }
    if (!options.config_file.empty()) {
      ConfigFileContents file = ReadConfigFile(options.config_file);
      for (std::string& e : file.errors) out.errors.push_back(std::move(e));
      entries = std::move(file.entries);
    }
    for (ConfigEntry& e : EnvironmentEntries(env)) {
      entries.push_back(std::move(e));
    }
  }
  for (ConfigEntry& e : command_line.flags) entries.push_back(std::move(e));
  // Lowest precedence first: a later value replaces an earlier one.
  for (const ConfigEntry& e : entries) {
    if (absl::Status st = SetFlag(options, e.name, e.value); !st.ok()) {
      out.errors.push_back(e.location.empty()
                               ? std::string(st.message())
                               : absl::StrCat(e.location, ": ", st.message()));
      continue;
    }
    options.given[e.name] = SettingOrigin{e.value, e.source};
  }
  if (out.errors.empty()) {
    if (absl::Status st = CheckOptionCombinations(options); !st.ok()) {
      out.errors.emplace_back(st.message());
    }
  }
  return out;
}

absl::StatusOr<HeraldOptions> ParseOptions(const std::vector<std::string>& args,
                                           const Environment& env) {
  ParsedOptions parsed = ParseOptionsReportingAll(args, env);
  if (!parsed.errors.empty()) {
    return absl::InvalidArgumentError(parsed.errors.front());
  }
  return std::move(parsed.options);
}

absl::StatusOr<HeraldOptions> ParseOptions(
    const std::vector<std::string>& args) {
  return ParseOptions(args, ProcessEnvironment());
}

}  // namespace herald::service
