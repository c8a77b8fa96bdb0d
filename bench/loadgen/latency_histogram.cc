#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace herald::bench {

LatencyHistogram::LatencyHistogram() { counts_.fill(0); }

// Values below 2^(kSubBits+1) map to themselves. Above, with msb the index
// of the highest set bit and shift = msb - kSubBits, the value keeps its top
// kSubBits+1 bits: index = shift * 2^kSubBits + (v >> shift), which lies in
// [(shift+1) * 2^kSubBits, (shift+2) * 2^kSubBits).
int LatencyHistogram::Index(uint64_t v) {
  constexpr uint64_t kLinear = uint64_t{1} << (kSubBits + 1);
  if (v < kLinear) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBits;
  if (shift > kMaxShift) return kBuckets - 1;
  return (shift << kSubBits) + static_cast<int>(v >> shift);
}

uint64_t LatencyHistogram::LowestOf(int index) {
  constexpr int kLinear = 1 << (kSubBits + 1);
  if (index < kLinear) return static_cast<uint64_t>(index);
  int shift = (index >> kSubBits) - 1;
  uint64_t top = static_cast<uint64_t>(index - (shift << kSubBits));
  return top << shift;
}

uint64_t LatencyHistogram::HighestOf(int index) {
  constexpr int kLinear = 1 << (kSubBits + 1);
  if (index < kLinear) return static_cast<uint64_t>(index);
  int shift = (index >> kSubBits) - 1;
  return LowestOf(index) + (uint64_t{1} << shift) - 1;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Quantile(double q) const {
  if (total_ == 0) return 0;
  uint64_t rank =
      static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      uint64_t mid = (LowestOf(i) + HighestOf(i)) / 2;
      return std::min(mid, max_);
    }
  }
  return max_;
}

}  // namespace herald::bench
