#include "bench/loadgen/cpu_sampler.h"

#include <sched.h>

#include <cstdio>
#include <cstring>

namespace herald::bench {

std::vector<CpuSampler::Ticks> CpuSampler::Read() {
  std::vector<Ticks> out;
  FILE* f = fopen("/proc/stat", "r");
  if (f == nullptr) return out;
  char line[512];
  while (fgets(line, sizeof line, f) != nullptr) {
    if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') {
      continue;
    }
    Ticks t;
    unsigned long long v[10] = {};
    if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &t.cpu,
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 9) {
      continue;
    }
    // user nice system idle iowait irq softirq steal
    t.busy = v[0] + v[1] + v[2] + v[5] + v[6];
    t.softirq = v[6];
    t.steal = v[7];
    t.total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    out.push_back(t);
  }
  fclose(f);
  return out;
}

void CpuSampler::Start() { start_ = Read(); }

std::vector<CpuSampler::Core> CpuSampler::Stop() const {
  std::vector<Core> out;
  std::vector<Ticks> end = Read();
  for (const Ticks& e : end) {
    for (const Ticks& s : start_) {
      if (s.cpu != e.cpu || e.total <= s.total) continue;
      double total = static_cast<double>(e.total - s.total);
      Core c;
      c.cpu = e.cpu;
      c.busy = 100.0 * static_cast<double>(e.busy - s.busy) / total;
      c.softirq = 100.0 * static_cast<double>(e.softirq - s.softirq) / total;
      c.steal = 100.0 * static_cast<double>(e.steal - s.steal) / total;
      out.push_back(c);
    }
  }
  return out;
}

std::vector<int> CpuSampler::Affinity() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) out.push_back(i);
  }
  return out;
}

}  // namespace herald::bench
