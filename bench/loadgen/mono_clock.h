#pragma once

#include <time.h>

#include <cstdint>

namespace herald::bench {

// CLOCK_MONOTONIC in nanoseconds: the clock of the "T<ns>" stamps, shared
// by every process on the machine. Callable from any thread.
inline int64_t MonoNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// CLOCK_REALTIME minus CLOCK_MONOTONIC now, in nanoseconds: adds to a
// MonoNowNs() stamp to put it on the wall clock. Any thread.
inline int64_t RealtimeMinusMonotonicNs() {
  timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  const int64_t mono = MonoNowNs();
  return static_cast<int64_t>(real.tv_sec) * 1000000000 + real.tv_nsec - mono;
}

}  // namespace herald::bench
