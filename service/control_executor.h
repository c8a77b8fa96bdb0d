#pragma once

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace herald::service {

// The control plane's own thread. Completions that arrive on threads the
// control plane does not own (the push workers, the SQLite writer) are
// posted here, so gRPC reactors are finished, and their state advanced, on a
// thread that holds none of their locks and none of the data plane's time.
//
// Threading: Post() is thread-safe and never blocks on a task; tasks run one
// at a time, in the order they were posted, on the executor's thread. After
// Stop() (or during it, from a task) Post() runs the task on the caller's
// thread.
class ControlExecutor {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  ControlExecutor();
  ControlExecutor(const ControlExecutor&) = delete;
  ControlExecutor& operator=(const ControlExecutor&) = delete;
  ~ControlExecutor();  // Stop()

  void Post(Task task);

  // Runs every task posted so far, then joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace herald::service
