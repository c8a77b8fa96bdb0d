// herald-metrics-cost: nanoseconds per call of the counting the delivery
// path does (push/worker_stats.h), measured on this machine:
//   - a SingleWriterCounter Add (per event per worker in Worker::Deliver,
//     twice: frames and bytes);
//   - a flush_queue_bytes Histogram Observe (per connection per flush: in
//     unbatched fan-out, once per frame).
// Prints one line per operation. Run pinned: taskset -c 0 herald-metrics-cost
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "push/worker_stats.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kCalls = 200'000'000;

template <typename F>
double NanosPerCall(F&& f) {
  const auto start = Clock::now();
  for (int i = 0; i < kCalls; ++i) f(i);
  const auto end = Clock::now();
  return std::chrono::duration<double, std::nano>(end - start).count() / kCalls;
}

}  // namespace

int main() {
  herald::push::WorkerStats stats;
  // Values spread over the buckets as real queue depths are (mostly small).
  const double empty = NanosPerCall([](int) {
    asm volatile("" ::: "memory");  // the loop alone
  });
  const double add = NanosPerCall([&](int i) {
    stats.frames_delivered.Add(static_cast<uint64_t>(i & 7));
    asm volatile("" ::: "memory");
  });
  const double observe = NanosPerCall([&](int i) {
    stats.flush_queue_bytes.Observe(static_cast<double>((i & 1023) * 37));
    asm volatile("" ::: "memory");
  });
  std::printf("loop                 %.2f ns/call\n", empty);
  std::printf("counter Add          %.2f ns/call\n", add - empty);
  std::printf("histogram Observe    %.2f ns/call\n", observe - empty);
  std::printf(
      "(check: %llu frames, %llu observations)\n",
      static_cast<unsigned long long>(stats.frames_delivered.Get()),
      static_cast<unsigned long long>(stats.flush_queue_bytes.Read().count));
  return 0;
}
