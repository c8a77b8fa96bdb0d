#include "bench/loadgen/chat_plan_stats.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace herald::bench {
namespace {

constexpr double kQuantiles[] = {0.5, 0.9, 0.99, 1.0};
constexpr const char* kQuantileNames[] = {"p50", "p90", "p99", "max"};

int64_t Quantile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

std::string QuantilesJson(const std::vector<int64_t>& sorted) {
  std::string out = "{";
  for (size_t i = 0; i < std::size(kQuantiles); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    out.append(kQuantileNames[i]);
    out.append("\":");
    out.append(std::to_string(Quantile(sorted, kQuantiles[i])));
  }
  out.push_back('}');
  return out;
}

}  // namespace

ChatPlanStats::ChatPlanStats(const ChatPlan& plan) : plan_(plan) {
  plan.Sizes(&members_, &connections_);
  sorted_members_.assign(members_.begin() + 1, members_.end());
  std::sort(sorted_members_.begin(), sorted_members_.end());
  std::vector<int32_t> mine;
  memberships_.reserve(plan.users());
  for (int64_t u = 1; u <= plan.users(); ++u) {
    plan.ServersOf(u, &mine);
    memberships_.push_back(static_cast<int64_t>(mine.size()));
  }
  std::sort(memberships_.begin(), memberships_.end());
  double weight = 0;
  double reach = 0;
  for (size_t s = 1; s < members_.size(); ++s) {
    weight += static_cast<double>(members_[s]);
    reach +=
        static_cast<double>(members_[s]) * static_cast<double>(connections_[s]);
  }
  mean_recipients_ = weight > 0 ? reach / weight : 0;
}

std::string ChatPlanStats::Text() const {
  const ChatPlan::Params& p = plan_.params();
  int64_t over_1000 =
      std::count_if(sorted_members_.begin(), sorted_members_.end(),
                    [](int64_t m) { return m >= 1000; });
  char buf[512];
  snprintf(buf, sizeof buf,
           "chat plan: %lld connections, %lld users (%lld with two), %d "
           "servers (Zipf s=%.2f q=%.0f)\n"
           "  server members p50=%lld p90=%lld p99=%lld max=%lld, %lld "
           "servers >= 1000\n"
           "  memberships per user p50=%lld p90=%lld max=%lld; mean "
           "recipients per event %.0f",
           static_cast<long long>(p.connections),
           static_cast<long long>(plan_.users()),
           static_cast<long long>(plan_.dual_users()), p.servers, p.zipf_s,
           p.zipf_q, static_cast<long long>(Quantile(sorted_members_, 0.5)),
           static_cast<long long>(Quantile(sorted_members_, 0.9)),
           static_cast<long long>(Quantile(sorted_members_, 0.99)),
           static_cast<long long>(Quantile(sorted_members_, 1.0)),
           static_cast<long long>(over_1000),
           static_cast<long long>(Quantile(memberships_, 0.5)),
           static_cast<long long>(Quantile(memberships_, 0.9)),
           static_cast<long long>(Quantile(memberships_, 1.0)),
           mean_recipients_);
  return buf;
}

std::string ChatPlanStats::Json() const {
  const ChatPlan::Params& p = plan_.params();
  char head[256];
  snprintf(head, sizeof head,
           "{\"connections\":%lld,\"users\":%lld,\"dual_users\":%lld,"
           "\"servers\":%d,\"zipf_s\":%.3f,\"zipf_q\":%.3f,"
           "\"mean_recipients\":%.1f,",
           static_cast<long long>(p.connections),
           static_cast<long long>(plan_.users()),
           static_cast<long long>(plan_.dual_users()), p.servers, p.zipf_s,
           p.zipf_q, mean_recipients_);
  std::vector<int64_t> top(
      sorted_members_.rbegin(),
      sorted_members_.rbegin() + std::min<size_t>(5, sorted_members_.size()));
  std::string out = head;
  out.append("\"members\":");
  out.append(QuantilesJson(sorted_members_));
  out.append(",\"memberships\":");
  out.append(QuantilesJson(memberships_));
  out.append(",\"top_members\":[");
  for (size_t i = 0; i < top.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(std::to_string(top[i]));
  }
  out.append("]}");
  return out;
}

}  // namespace herald::bench
