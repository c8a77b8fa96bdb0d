#pragma once

#include <cstdint>
#include <string>

#include "bench/loadgen/server_plan.h"
#include "tools/heraldctl/grpc_client_auth.h"

namespace herald::bench {

// Prepares herald for this process's users before they connect: one
// OpenSession ("u<user>" -> user) and one SetMemberships (the user's
// servers from the plan) per user, many calls in flight at once through
// gRPC's callback API. Used by the main thread; gRPC's threads run the
// completions, which only touch the mutex-guarded counters.
class HeraldSetup {
 public:
  HeraldSetup(std::string address, herald::tools::GrpcClientAuth auth)
      : address_(std::move(address)), auth_(std::move(auth)) {}

  // Users first_user .. first_user+count-1. Returns false and sets *error
  // when a call failed.
  bool Run(int64_t first_user, int count, const ServerPlan& plan,
           std::string* error);

 private:
  std::string address_;
  herald::tools::GrpcClientAuth auth_;
};

}  // namespace herald::bench
