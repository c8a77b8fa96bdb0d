#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/heraldctl/flags.h"
#include "tools/heraldctl/grpc_client_auth.h"

namespace herald::tools {

// The flags that say how to reach herald's gRPC API, which every gRPC
// command takes besides its request's: --grpc, --timeout_ms and the
// credential flags.
const std::vector<std::string>& GrpcConnectionFlags();

// --grpc_ca, --grpc_cert, --grpc_key, --grpc_token_file; each needs a
// non-empty FILE, and --grpc_cert and --grpc_key go together.
absl::StatusOr<GrpcClientAuth> ReadGrpcClientAuth(const Flags& flags);

}  // namespace herald::tools
