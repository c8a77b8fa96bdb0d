#pragma once

#include <cstdint>
#include <vector>

#include "bench/loadgen/membership_plan.h"

namespace herald::bench {

// The chat scenario's population (bench/README.md, "chat"): `connections`
// sockets held by fewer users (a few percent of them connect twice), and
// `servers` servers whose sizes follow a Zipf-Mandelbrot law: each user
// joins m servers (m from min..max, skewed to the low end), drawn without
// repetition with probability proportional to 1 / (rank + q)^s. Everything
// is a pure function of the parameters and the seed, so every process
// computes the same population. Immutable; safe to share between threads.
class ChatPlan : public MembershipPlan {
 public:
  struct Params {
    int64_t connections = 19000;  // the whole population's sockets
    double dual_fraction = 0.03;  // share of users with two connections
    int servers = 2000;
    double zipf_s = 1.1;
    double zipf_q = 10;
    int min_memberships = 3;
    int max_memberships = 20;
    uint64_t seed = 1;
  };

  explicit ChatPlan(const Params& params);

  // The default server count for a population: 2000 at 19,000 connections,
  // proportionally fewer for smaller runs (at least 20).
  static int DefaultServers(int64_t connections);

  int servers() const override { return params_.servers; }
  void ServersOf(int64_t user, std::vector<int32_t>* out) const override;
  int64_t UserOfConnection(int64_t index) const override;

  const Params& params() const { return params_; }
  int64_t users() const { return users_; }
  int64_t dual_users() const { return dual_users_; }
  // 1 or 2.
  int ConnectionsOf(int64_t user) const;
  // Members (users) and connections per server, index 1..servers (index 0
  // unused), over the whole population.
  void Sizes(std::vector<int64_t>* members,
             std::vector<int64_t>* connections) const;

 private:
  int MembershipsOf(uint64_t draw) const;
  int32_t PickServer(uint64_t draw) const;

  Params params_;
  int64_t users_;
  int64_t dual_users_;
  std::vector<double> cumulative_;  // Zipf weights, rank 1..servers
};

}  // namespace herald::bench
