#pragma once

#include <span>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "push/histogram.h"

namespace herald::push {

// A Histogram observed from several threads: each observation takes a
// mutex. For events counted once per publish or commit, never per frame.
//
// Thread-safe.
class LockedHistogram {
 public:
  explicit LockedHistogram(std::span<const double> bounds)
      : histogram_(bounds) {}

  void Observe(double value) {
    absl::MutexLock lock(&mu_);
    histogram_.Observe(value);
  }
  // Reads the atomics without the mutex: never torn.
  HistogramSnapshot Read() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return histogram_.Read();
  }

 private:
  absl::Mutex mu_;
  Histogram histogram_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::push
