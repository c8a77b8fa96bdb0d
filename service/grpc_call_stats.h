#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace herald::service {

// gRPC calls answered, by method ("herald.v1.Herald/Publish") and status
// code name ("OK", "INVALID_ARGUMENT"). Counted once per call by the
// GrpcMetricsInterceptor. The method name is the caller's (an unknown
// method is counted too), so at most kMaxSeries (method, code) pairs are
// kept; calls of a new pair beyond that count as method "other" (one more
// series per status code at most).
//
// Thread-safe.
class GrpcCallStats {
 public:
  using Key = std::pair<std::string, std::string>;  // method, code
  static constexpr size_t kMaxSeries = 256;

  void Count(const char* method, int code);
  std::map<Key, uint64_t> calls() const;  // ascending

  // "OK", "CANCELLED", ... for gRPC status codes 0-16, else the number.
  static std::string CodeName(int code);

 private:
  mutable absl::Mutex mu_;
  std::map<Key, uint64_t> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::service
