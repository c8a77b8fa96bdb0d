#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace herald::service {

// Joins several asynchronous completions (registry commits, routing) into
// one: `on_done` runs once, with the first error if any, after every part
// has completed and Arm() was called.
//
// Thread-safe: parts complete on any thread; on_done runs on the thread of
// the last one.
class Countdown : public std::enable_shared_from_this<Countdown> {
 public:
  using Callback = absl::AnyInvocable<void(absl::Status) &&>;

  static std::shared_ptr<Countdown> Create(Callback on_done) {
    return std::shared_ptr<Countdown>(new Countdown(std::move(on_done)));
  }

  // A completion callback for one more part.
  absl::AnyInvocable<void(absl::Status) &&> Part() {
    pending_.fetch_add(1, std::memory_order_relaxed);
    return [self = shared_from_this()](absl::Status status) {
      self->Complete(std::move(status));
    };
  }

  // Every part has been handed out.
  void Arm() { Complete(absl::OkStatus()); }

  // Runs on_done now with `status` (a part could not even start); later
  // completions do nothing.
  void Abort(absl::Status status) { Finish(std::move(status)); }

 private:
  explicit Countdown(Callback on_done) : on_done_(std::move(on_done)) {}

  void Complete(absl::Status status) {
    if (!status.ok()) {
      absl::MutexLock lock(&mu_);
      if (first_error_.ok()) first_error_ = std::move(status);
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      absl::Status result;
      {
        absl::MutexLock lock(&mu_);
        result = first_error_;
      }
      Finish(std::move(result));
    }
  }

  void Finish(absl::Status status) {
    if (finished_.exchange(true, std::memory_order_acq_rel)) return;
    std::move(on_done_)(std::move(status));
  }

  std::atomic<int> pending_{1};  // the Arm() hold
  std::atomic<bool> finished_{false};
  absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  Callback on_done_;
};

}  // namespace herald::service
