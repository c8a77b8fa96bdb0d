#include "service/control_executor.h"

#include <utility>

namespace herald::service {

ControlExecutor::ControlExecutor() : thread_([this] { Run(); }) {}

ControlExecutor::~ControlExecutor() { Stop(); }

void ControlExecutor::Post(Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      tasks_.push_back(std::move(task));
      return;
    }
  }
  std::move(task)();
}

void ControlExecutor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void ControlExecutor::Run() {
  for (;;) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !tasks_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (tasks_.empty()) {
        stopped_ = true;  // later posts run inline
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::move(task)();
  }
}

}  // namespace herald::service
