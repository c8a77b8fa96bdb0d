#include "push/log_rate_limiter.h"

namespace herald {

bool LogRateLimiter::Allow(LogKind kind, int64_t now_s, size_t per_sec) {
  Window& w = windows_[static_cast<size_t>(kind)];
  if (w.second != now_s) {
    w.second = now_s;
    w.written = 0;
  }
  if (per_sec == 0 || w.written < per_sec) {
    ++w.written;
    return true;
  }
  ++w.suppressed;
  if (!pending_) {
    pending_ = true;
    pending_since_s_ = now_s;
  }
  return false;
}

std::vector<LogRateLimiter::Suppressed> LogRateLimiter::TakeSuppressed(
    int64_t now_s) {
  std::vector<Suppressed> out;
  if (!pending_ || now_s <= pending_since_s_) return out;
  pending_ = false;
  for (size_t k = 0; k < windows_.size(); ++k) {
    if (windows_[k].suppressed == 0) continue;
    out.push_back({static_cast<LogKind>(k), windows_[k].suppressed});
    windows_[k].suppressed = 0;
  }
  return out;
}

}  // namespace herald
