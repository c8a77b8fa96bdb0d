#pragma once

#include <atomic>
#include <cstdint>
#include <map>

#include "bench/loadgen/latency_histogram.h"

namespace herald::bench {

// A counter written by exactly one thread and read by others: a relaxed
// load and store, no locked instruction.
class OwnedCounter {
 public:
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Sub(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void Set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// The chat sweep's steps (--rates) one run may hold.
inline constexpr int kMaxChatSteps = 16;

// One chat sweep step as one worker saw it.
struct ChatStepStats {
  OwnedCounter deliveries;      // received inside the step's window
  OwnedCounter received;        // of the step's events, first receipts
  OwnedCounter duplicates;      // of the step's events, beyond the expected
  LatencyHistogram latency_us;  // of the deliveries inside the window
};

// Everything one worker measured. Written only by its worker thread; the
// main thread reads the counters while the run goes on (progress, phase
// changes) and the histogram only after the worker thread was joined.
struct alignas(64) WorkerStats {
  // Connection setup.
  OwnedCounter attempted;
  OwnedCounter established;     // WebSocket 101 with the right accept key
  OwnedCounter connect_errors;  // sum of the four below
  OwnedCounter tcp_errors;
  OwnedCounter tls_errors;
  OwnedCounter http_errors;       // not a valid 101 response
  OwnedCounter timeouts;          // handshake longer than --handshake_timeout_s
  OwnedCounter open;              // currently open WebSockets
  OwnedCounter closed_by_server;  // close frame or EOF after the upgrade
  OwnedCounter first_attempt_ns;
  OwnedCounter last_established_ns;
  // Delivery.
  OwnedCounter deliveries_total;     // complete, parsed event frames
  OwnedCounter deliveries_measured;  // of those, received in the window
  OwnedCounter bytes_received;       // application bytes after TLS
  OwnedCounter reads;                // read() calls that returned data
  OwnedCounter parse_errors;         // frames that are not a herald event
  OwnedCounter own_records;          // wss connections read by Tls13Records
  OwnedCounter pings;
  OwnedCounter frame_payload_bytes;  // payload size of the last event
  OwnedCounter shape_mismatches;     // events not byte for byte EventBody's
  LatencyHistogram latency_us;
  // The chat sweep (--mode=chat), by step; and receipts whose event had
  // left the ring (neither step nor expectation known any more).
  ChatStepStats chat_steps[kMaxChatSteps];
  OwnedCounter chat_late;
  // Close frames received, by code (0 = no code); read after Join().
  std::map<int, uint64_t> close_codes;
};

}  // namespace herald::bench
