#include "service/admin_validation.h"

#include "absl/strings/str_cat.h"
#include "push/utf8.h"

namespace herald::service {

bool IsAdminCloseCode(uint32_t code) {
  return code == 1000 || code == 1001 || code == 1008 ||
         (code >= 4000 && code <= 4999);
}

absl::Status ValidateListConnections(const v1::ListConnectionsRequest& req) {
  if (req.user_id() <= 0) {
    return absl::InvalidArgumentError("user_id: must be positive");
  }
  return absl::OkStatus();
}

absl::Status ValidateDisconnect(const v1::DisconnectRequest& req) {
  if (req.user_id() <= 0) {
    return absl::InvalidArgumentError("user_id: must be positive");
  }
  if (!IsAdminCloseCode(req.code())) {
    return absl::InvalidArgumentError(
        absl::StrCat("code: ", req.code(),
                     " is not a close code herald sends (1000, 1001, 1008 "
                     "or 4000-4999)"));
  }
  if (req.reason().size() > kMaxCloseReasonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: ", req.reason().size(), " bytes, at most ",
                     kMaxCloseReasonBytes));
  }
  if (!IsValidUtf8(req.reason())) {
    return absl::InvalidArgumentError("reason: not valid UTF-8");
  }
  return absl::OkStatus();
}

}  // namespace herald::service
