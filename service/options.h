#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "push/log.h"
#include "push/push_options.h"
#include "service/admin_limits.h"
#include "service/validator.h"

namespace herald::service {

// Who may call the gRPC API (the --grpc_tls_* / --grpc_client_ca /
// --grpc_token_file block). All empty: plaintext, no authentication, which
// ParseOptions allows on a loopback address only.
struct GrpcAuthOptions {
  std::string tls_cert_file;   // PEM chain the gRPC port serves
  std::string tls_key_file;    // its private key
  std::string client_ca_file;  // mutual TLS: client certs must chain here
  std::string token_file;      // bearer token: `authorization: Bearer <it>`

  bool tls() const { return !tls_cert_file.empty(); }
  // Some credential is required of every caller.
  bool authenticates() const {
    return !client_ca_file.empty() || !token_file.empty();
  }
};

// One setting that was given, and by which source (the one that won:
// flag > environment > config file).
struct SettingOrigin {
  std::string value;   // the value text as given (arrays: comma-joined)
  std::string source;  // "flag", "env HERALD_X" or "file PATH:LINE"
};

// Everything the herald binary is configured with.
struct HeraldOptions {
  push::PushOptions push;
  std::string grpc_address = "127.0.0.1:50051";
  GrpcAuthOptions grpc_auth;
  std::string state = "herald.db";
  std::string admin_address = "127.0.0.1:9445";  // empty: no admin port
  std::string node_name;                         // empty: the host name
  AdminLimits admin_limits;
  bool tls_tickets = true;  // ticket keys default to <state>.ticket-keys
  size_t max_sessions = 1000000;
  size_t max_memberships = 10000000;
  size_t max_memberships_per_user = 100000;
  ValidationLimits limits;
  // Cluster mode: the --redis URL as given (checked by RedisUrl::Parse);
  // empty: one process with the SQLite --state.
  std::string redis;
  std::chrono::milliseconds cluster_ack_timeout{2000};
  std::chrono::milliseconds cluster_node_ttl{3000};
  std::chrono::milliseconds redis_timeout{1000};
  bool cluster() const { return !redis.empty(); }
  // Whether these limits were given; if not, HeraldApp derives them from
  // RLIMIT_NOFILE (push::FitDescriptorBudget).
  bool max_connections_given = false;
  bool max_handshaking_given = false;
  // Connections one admin ListConnections call returns at most.
  size_t max_listed_connections = 1000;
  // SIGTERM/SIGINT: serve this long after the health flip, then shut down.
  std::chrono::milliseconds drain_delay{0};
  bool verbose = false;  // --verbose: the same as --log_level=debug
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  // Records of each client-triggered kind (refused, slow_consumer,
  // ping_timeout, registry_error) per second per I/O thread; 0: no limit.
  size_t log_refusals_per_sec = 10;
  bool help = false;     // --help was given: print Usage() and exit 0
  bool version = false;  // --version was given: print the version, exit 0
  // --check_config: validate everything, print `config ok`, exit 0 (or
  // one line per problem on stderr, exit 2) without serving.
  bool check_config = false;
  std::string config_file;  // --config or HERALD_CONFIG; empty: none
  // Flag name -> where its value came from; settings not in here have
  // their defaults (see DescribeEffectiveConfig, service/config_sources.h).
  std::map<std::string, SettingOrigin> given;
};

// The TOML type a flag takes in a config file (service/config_file.h).
enum class FlagType {
  kInteger,
  kBoolean,
  kString,
  kList,   // an array of strings, or one comma-separated string
  kOther,  // any scalar, passed as text
};

// The type of flag `name`; nullopt when there is no such flag. Only the
// flags of the flag table: --config, --check_config, --help and --version
// are command-line only.
std::optional<FlagType> FindFlagType(const std::string& name);

// The names of the flag table, sorted.
std::vector<std::string> FlagNames();

// Sets flag `name` from its value text: the setter --name=value uses, so
// every source shares the same validation. Errors as ParseOptions'.
absl::Status SetFlag(HeraldOptions& options, const std::string& name,
                     const std::string& value);

// The checks that involve several flags (--tls_cert with --tls_key, gRPC
// authentication, distinct ports), run on the merged settings.
absl::Status CheckOptionCombinations(const HeraldOptions& options);

// True when gRPC's listening address `address` (HOST:PORT, [V6]:PORT,
// unix:PATH) only accepts connections from this host: localhost, 127/8,
// ::1, a Unix socket.
bool IsLoopbackGrpcAddress(const std::string& address);

// The text --help prints.
std::string Usage();

// HERALD_* environment variables, name -> value.
using Environment = std::map<std::string, std::string>;

// The settings, and every problem found (each one line); the options are
// only meaningful when `errors` is empty.
struct ParsedOptions {
  HeraldOptions options;
  std::vector<std::string> errors;
};

// Parses `--name=value` flags (booleans also as `--name`), merged over the
// environment `env` (HERALD_<NAME>) and over the TOML file named by
// --config or HERALD_CONFIG: flag > env > file > default. --help and
// --version ignore the environment and the file. Reports every problem.
ParsedOptions ParseOptionsReportingAll(const std::vector<std::string>& args,
                                       const Environment& env);

// As above, failing with the first problem. Errors name the flag (and the
// variable or file:line) and say what is wrong, in one line.
absl::StatusOr<HeraldOptions> ParseOptions(const std::vector<std::string>& args,
                                           const Environment& env);

// As above with the process's environment.
absl::StatusOr<HeraldOptions> ParseOptions(
    const std::vector<std::string>& args);

}  // namespace herald::service
