#include "bench/loadgen/slice_schedule.h"

#include <algorithm>

namespace herald::bench {

SliceSchedule::SliceSchedule(int64_t epoch_ns, int64_t slice_ns, int phase,
                             int phases, int64_t settle_ns)
    : epoch_ns_(epoch_ns),
      slice_ns_(slice_ns),
      period_ns_(slice_ns * phases),
      begin_ns_(slice_ns * phase),
      settle_ns_(std::clamp<int64_t>(settle_ns, 0, slice_ns)) {}

int64_t SliceSchedule::OffsetInPeriod(int64_t ns) const {
  if (!enabled()) return 0;
  int64_t off = (ns - epoch_ns_) % period_ns_;
  return off < 0 ? off + period_ns_ : off;
}

bool SliceSchedule::Active(int64_t ns) const {
  if (!enabled()) return true;
  if (ns < epoch_ns_) return false;
  int64_t off = OffsetInPeriod(ns);
  return off >= begin_ns_ && off < begin_ns_ + slice_ns_;
}

bool SliceSchedule::Counted(int64_t ns) const {
  if (!enabled()) return true;
  if (ns < epoch_ns_) return false;
  int64_t off = OffsetInPeriod(ns);
  return off >= begin_ns_ + settle_ns_ && off < begin_ns_ + slice_ns_;
}

int64_t SliceSchedule::NextActive(int64_t ns) const {
  if (!enabled() || Active(ns)) return ns;
  if (ns < epoch_ns_) return epoch_ns_ + begin_ns_;
  int64_t start = ns - OffsetInPeriod(ns) + begin_ns_;
  return start > ns ? start : start + period_ns_;
}

int64_t SliceSchedule::ActiveEnd(int64_t ns) const {
  if (!enabled()) return INT64_MAX;
  return ns - OffsetInPeriod(ns) + begin_ns_ + slice_ns_;
}

int64_t SliceSchedule::CountedNs(int64_t begin, int64_t end) const {
  if (end <= begin) return 0;
  if (!enabled()) return end - begin;
  begin = std::max(begin, epoch_ns_);
  if (end <= begin) return 0;
  // Whole periods from the one holding `begin`, each counted slice clipped.
  int64_t total = 0;
  for (int64_t p = begin - OffsetInPeriod(begin); p < end; p += period_ns_) {
    int64_t a = std::max(begin, p + begin_ns_ + settle_ns_);
    int64_t b = std::min(end, p + begin_ns_ + slice_ns_);
    if (b > a) total += b - a;
  }
  return total;
}

int64_t SliceSchedule::NextEpoch(int64_t now_ns, int64_t period_ns,
                                 int64_t lead_ns) {
  int64_t t = now_ns + lead_ns;
  return (t + period_ns - 1) / period_ns * period_ns;
}

}  // namespace herald::bench
