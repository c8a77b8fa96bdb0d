#pragma once

#include <cstdint>

namespace herald::bench {

// Paired runs (--slice_ms): two load generator processes, each driving its
// own server, take turns on one shared clock so that both servers meet the
// same machine, second by second, and drift in the machine (a neighbour on
// the VM, frequency changes) hits both alike. Time after `epoch` (a
// CLOCK_MONOTONIC instant every process of the pair agrees on) is cut into
// periods of `phases` slices of `slice` ns; the process of phase p may
// publish only inside slice p of each period, and counts what it receives
// only after the first `settle` ns of that slice, by which time the other
// process's last event has drained and its own loop runs at steady state.
//
// Disabled (slice 0): everything is active and counted, as in a plain run.
// A value type: set up by the main thread before the workers start, then
// only read (by any thread).
class SliceSchedule {
 public:
  SliceSchedule() = default;
  SliceSchedule(int64_t epoch_ns, int64_t slice_ns, int phase, int phases,
                int64_t settle_ns);

  bool enabled() const { return slice_ns_ > 0; }
  int64_t epoch_ns() const { return epoch_ns_; }
  int64_t period_ns() const { return period_ns_; }

  // Whether `ns` falls in this process's own slice (it may publish).
  bool Active(int64_t ns) const;
  // Whether `ns` falls in the counted part of its own slice.
  bool Counted(int64_t ns) const;
  // The first instant >= ns at which this process's slice is open.
  int64_t NextActive(int64_t ns) const;
  // The end of the slice open at `ns` (Active(ns) must hold).
  int64_t ActiveEnd(int64_t ns) const;
  // How much of [begin, end) is counted, in ns.
  int64_t CountedNs(int64_t begin, int64_t end) const;
  // Where `ns` falls in its period, in [0, period).
  int64_t OffsetInPeriod(int64_t ns) const;

  // The first instant at least `lead_ns` after `now_ns` that starts a
  // period: the epoch a pair's processes derive alike from nearby `now`s
  // (LoadRun agrees on one through the barrier directory).
  static int64_t NextEpoch(int64_t now_ns, int64_t period_ns, int64_t lead_ns);

 private:
  int64_t epoch_ns_ = 0;
  int64_t slice_ns_ = 0;
  int64_t period_ns_ = 0;
  int64_t begin_ns_ = 0;   // the slice's offset in its period
  int64_t settle_ns_ = 0;  // not counted at the start of each slice
};

}  // namespace herald::bench
