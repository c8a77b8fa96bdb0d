#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herald::bench {

// Machine-wide CPU use per core from /proc/stat between two samples. Unlike
// getrusage, it includes softirq time, which on loopback is where most of
// TCP's receive work runs (and which no process is charged for). Used by
// the main thread only.
class CpuSampler {
 public:
  struct Core {
    int cpu = 0;
    double busy = 0;     // percent: user + nice + system + irq + softirq
    double softirq = 0;  // percent, part of busy
    double steal = 0;    // percent
  };

  void Start();
  // Per-core use since Start().
  std::vector<Core> Stop() const;
  // The CPUs this process may run on.
  static std::vector<int> Affinity();

 private:
  struct Ticks {
    int cpu = 0;
    uint64_t busy = 0;
    uint64_t softirq = 0;
    uint64_t steal = 0;
    uint64_t total = 0;
  };
  static std::vector<Ticks> Read();

  std::vector<Ticks> start_;
};

}  // namespace herald::bench
