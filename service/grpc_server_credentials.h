#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "service/options.h"

namespace herald::service {

// The credentials the gRPC port is served with, built once on the main
// thread before the server starts:
//  - nothing configured (loopback only, see ParseOptions): plaintext;
//  - --grpc_tls_cert/--grpc_tls_key: TLS; with --grpc_client_ca the
//    handshake fails unless the client's certificate chains to that CA;
//  - --grpc_token_file: a BearerTokenProcessor on top (over TLS, or over
//    gRPC's local credentials, which also refuse non-loopback peers).
// Files are checked here so a mistake stops herald with a message naming
// the flag and the file.
// `address` is --grpc_address (a unix: one takes gRPC's local credentials
// for Unix sockets).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeGrpcServerCredentials(const GrpcAuthOptions& auth,
                          const std::string& address);

// How callers authenticate, for the start-up log: "plaintext, no
// authentication", "TLS, mutual TLS", "TLS, bearer token", ...
std::string GrpcAuthName(const GrpcAuthOptions& auth);

// The bearer token in `path`: surrounding whitespace trimmed; refused when
// the file is empty, larger than 4 KiB, holds characters outside printable
// ASCII (metadata values cannot carry them), or is readable or writable by
// other users (chmod 600). Group access is allowed with a warning.
absl::StatusOr<std::string> ReadGrpcTokenFile(const std::string& path);

}  // namespace herald::service
