#pragma once

#include <chrono>
#include <cstddef>

#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "push/worker.h"

namespace herald::push {

// Gives freed heap back to the kernel after a flood: glibc keeps the free
// pages of its arenas (a flood of 5,000 handshaking sockets left RSS where
// the flood took it), so once the open sockets fell by kDrop or more from
// their peak (sampled every kSample), it calls malloc_trim(0), at most
// once per kMinInterval. Never
// on the delivery path of a busy server: only after a large drop.
//
// Thread: runs on the io_context it is given (the first worker's).
class MemoryTrimmer {
 public:
  static constexpr size_t kDrop = 128;
  static constexpr std::chrono::milliseconds kSample{250};
  static constexpr std::chrono::seconds kMinInterval{2};

  MemoryTrimmer(boost::asio::io_context& io, const SharedCounters& counters);
  void Start();  // any thread: posts the first check
  void Stop();   // any thread

 private:
  void Arm();
  void Check();

  boost::asio::steady_timer timer_;
  const SharedCounters& counters_;
  size_t peak_ = 0;
  std::chrono::steady_clock::time_point last_trim_{};
};

}  // namespace herald::push
