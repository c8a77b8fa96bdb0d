#pragma once

#include <array>
#include <cstdint>

namespace herald::bench {

// HDR-style log-linear histogram of latencies in microseconds: exact below
// 256 µs, then 128 linear sub-buckets per power of two (under 0.8% relative
// error) up to 2^40 µs. Recording is a handful of instructions and never
// allocates. Owned by one thread (each worker keeps its own); the main
// thread merges them after the workers stopped.
class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t us) {
    ++counts_[Index(us)];
    ++total_;
    if (us > max_) max_ = us;
  }
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // The value at quantile q (0..1): the midpoint of its bucket, never above
  // the recorded maximum. 0 when empty.
  uint64_t Quantile(double q) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxShift = 40;
  static constexpr int kBuckets = (kMaxShift + 2) << kSubBits;

  static int Index(uint64_t v);
  static uint64_t LowestOf(int index);
  static uint64_t HighestOf(int index);

  std::array<uint64_t, kBuckets> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace herald::bench
