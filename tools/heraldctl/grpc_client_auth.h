#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace herald::tools {

// How a client (heraldctl, herald-loadgen) authenticates to herald's gRPC
// API, from the flags --grpc_ca, --grpc_cert, --grpc_key and
// --grpc_token_file. TLS is used when --grpc_ca or --grpc_cert is given
// (without --grpc_ca the system's roots verify the server); --grpc_cert and
// --grpc_key present a client certificate (herald's --grpc_client_ca); the
// token from --grpc_token_file goes with every call as
// `authorization: Bearer <token>`, with or without TLS. Plain data; the
// main thread builds it.
struct GrpcClientAuth {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token_file;

  bool tls() const { return !ca_file.empty() || !cert_file.empty(); }
  // A usage error for contradictory flags (a certificate without its key).
  absl::Status Check() const;
};

// The bearer token in `path`, surrounding whitespace trimmed; an error names
// --grpc_token_file and says what is wrong (unreadable, empty).
absl::StatusOr<std::string> ReadClientToken(const std::string& path);

// A channel to `address` with `auth`'s credentials. Reads the files now:
// errors name the flag and the file. The channel connects on first use.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateHeraldChannel(
    const std::string& address, const GrpcClientAuth& auth);

}  // namespace herald::tools
