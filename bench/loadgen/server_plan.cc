#include "bench/loadgen/server_plan.h"

#include <algorithm>

#include "bench/loadgen/split_mix.h"

namespace herald::bench {

void ServerPlan::ServersOf(int64_t user, std::vector<int32_t>* out) const {
  out->clear();
  if (memberships_ >= servers_) {
    for (int s = 1; s <= servers_; ++s) out->push_back(s);
    return;
  }
  SplitMix rng(seed_ * 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(user));
  while (static_cast<int>(out->size()) < memberships_) {
    int32_t s = static_cast<int32_t>(rng.Below(servers_)) + 1;
    if (std::find(out->begin(), out->end(), s) == out->end()) out->push_back(s);
  }
  std::sort(out->begin(), out->end());
}

}  // namespace herald::bench
