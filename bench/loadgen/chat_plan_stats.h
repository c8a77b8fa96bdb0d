#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/chat_plan.h"

namespace herald::bench {

// What a ChatPlan's population looks like, measured by walking it: server
// sizes (members and connections) and memberships per user, as quantiles.
// The loadgen prints it at start and puts it into its JSON.
class ChatPlanStats {
 public:
  explicit ChatPlanStats(const ChatPlan& plan);

  // Members per server, index 1..servers: the event mix's activity.
  const std::vector<int64_t>& members() const { return members_; }
  // Connections the size-weighted event reaches, on average.
  double mean_recipients() const { return mean_recipients_; }

  std::string Text() const;
  std::string Json() const;

 private:
  const ChatPlan& plan_;
  std::vector<int64_t> members_;
  std::vector<int64_t> connections_;
  std::vector<int64_t> sorted_members_;
  std::vector<int64_t> memberships_;  // per user, sorted
  double mean_recipients_ = 0;
};

}  // namespace herald::bench
