#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "push/histogram.h"

namespace herald::push {

// How a connection's bytes travel (the `transport` and `tls_version`
// metric labels).
enum class Transport : uint8_t { kWs, kWssTls12, kWssTls13 };
inline constexpr size_t kTransports = 3;
inline constexpr size_t kSocketKinds = 2;  // Connection::Kind: main, voice

// A counter with one writer thread: relaxed load + store, no locked
// read-modify-write, so counting costs the delivery path a plain add.
// Readers on other threads see a value at most a few updates old.
class SingleWriterCounter {
 public:
  void Add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Sub(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// The WebSocket close codes a connection is refused with during admission,
// each with its own counter; any other code counts as the last slot.
inline constexpr std::array<uint16_t, 6> kRefusalCodes = {1013, 4000, 4001,
                                                          4003, 4029, 0};
inline size_t RefusalSlot(uint16_t code) {
  for (size_t i = 0; i + 1 < kRefusalCodes.size(); ++i) {
    if (kRefusalCodes[i] == code) return i;
  }
  return kRefusalCodes.size() - 1;
}

// Bounds (bytes) of the per-connection queue depth histogram: the bytes a
// connection holds (HeldBytes) when the worker's flush starts its write.
inline constexpr std::array<double, 10> kFlushQueueBytesBounds = {
    256,    1024,    4096,    16384,    65536,
    262144, 1048576, 4194304, 16777216, 67108864};

// One worker's numbers for metrics.
//
// Thread: written only by its Worker's thread; read (summed on scrape)
// from any thread.
struct WorkerStats {
  // Admitted WebSocket connections open now, by kind and transport.
  std::array<std::array<SingleWriterCounter, kTransports>, kSocketKinds> open;
  // Admitted WebSocket connections ever, by kind.
  std::array<SingleWriterCounter, kSocketKinds> accepted;
  // Refused in admission (a close frame with the code), by RefusalSlot.
  std::array<SingleWriterCounter, kRefusalCodes.size()> refused;
  // Upgrade requests answered with an HTTP error (no WebSocket).
  SingleWriterCounter http_rejected;
  // Event frames queued to connections, and their bytes.
  SingleWriterCounter frames_delivered;
  SingleWriterCounter bytes_delivered;
  SingleWriterCounter slow_consumer_closes;  // 4008
  SingleWriterCounter ping_timeouts;         // 4009
  Histogram flush_queue_bytes{kFlushQueueBytesBounds};
};

}  // namespace herald::push
