#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"

namespace herald::service::cluster {

// Counts the acks of published bus messages: a publisher learns how many
// nodes received a message (PUBLISH's answer) and waits for as many acks,
// each carrying the node's local recipients. Acks may arrive before the
// expected count is known (PUBLISH's reply travels on the command
// connection, acks on the subscriber connection); they are kept until
// Await or until the timeout drops them.
//
// Threading: bus thread only (its timers run on `context`). Destroy it
// only once `context` no longer runs (the RedisClient stopped).
class AckTracker {
 public:
  using Done = absl::AnyInvocable<void(uint32_t recipients) &&>;

  AckTracker(boost::asio::io_context& context,
             std::chrono::milliseconds timeout);
  ~AckTracker();

  // `done(sum)` once `receivers` acks of `request_id` arrived, or with the
  // sum so far when the timeout passes (counted in timeouts()). Inline
  // when receivers <= 0 or every ack is already in.
  void Await(uint64_t request_id, int64_t receivers, Done done);
  // One node's ack.
  void OnAck(uint64_t request_id, uint32_t recipients);
  // Shutdown: every wait completes now with the sum so far; no timer is
  // left on the context.
  void CompleteAll();

  // Any thread.
  uint64_t timeouts() const { return timeouts_.load(); }
  size_t pending() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t expected = -1;  // unknown until Await
    int64_t received = 0;
    uint32_t sum = 0;
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  Entry& Find(uint64_t request_id);
  void Expire(uint64_t request_id);

  boost::asio::io_context& context_;
  const std::chrono::milliseconds timeout_;
  absl::flat_hash_map<uint64_t, Entry> entries_;
  std::atomic<uint64_t> timeouts_{0};
};

}  // namespace herald::service::cluster
