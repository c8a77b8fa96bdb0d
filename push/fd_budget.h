#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "push/push_options.h"

namespace herald::push {

// Keeps the WebSocket side's sockets below the process descriptor limit:
// admitted connections plus sockets still in their handshake may use
// `nofile - fd_reserve` descriptors, the rest is left to gRPC (which stops
// accepting for good after one EMFILE: grpc/grpc#16058), SQLite and logs.
// A limit not given (`*_given` false) is derived from that budget:
// max_handshaking = min(1024, budget / 8), max_connections = the rest. An
// explicit limit that does not fit is an error naming the numbers.
//
// Thread: a pure function, any thread.
absl::Status FitDescriptorBudget(PushOptions& options, uint64_t nofile,
                                 bool max_connections_given,
                                 bool max_handshaking_given);

}  // namespace herald::push
