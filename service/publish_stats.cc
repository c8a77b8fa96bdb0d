#include "service/publish_stats.h"

namespace herald::service {

void PublishStats::CountEvent(std::string_view name) {
  absl::MutexLock lock(&mu_);
  ++events_[std::string(name)];
  ++total_;
}

std::map<std::string, uint64_t> PublishStats::events() const {
  absl::MutexLock lock(&mu_);
  return std::map<std::string, uint64_t>(events_.begin(), events_.end());
}

uint64_t PublishStats::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

}  // namespace herald::service
