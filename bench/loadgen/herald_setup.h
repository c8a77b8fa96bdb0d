#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/membership_plan.h"
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

  // The users of population connections first .. first+count-1 (each user
  // once). Returns false and sets *error when a call failed.
  bool Run(int64_t first, int count, const MembershipPlan& plan,
           std::string* error);

 private:
  static std::vector<int64_t> UsersOf(int64_t first, int count,
                                      const MembershipPlan& plan);

  std::string address_;
  herald::tools::GrpcClientAuth auth_;
};

}  // namespace herald::bench
