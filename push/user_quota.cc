#include "push/user_quota.h"

namespace herald::push {

bool UserQuota::TryAcquire(int64_t user, size_t max) {
  absl::MutexLock lock(&mu_);
  uint32_t& open = open_[user];
  if (max != 0 && open >= max) {
    if (open == 0) open_.erase(user);
    return false;
  }
  ++open;
  return true;
}

void UserQuota::Release(int64_t user) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(user);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t UserQuota::users() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

}  // namespace herald::push
