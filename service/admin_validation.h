#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "herald/v1/admin.pb.h"

namespace herald::service {

// Checks of the HeraldAdmin requests. Errors are INVALID_ARGUMENT naming
// the field ("code: ..."). Stateless; any thread.

// Close codes an operator may send: 1000 (normal), 1001 (going away), 1008
// (policy violation), and the application range 4000-4999.
bool IsAdminCloseCode(uint32_t code);

// The most bytes a close reason may have (a close frame's payload is at
// most 125 bytes, two of them the code).
inline constexpr size_t kMaxCloseReasonBytes = 123;

absl::Status ValidateListConnections(const v1::ListConnectionsRequest& req);
// The reason's UTF-8 is checked when the request is parsed (ParseRequest).
absl::Status ValidateDisconnect(const v1::DisconnectRequest& req);

}  // namespace herald::service
