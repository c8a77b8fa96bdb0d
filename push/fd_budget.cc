#include "push/fd_budget.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace herald::push {

absl::Status FitDescriptorBudget(PushOptions& options, uint64_t nofile,
                                 bool max_connections_given,
                                 bool max_handshaking_given) {
  if (nofile < options.fd_reserve + 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RLIMIT_NOFILE is ", nofile,
        ", which leaves no descriptors for "
        "WebSocket sockets beyond --fd_reserve=",
        options.fd_reserve,
        "; raise the limit (ulimit -n, LimitNOFILE=) or lower --fd_reserve"));
  }
  const uint64_t budget = nofile - options.fd_reserve;
  if (!max_handshaking_given) {
    uint64_t derived =
        std::min<uint64_t>(1024, std::max<uint64_t>(1, budget / 8));
    if (max_connections_given && options.max_connections < budget) {
      derived = std::min<uint64_t>(derived, budget - options.max_connections);
    }
    options.max_handshaking =
        static_cast<size_t>(std::max<uint64_t>(derived, 1));
  }
  if (!max_connections_given) {
    if (options.max_handshaking >= budget) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--max_handshaking=", options.max_handshaking,
          " leaves no descriptors for admitted connections: RLIMIT_NOFILE is ",
          nofile, " and --fd_reserve=", options.fd_reserve));
    }
    options.max_connections =
        static_cast<size_t>(budget - options.max_handshaking);
  }
  const uint64_t need =
      uint64_t{options.max_connections} + uint64_t{options.max_handshaking};
  if (need > budget) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_connections=", options.max_connections,
        " plus --max_handshaking=", options.max_handshaking, " needs ", need,
        " descriptors, but RLIMIT_NOFILE is ", nofile,
        " and --fd_reserve=", options.fd_reserve, " leaves ", budget,
        "; raise the limit (ulimit -n, LimitNOFILE=) or lower the flags"));
  }
  return absl::OkStatus();
}

}  // namespace herald::push
