#pragma once

#include <cstdint>

namespace herald::service {

// This process's resource use, read from /proc/self (zeros where it cannot
// be read).
struct ProcessStats {
  uint64_t rss_bytes = 0;
  uint64_t open_fds = 0;
  double cpu_seconds = 0;  // user + system

  static ProcessStats Read();
};

}  // namespace herald::service
