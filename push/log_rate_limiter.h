#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "push/log.h"

namespace herald {

// Bounds the records of each LogKind one thread writes: at most `per_sec`
// in each second (a fixed window), the rest counted as suppressed and
// reported, at most once a second, through TakeSuppressed.
//
// Thread: owned by one thread (log.cc keeps one per thread), no locks.
class LogRateLimiter {
 public:
  struct Suppressed {
    LogKind kind;
    uint64_t count;
  };

  // Whether a record of `kind` may be written in second `now_s` (any
  // monotonic count of seconds) with at most `per_sec` a second (0: no
  // limit); if not, it is counted.
  bool Allow(LogKind kind, int64_t now_s, size_t per_sec);

  // The counts suppressed since the last report once the second of the
  // first of them is over (now_s is later); they are reset. Empty
  // otherwise: at most one report a second, each covering whole seconds.
  std::vector<Suppressed> TakeSuppressed(int64_t now_s);

  // Something is suppressed and waits for TakeSuppressed.
  bool pending() const { return pending_; }

 private:
  struct Window {
    int64_t second = INT64_MIN;
    size_t written = 0;
    uint64_t suppressed = 0;  // since the last report
  };
  std::array<Window, kLogKinds> windows_{};
  bool pending_ = false;
  int64_t pending_since_s_ = 0;  // the first suppression's second
};

}  // namespace herald
