#include "service/options.h"

#include <charconv>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"

namespace herald::service {
namespace {

using Setter = std::function<absl::Status(HeraldOptions&, const std::string&)>;

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
  return [=](HeraldOptions& o, const std::string& v) {
    if (!ParseNumber<T>(v, min, max, &field(o))) {
      return Bad(name, v,
                 absl::StrCat("an integer from ", min, " to ", max).c_str());
    }
    return absl::OkStatus();
  };
}

Setter StringFlag(const char* name,
                  std::function<std::string&(HeraldOptions&)> field) {
  return [=](HeraldOptions& o, const std::string& v) {
    if (v.empty()) return Bad(name, v, "a non-empty value");
    field(o) = v;
    return absl::OkStatus();
  };
}

Setter BoolFlag(const char* name, std::function<bool&(HeraldOptions&)> field) {
  return [=](HeraldOptions& o, const std::string& v) {
    if (v == "true" || v == "1" || v == "yes") {
      field(o) = true;
    } else if (v == "false" || v == "0" || v == "no") {
      field(o) = false;
    } else {
      return Bad(name, v, "true or false");
    }
    return absl::OkStatus();
  };
}

Setter MillisFlag(const char* name,
                  std::function<std::chrono::milliseconds&(HeraldOptions&)> f,
                  int64_t min) {
  return [=](HeraldOptions& o, const std::string& v) {
    int64_t ms = 0;
    if (!ParseNumber<int64_t>(v, min, 86400000, &ms)) {
      return Bad(
          name, v,
          absl::StrCat("milliseconds from ", min, " to 86400000").c_str());
    }
    f(o) = std::chrono::milliseconds(ms);
    return absl::OkStatus();
  };
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
      {"state",
       {"SQLite file holding sessions, memberships and voice grants", false,
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
      {"threads",
       {"I/O threads (0: one per core)", false,
        NumberFlag<int>(
            "threads", [](HeraldOptions& o) -> int& { return o.push.threads; },
            0, 256)}},
      {"max_connections",
       {"admitted WebSocket connections, both ports (4029 beyond)", false,
        NumberFlag<size_t>(
            "max_connections",
            [](HeraldOptions& o) -> size_t& { return o.push.max_connections; },
            1, 100000000)}},
      {"max_queue_bytes",
       {"undelivered bytes per connection before it is closed as too slow "
        "(4008)",
        false,
        NumberFlag<size_t>(
            "max_queue_bytes",
            [](HeraldOptions& o) -> size_t& { return o.push.max_queue_bytes; },
            1024, size_t{1} << 32)}},
      {"max_client_message_bytes",
       {"largest client message tolerated (and ignored); larger closes with "
        "1009",
        false,
        NumberFlag<size_t>(
            "max_client_message_bytes",
            [](HeraldOptions& o) -> size_t& {
              return o.push.max_client_message_bytes;
            },
            0, size_t{1} << 24)}},
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
            [](HeraldOptions& o) -> size_t& {
              return o.max_memberships_per_user;
            },
            1, 100000000)}},
      {"verbose",
       {"log every connection's admission and end", true,
        BoolFlag("verbose",
                 [](HeraldOptions& o) -> bool& { return o.verbose; })}},
  };
  return *flags;
}

}  // namespace

std::string Usage() {
  std::string out =
      "usage: herald [--flag=value ...]\n"
      "Real-time push service: gRPC API in, JSON events out over wss.\n\n";
  for (const auto& [name, flag] : Flags()) {
    absl::StrAppend(&out, "  --", name, flag.boolean ? "" : "=VALUE",
                    "\n      ", flag.help, "\n");
  }
  absl::StrAppend(&out, "  --help\n      print this text\n");
  return out;
}

absl::StatusOr<HeraldOptions> ParseOptions(
    const std::vector<std::string>& args) {
  HeraldOptions options;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument '", arg, "' (flags look like --name=value)"));
    }
    const size_t eq = arg.find('=');
    const std::string name =
        arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto it = Flags().find(name);
    if (it == Flags().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    std::string value;
    if (eq == std::string::npos) {
      if (!it->second.boolean) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value: --", name, "=..."));
      }
      value = "true";
    } else {
      value = arg.substr(eq + 1);
    }
    if (auto st = it->second.set(options, value); !st.ok()) return st;
  }
  if (options.push.tls_cert_file.empty() != options.push.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both or neither");
  }
  if (options.push.main_port != 0 &&
      options.push.main_port == options.push.voice_port) {
    return absl::InvalidArgumentError(
        "--main_port and --voice_port must differ");
  }
  return options;
}

}  // namespace herald::service
