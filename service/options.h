#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "push/push_options.h"
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

// Everything the herald binary is configured with.
struct HeraldOptions {
  push::PushOptions push;
  std::string grpc_address = "127.0.0.1:50051";
  GrpcAuthOptions grpc_auth;
  std::string state = "herald.db";
  bool tls_tickets = true;  // ticket keys default to <state>.ticket-keys
  size_t max_sessions = 1000000;
  size_t max_memberships = 10000000;
  size_t max_memberships_per_user = 100000;
  ValidationLimits limits;
  // Whether these limits were given; if not, HeraldApp derives them from
  // RLIMIT_NOFILE (push::FitDescriptorBudget).
  bool max_connections_given = false;
  bool max_handshaking_given = false;
  bool verbose = false;
  bool help = false;     // --help was given: print Usage() and exit 0
  bool version = false;  // --version: print "herald <version>" and exit 0
};

// True when gRPC's listening address `address` (HOST:PORT, [V6]:PORT,
// unix:PATH) only accepts connections from this host: localhost, 127/8,
// ::1, a Unix socket.
bool IsLoopbackGrpcAddress(const std::string& address);

// The text --help prints.
std::string Usage();

// Parses `--name=value` flags (booleans also as `--name`). Errors name the
// flag and say what is wrong, in one line.
absl::StatusOr<HeraldOptions> ParseOptions(
    const std::vector<std::string>& args);

}  // namespace herald::service
