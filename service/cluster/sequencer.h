#pragma once

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace herald::service::cluster {

// Per-node FIFO for the control plane's sends to Redis: tasks start one at
// a time, in the order Run() was called, and the next one starts only when
// the running one calls its Release. A task calls Release once its last
// command is handed to the RedisClient (right away for one command; after
// phase 2 for a two-phase user_joined), so commands reach Redis in call
// order and a held task holds every later one.
//
// Thread-safe. A task runs on the thread of the Run() or Release() call
// that made it the head of the queue; the loop is iterative, so tasks that
// release at once do not nest.
class Sequencer {
 public:
  // Must be called exactly once, from any thread.
  using Release = absl::AnyInvocable<void() &&>;
  using Task = absl::AnyInvocable<void(Release) &&>;

  Sequencer() = default;
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  void Run(Task task);

  // Tasks queued behind the running one (for tests and metrics).
  size_t queued() const;

 private:
  void Released();
  // Starts queued tasks until one holds or the queue is empty.
  void Drain();

  mutable absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool active_ ABSL_GUARDED_BY(mu_) = false;    // a task has not released
  bool draining_ ABSL_GUARDED_BY(mu_) = false;  // a thread is in Drain()
};

}  // namespace herald::service::cluster
