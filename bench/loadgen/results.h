#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/loadgen/cpu_sampler.h"

namespace herald::bench {

// One step of the chat sweep (--mode=chat --rates): what the publisher did
// and what the workers received, both inside the step's measured window
// and, for exactness, for all the events the step published.
struct ChatStep {
  double rate = 0;        // offered events/s; 0 = closed loop
  bool skipped = false;   // not run: an earlier step saturated the server
  double duration_s = 0;  // the measured window
  // The window on CLOCK_REALTIME (seconds), as bench/sampler.py stamps.
  double wall_start = 0;
  double wall_end = 0;
  uint64_t events = 0;         // published by the step, warm-up included
  uint64_t events_window = 0;  // published inside the window
  uint64_t expected = 0;       // receipts the step's events should get
  uint64_t received = 0;       // first receipts of the step's events
  uint64_t duplicates = 0;     // receipts beyond the expected
  uint64_t abandoned = 0;      // events not complete within the timeout
  uint64_t deliveries = 0;     // receipts inside the window
  double events_per_s = 0;
  double deliveries_per_s = 0;
  double loadgen_cpu_percent = 0;  // this process inside the window
  uint64_t latency_count = 0;
  uint64_t p50_us = 0;
  uint64_t p99_us = 0;
  uint64_t p999_us = 0;
  uint64_t max_us = 0;
};

// Every figure of one run, filled by the main thread after the workers and
// the publisher stopped. Rendered as one JSON object and a summary line.
struct Results {
  std::string mode;
  std::string target;
  bool publisher = false;
  int threads = 1;
  int64_t user_offset = 0;
  double rate = 0;
  int window = 0;
  int urls = 1;  // --url values the connections were spread over
  // Setup.
  int connections = 0;
  uint64_t established = 0;
  uint64_t connect_errors = 0;
  uint64_t tcp_errors = 0;
  uint64_t tls_errors = 0;
  uint64_t http_errors = 0;
  uint64_t handshake_timeouts = 0;
  double setup_s = 0;
  double setup_rate_per_s = 0;
  // This process's CPU (100 = one core) and its cores' mean busy share
  // (softirq included) while the connections were being set up.
  double setup_cpu_percent = 0;
  double setup_cores_busy_percent = 0;
  uint64_t open_at_end = 0;
  uint64_t closed_by_server = 0;
  std::map<int, uint64_t> close_codes;
  // Publishing (publisher process only).
  uint64_t events_published = 0;  // stamped inside the window
  uint64_t events_published_total = 0;
  double events_per_s = 0;
  uint64_t events_complete = 0;    // every expected receipt arrived
  uint64_t events_incomplete = 0;  // timed out or overwritten
  uint64_t publish_errors = 0;
  std::string publish_last_error;
  uint64_t deliveries_expected_total = 0;
  uint64_t server_recipients = 0;
  // Delivery.
  uint64_t deliveries = 0;  // received inside the window
  uint64_t deliveries_total = 0;
  double deliveries_per_s = 0;
  uint64_t latency_count = 0;
  uint64_t p50_us = 0;
  uint64_t p90_us = 0;
  uint64_t p99_us = 0;
  uint64_t p999_us = 0;
  uint64_t max_us = 0;
  double duration_s = 0;
  // Paired runs (--slice_ms): the schedule, and the earliest and latest
  // offset in the period at which this process published (its own slice
  // is [phase, phase + 1) x slice_ms).
  int slice_ms = 0;
  int slice_phase = 0;
  int slice_phases = 0;
  int slice_settle_ms = 0;
  int slice_tail_ms = 0;
  bool slice_by_publish = false;  // receipts counted by their event's stamp
  int64_t slice_epoch_ns = 0;
  double slice_publish_offset_min_ms = 0;
  double slice_publish_offset_max_ms = 0;
  // The window's edges on CLOCK_MONOTONIC (the same clock in every process
  // of the machine), so outside samplers can be lined up with it.
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  uint64_t bytes_received = 0;
  uint64_t reads = 0;
  uint64_t parse_errors = 0;
  uint64_t own_records = 0;
  uint64_t pings = 0;
  uint64_t frame_payload_bytes = 0;
  uint64_t shape_mismatches = 0;
  double cpu_percent = 0;  // this process, inside the window, 100 = 1 core
  // Machine-wide, per core, inside the window (/proc/stat, softirq
  // included); and the mean busy share of the cores this process may use.
  std::vector<CpuSampler::Core> cores;
  std::vector<int> affinity;
  double loadgen_cores_busy_percent = 0;
  std::string note;
  // --mode=chat: the population (ChatPlanStats::Json), the steps, and
  // receipts of events that had left the ring.
  std::string chat_plan_json;
  std::vector<ChatStep> chat_steps;
  uint64_t chat_late = 0;

  std::string ToJson() const;
  // One line per chat step.
  std::string ChatSummary() const;
  std::string Summary() const;
};

}  // namespace herald::bench
