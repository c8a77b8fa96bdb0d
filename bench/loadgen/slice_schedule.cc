#include "bench/loadgen/slice_schedule.h"

#include <algorithm>

namespace herald::bench {

SliceSchedule::SliceSchedule(int64_t epoch_ns, const Config& c)
    : epoch_ns_(epoch_ns),
      slice_ns_(c.slice_ns),
      period_ns_(c.slice_ns * c.phases),
      begin_ns_(c.slice_ns * c.phase),
      active_end_ns_(c.slice_ns -
                     std::clamp<int64_t>(c.tail_ns, 0, c.slice_ns)),
      counted_begin_ns_(std::clamp<int64_t>(c.settle_ns, 0, c.slice_ns)),
      counted_end_ns_(c.by_publish ? active_end_ns_ : c.slice_ns),
      by_publish_(c.by_publish) {}

int64_t SliceSchedule::OffsetInPeriod(int64_t ns) const {
  if (!enabled()) return 0;
  int64_t off = (ns - epoch_ns_) % period_ns_;
  return off < 0 ? off + period_ns_ : off;
}

bool SliceSchedule::InSlice(int64_t ns, int64_t from, int64_t to) const {
  if (ns < epoch_ns_) return false;
  int64_t off = OffsetInPeriod(ns) - begin_ns_;
  return off >= from && off < to;
}

bool SliceSchedule::Active(int64_t ns) const {
  return !enabled() || InSlice(ns, 0, active_end_ns_);
}

bool SliceSchedule::InCountedSpan(int64_t ns) const {
  return !enabled() || InSlice(ns, counted_begin_ns_, counted_end_ns_);
}

int64_t SliceSchedule::NextActive(int64_t ns) const {
  if (Active(ns)) return ns;
  if (ns < epoch_ns_) return epoch_ns_ + begin_ns_;
  int64_t start = ns - OffsetInPeriod(ns) + begin_ns_;
  return start > ns ? start : start + period_ns_;
}

int64_t SliceSchedule::CountedNs(int64_t begin, int64_t end) const {
  if (end <= begin) return 0;
  if (!enabled()) return end - begin;
  begin = std::max(begin, epoch_ns_);
  if (end <= begin) return 0;
  // Whole periods from the one holding `begin`, each counted span clipped.
  int64_t total = 0;
  for (int64_t p = begin - OffsetInPeriod(begin); p < end; p += period_ns_) {
    int64_t a = std::max(begin, p + begin_ns_ + counted_begin_ns_);
    int64_t b = std::min(end, p + begin_ns_ + counted_end_ns_);
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
