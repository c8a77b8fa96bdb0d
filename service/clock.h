#pragma once

#include <chrono>
#include <cstdint>

namespace herald::service {

// Wall-clock time in microseconds since the Unix epoch.
inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace herald::service
