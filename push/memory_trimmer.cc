#include "push/memory_trimmer.h"

#include <malloc.h>

#include "boost/asio/post.hpp"
#include "push/log.h"

namespace herald::push {

MemoryTrimmer::MemoryTrimmer(boost::asio::io_context& io,
                             const SharedCounters& counters)
    : timer_(io), counters_(counters) {}

void MemoryTrimmer::Start() {
  boost::asio::post(timer_.get_executor(), [this] { Arm(); });
}

void MemoryTrimmer::Stop() {
  boost::asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
}

void MemoryTrimmer::Arm() {
  timer_.expires_after(kSample);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) Check();
  });
}

void MemoryTrimmer::Check() {
  const size_t now = counters_.sockets.load(std::memory_order_relaxed);
  peak_ = std::max(peak_, now);
  const auto t0 = std::chrono::steady_clock::now();
  if (peak_ >= now + kDrop && t0 - last_trim_ >= kMinInterval) {
    last_trim_ = t0;
    malloc_trim(0);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    LogDebug("malloc_trim after sockets fell ", peak_, " -> ", now, ": ", us,
             " us");
    peak_ = now;
  }
  Arm();
}

}  // namespace herald::push
