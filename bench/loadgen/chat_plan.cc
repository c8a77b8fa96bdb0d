#include "bench/loadgen/chat_plan.h"

#include <algorithm>
#include <cmath>

#include "bench/loadgen/split_mix.h"

namespace herald::bench {
namespace {

double Unit(uint64_t draw) {
  return static_cast<double>(draw >> 11) * 0x1.0p-53;  // [0, 1)
}

}  // namespace

ChatPlan::ChatPlan(const Params& params) : params_(params) {
  double f = params_.dual_fraction;
  dual_users_ =
      std::llround(static_cast<double>(params_.connections) * f / (1.0 + f));
  users_ = params_.connections - dual_users_;
  cumulative_.resize(params_.servers);
  double sum = 0;
  for (int r = 1; r <= params_.servers; ++r) {
    sum += 1.0 / std::pow(r + params_.zipf_q, params_.zipf_s);
    cumulative_[r - 1] = sum;
  }
}

int ChatPlan::DefaultServers(int64_t connections) {
  return static_cast<int>(std::max<int64_t>(20, connections * 2 / 19));
}

int64_t ChatPlan::UserOfConnection(int64_t index) const {
  if (index < users_ || dual_users_ == 0) return index + 1;
  // The second connections belong to users spread evenly over 1..users.
  int64_t d = (index - users_) % dual_users_;
  return 1 + d * users_ / dual_users_;
}

int ChatPlan::ConnectionsOf(int64_t user) const {
  if (dual_users_ == 0) return 1;
  // user is dual when user - 1 == floor(d * users / dual) for some d.
  int64_t d = ((user - 1) * dual_users_ + users_ - 1) / users_;
  return d < dual_users_ && 1 + d * users_ / dual_users_ == user ? 2 : 1;
}

// m in min..max with P(m <= min + k) growing like (k / span)^(1/2.5): half
// the users are in at most 5 servers (of 3..20), a tenth in 15 or more.
int ChatPlan::MembershipsOf(uint64_t draw) const {
  int span = params_.max_memberships - params_.min_memberships + 1;
  int m = params_.min_memberships +
          static_cast<int>(span * std::pow(Unit(draw), 2.5));
  return std::min({m, params_.max_memberships, params_.servers});
}

int32_t ChatPlan::PickServer(uint64_t draw) const {
  double x = Unit(draw) * cumulative_.back();
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
  auto r = static_cast<int32_t>(it - cumulative_.begin()) + 1;
  return std::min(r, static_cast<int32_t>(params_.servers));
}

void ChatPlan::ServersOf(int64_t user, std::vector<int32_t>* out) const {
  out->clear();
  SplitMix rng(params_.seed * 0xD1B54A32D192ED03ULL ^
               static_cast<uint64_t>(user) * 0x9E3779B97F4A7C15ULL);
  int m = MembershipsOf(rng.Next());
  while (static_cast<int>(out->size()) < m) {
    int32_t s = PickServer(rng.Next());
    if (std::find(out->begin(), out->end(), s) == out->end()) out->push_back(s);
  }
  std::sort(out->begin(), out->end());
}

void ChatPlan::Sizes(std::vector<int64_t>* members,
                     std::vector<int64_t>* connections) const {
  members->assign(params_.servers + 1, 0);
  connections->assign(params_.servers + 1, 0);
  std::vector<int32_t> mine;
  for (int64_t u = 1; u <= users_; ++u) {
    ServersOf(u, &mine);
    int c = ConnectionsOf(u);
    for (int32_t s : mine) {
      ++(*members)[s];
      (*connections)[s] += c;
    }
  }
}

}  // namespace herald::bench
