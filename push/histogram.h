#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace herald::push {

// What a Histogram held at one moment: per-bucket (not cumulative) counts,
// one more than `bounds` (the last is the +Inf bucket), their sum and count.
// Plain data; snapshots of histograms with the same bounds add up.
struct HistogramSnapshot {
  std::vector<double> bounds;    // upper bounds, ascending
  std::vector<uint64_t> counts;  // bounds.size() + 1
  double sum = 0;
  uint64_t count = 0;

  // Adds `other` (same bounds; an empty snapshot takes other's bounds).
  void Add(const HistogramSnapshot& other) {
    if (counts.empty()) {
      *this = other;
      return;
    }
    for (size_t i = 0; i < counts.size() && i < other.counts.size(); ++i) {
      counts[i] += other.counts[i];
    }
    sum += other.sum;
    count += other.count;
  }
};

// A histogram with fixed buckets, cheap enough for the delivery path: an
// observation is a short bucket search and relaxed loads and stores of
// atomics, never a locked read-modify-write.
//
// Thread: Observe from one writer thread at a time (the owner; callers that
// observe from several threads serialise it with a mutex); Read from any
// thread (it may see an observation half counted, never a torn value).
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 16;

  // `bounds`: ascending upper bounds, at most kMaxBounds; static storage.
  explicit Histogram(std::span<const double> bounds) : bounds_(bounds) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value) {
    size_t i = 0;
    const size_t n = bounds_.size() < kMaxBounds ? bounds_.size() : kMaxBounds;
    while (i < n && value > bounds_[i]) ++i;
    Bump(buckets_[i], 1);
    sum_.store(sum_.load(std::memory_order_relaxed) + value,
               std::memory_order_relaxed);
  }

  HistogramSnapshot Read() const {
    HistogramSnapshot s;
    const size_t n = bounds_.size() < kMaxBounds ? bounds_.size() : kMaxBounds;
    s.bounds.assign(bounds_.begin(), bounds_.begin() + n);
    s.counts.resize(n + 1);
    for (size_t i = 0; i <= n; ++i) {
      s.counts[i] = buckets_[i].load(std::memory_order_relaxed);
      s.count += s.counts[i];  // _count always equals the +Inf bucket
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  static void Bump(std::atomic<uint64_t>& v, uint64_t n) {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  const std::span<const double> bounds_;
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> buckets_{};
  std::atomic<double> sum_{0};
};

}  // namespace herald::push
