#pragma once

#include <cstdint>
#include <vector>

#include "bench/loadgen/membership_plan.h"

namespace herald::bench {

// Which servers each user belongs to: `memberships` distinct servers out of
// 1..`servers`, drawn from a generator seeded by (seed, user), so every
// process computes the same answer for the same user without coordination.
// Immutable after construction; safe to share between threads.
class ServerPlan : public MembershipPlan {
 public:
  ServerPlan(int servers, int memberships, uint64_t seed)
      : servers_(servers), memberships_(memberships), seed_(seed) {}

  int servers() const override { return servers_; }
  int memberships() const { return memberships_; }

  // Fills *out (cleared first) with the user's servers, ascending.
  void ServersOf(int64_t user, std::vector<int32_t>* out) const override;

 private:
  int servers_;
  int memberships_;
  uint64_t seed_;
};

}  // namespace herald::bench
