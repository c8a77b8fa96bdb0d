#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace herald::push {

// Admitted main-socket connections per user, across every worker. Touched
// only when a connection is admitted or ends, never on the delivery path;
// users with no connection have no entry.
//
// Thread: thread-safe (every worker admits and closes).
class UserQuota {
 public:
  // Counts a connection of `user` unless it already has `max` (0: no limit).
  bool TryAcquire(int64_t user, size_t max);
  void Release(int64_t user);
  size_t users() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, uint32_t> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::push
