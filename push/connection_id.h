#pragma once

#include <cstdint>

namespace herald::push {

// Process-unique id of one WebSocket connection. The low 8 bits name the
// worker (I/O thread) that owns it.
using ConnectionId = uint64_t;

inline constexpr int kWorkerBits = 8;
inline constexpr int kMaxWorkers = 1 << kWorkerBits;

inline int WorkerOf(ConnectionId id) {
  return static_cast<int>(id & (kMaxWorkers - 1));
}

}  // namespace herald::push
