#include "service/cluster/sequencer.h"

#include <utility>

namespace herald::service::cluster {

void Sequencer::Run(Task task) {
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(task));
    if (active_ || draining_) return;
    draining_ = true;
  }
  Drain();
}

size_t Sequencer::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void Sequencer::Released() {
  {
    absl::MutexLock lock(&mu_);
    active_ = false;
    if (draining_) return;  // the draining thread starts the next one
    draining_ = true;
  }
  Drain();
}

void Sequencer::Drain() {
  for (;;) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      if (active_ || queue_.empty()) {
        draining_ = false;
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
      active_ = true;
    }
    std::move(task)([this] { Released(); });
  }
}

}  // namespace herald::service::cluster
