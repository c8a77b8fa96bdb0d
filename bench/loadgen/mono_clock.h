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

}  // namespace herald::bench
