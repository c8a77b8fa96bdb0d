#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

#include "bench/loadgen/event_ring.h"
#include "bench/loadgen/slice_schedule.h"
#include "bench/loadgen/worker_stats.h"

namespace herald::bench {

// window_start() before the window is set.
inline constexpr int64_t kNoWindow = std::numeric_limits<int64_t>::max();

// What the threads of one run share: the event ring, the number of open
// connections per server (the receipts the publisher expects), the
// measurement window and the stop flag. Created by the main thread before
// any worker starts; every member is an atomic or internally synchronised.
class RunState {
 public:
  explicit RunState(int servers)
      : servers_(servers), open_(new std::atomic<int32_t>[servers + 1]) {
    for (int i = 0; i <= servers; ++i) open_[i].store(0);
  }

  EventRing& ring() { return ring_; }

  void AddOpen(int server, int32_t delta) {
    if (server >= 1 && server <= servers_) {
      open_[server].fetch_add(delta, std::memory_order_relaxed);
    }
  }
  int32_t OpenOf(int server) const {
    return open_[server].load(std::memory_order_relaxed);
  }

  // A paired run's slices: set by the main thread before SetWindow, whose
  // release store publishes it; read only after window_start() returned
  // something other than kNoWindow (Worker copies it then).
  void SetSlices(const SliceSchedule& slices) { slices_ = slices; }
  const SliceSchedule& slices() const { return slices_; }

  // Deliveries received in [start, end), and in the counted part of the
  // slices if any, count towards the results.
  void SetWindow(int64_t start_ns, int64_t end_ns) {
    window_end_.store(end_ns, std::memory_order_relaxed);
    window_start_.store(start_ns, std::memory_order_release);
  }
  int64_t window_start() const {
    return window_start_.load(std::memory_order_acquire);
  }
  int64_t window_end() const {
    return window_end_.load(std::memory_order_relaxed);
  }

  // The chat sweep's step windows: receipts inside [start, end) of step k
  // count towards step k. Set by the publisher thread before the step.
  void SetStepWindow(int k, int64_t start_ns, int64_t end_ns) {
    step_end_[k].store(end_ns, std::memory_order_relaxed);
    step_start_[k].store(start_ns, std::memory_order_release);
  }
  // The step whose window holds `ns`, or -1.
  int StepAt(int64_t ns) const {
    for (int k = 0; k < kMaxChatSteps; ++k) {
      if (ns >= step_start_[k].load(std::memory_order_acquire) &&
          ns < step_end_[k].load(std::memory_order_relaxed)) {
        return k;
      }
    }
    return -1;
  }

  void Stop() { stop_.store(true, std::memory_order_release); }
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

 private:
  int servers_;
  std::unique_ptr<std::atomic<int32_t>[]> open_;
  EventRing ring_;
  SliceSchedule slices_;
  std::atomic<int64_t> window_start_{kNoWindow};
  std::atomic<int64_t> window_end_{std::numeric_limits<int64_t>::max()};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> step_start_[kMaxChatSteps] = {};
  std::atomic<int64_t> step_end_[kMaxChatSteps] = {};
};

}  // namespace herald::bench
