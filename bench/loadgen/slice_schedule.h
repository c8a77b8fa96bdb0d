#pragma once

#include <cstdint>

namespace herald::bench {

// Paired runs (--slice_ms): two load generator processes, each driving its
// own server, take turns on one shared clock so that both servers meet the
// same machine, second by second, and drift in the machine (a neighbour on
// the VM, frequency changes) hits both alike. Time after `epoch` (a
// CLOCK_MONOTONIC instant every process of the pair agrees on) is cut into
// periods of `phases` slices of `slice` ns. The process of phase p
// publishes only inside slice p of each period, and stops `tail` ns before
// its end so that its last events drain before the other's turn.
//
// What counts: the counted span of a slice runs from `settle` ns after its
// start (the other's last event drained, the own loop at steady state) to
// its end, or to `tail` before its end when counting by publish time. A
// closed loop counts receipts by when they arrive (continuous, so a slice's
// deliveries/s is exact); an open loop (by_publish) counts every receipt
// of the events published in the span, so each event's whole fan-out and
// latency tail is in, or none of it.
//
// Disabled (slice 0): everything is active and counted, as in a plain run.
// A value type: set up by the main thread before the workers start, then
// only read (by any thread).
class SliceSchedule {
 public:
  struct Config {
    int64_t slice_ns = 0;
    int phase = 0;
    int phases = 2;
    int64_t settle_ns = 0;
    int64_t tail_ns = 0;
    bool by_publish = false;
  };

  SliceSchedule() = default;
  SliceSchedule(int64_t epoch_ns, const Config& config);

  bool enabled() const { return slice_ns_ > 0; }
  bool by_publish() const { return by_publish_; }
  int64_t epoch_ns() const { return epoch_ns_; }

  // Whether this process may publish at `ns`.
  bool Active(int64_t ns) const;
  // Whether `ns` (a receipt's arrival, or with by_publish its event's
  // publish time) is in the counted span of this process's slice.
  bool InCountedSpan(int64_t ns) const;
  // Whether a receipt counts: InCountedSpan of the time that decides.
  bool CountsReceipt(int64_t publish_ns, int64_t receipt_ns) const {
    return InCountedSpan(by_publish_ ? publish_ns : receipt_ns);
  }
  // The first instant >= ns at which this process may publish.
  int64_t NextActive(int64_t ns) const;
  // How much of [begin, end) is in counted spans, in ns.
  int64_t CountedNs(int64_t begin, int64_t end) const;
  // Where `ns` falls in its period, in [0, period).
  int64_t OffsetInPeriod(int64_t ns) const;

  // The first instant at least `lead_ns` after `now_ns` that starts a
  // period: the epoch a pair's processes derive alike from nearby `now`s
  // (LoadRun agrees on one through the barrier directory).
  static int64_t NextEpoch(int64_t now_ns, int64_t period_ns, int64_t lead_ns);

 private:
  // Whether `ns` falls in [from, to) of this process's slice (offsets
  // from the slice's start).
  bool InSlice(int64_t ns, int64_t from, int64_t to) const;

  int64_t epoch_ns_ = 0;
  int64_t slice_ns_ = 0;
  int64_t period_ns_ = 0;
  int64_t begin_ns_ = 0;          // the slice's offset in its period
  int64_t active_end_ns_ = 0;     // publishing stops here (slice - tail)
  int64_t counted_begin_ns_ = 0;  // settle
  int64_t counted_end_ns_ = 0;    // slice, or slice - tail by publish time
  bool by_publish_ = false;
};

}  // namespace herald::bench
