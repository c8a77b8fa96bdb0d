#pragma once

#include <array>
#include <cstdint>

#include "push/histogram.h"
#include "push/worker_stats.h"

namespace herald::push {

// The data plane's numbers at one moment: every worker's WorkerStats
// summed, the SharedCounters, and (when the workers were asked) what only
// their threads can see. Plain data.
struct PushStats {
  bool plain = false;  // --plain: ws, not wss
  std::array<std::array<uint64_t, kTransports>, kSocketKinds> open{};
  std::array<uint64_t, kSocketKinds> accepted{};
  std::array<uint64_t, kRefusalCodes.size()> refused{};  // by RefusalSlot
  uint64_t http_rejected = 0;
  uint64_t frames_delivered = 0;
  uint64_t bytes_delivered = 0;
  uint64_t slow_consumer_closes = 0;
  uint64_t ping_timeouts = 0;
  HistogramSnapshot flush_queue_bytes;
  // Closed at accept (SharedCounters).
  uint64_t refused_descriptors = 0;
  uint64_t refused_ip_open = 0;
  uint64_t refused_ip_rate = 0;
  uint64_t accept_failures = 0;
  uint64_t evicted_handshakes = 0;
  uint64_t sockets = 0;  // open TCP connections, any state
  // From the workers' threads (zero when `walked` is false: not asked, or
  // a worker did not answer in time).
  bool walked = false;
  uint64_t queue_bytes = 0;  // sum of every connection's HeldBytes
  uint64_t handshaking = 0;  // sockets still in the TLS/HTTP handshake

  uint64_t open_total() const {
    uint64_t n = 0;
    for (const auto& kind : open) {
      for (uint64_t v : kind) n += v;
    }
    return n;
  }
};

}  // namespace herald::push
