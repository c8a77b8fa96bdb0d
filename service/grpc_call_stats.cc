#include "service/grpc_call_stats.h"

#include <array>
#include <string_view>

namespace herald::service {

void GrpcCallStats::Count(const char* method, int code) {
  std::string_view name = method == nullptr ? "" : method;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  Key key(std::string(name), CodeName(code));
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(key);
  if (it == calls_.end() && calls_.size() >= kMaxSeries) {
    key.first = "other";
    it = calls_.find(key);
  }
  if (it == calls_.end()) it = calls_.emplace(std::move(key), 0).first;
  ++it->second;
}

std::map<GrpcCallStats::Key, uint64_t> GrpcCallStats::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

std::string GrpcCallStats::CodeName(int code) {
  static constexpr std::array<const char*, 17> kNames = {"OK",
                                                         "CANCELLED",
                                                         "UNKNOWN",
                                                         "INVALID_ARGUMENT",
                                                         "DEADLINE_EXCEEDED",
                                                         "NOT_FOUND",
                                                         "ALREADY_EXISTS",
                                                         "PERMISSION_DENIED",
                                                         "RESOURCE_EXHAUSTED",
                                                         "FAILED_PRECONDITION",
                                                         "ABORTED",
                                                         "OUT_OF_RANGE",
                                                         "UNIMPLEMENTED",
                                                         "INTERNAL",
                                                         "UNAVAILABLE",
                                                         "DATA_LOSS",
                                                         "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(kNames.size())) return kNames[code];
  return std::to_string(code);
}

}  // namespace herald::service
