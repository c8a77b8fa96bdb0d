#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/address.hpp"

namespace herald::push {

// Per client IP: open sockets, and a token bucket of new sockets per
// second (one second of burst). Consulted once per accepted socket and once
// per closed one, never on the delivery path. An IP's entry lives while it
// has open sockets or its bucket is refilling, so the table stays within
// the open sockets plus the IPs seen in the last second.
//
// Thread: thread-safe (the listeners open, the workers close).
class PeerLimits {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::array<uint8_t, 16>;  // IPv6, or IPv4-mapped
  enum class Verdict { kOk, kTooManyOpen, kTooFast };

  static Key KeyOf(const boost::asio::ip::address& address);

  // Counts a new socket from `ip` unless it would exceed `max_open` open
  // sockets (0: no limit) or `per_sec` new ones a second (0: no limit).
  Verdict TryOpen(const Key& ip, size_t max_open, size_t per_sec,
                  Clock::time_point now);
  // A socket TryOpen counted has closed.
  void Close(const Key& ip);
  size_t tracked() const;

 private:
  struct Entry {
    uint32_t open = 0;
    double tokens = 0;
    Clock::time_point refilled;
  };
  static void Refill(Entry& e, size_t per_sec, Clock::time_point now);
  void SweepLocked(size_t per_sec, Clock::time_point now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Entry> peers_ ABSL_GUARDED_BY(mu_);
  Clock::time_point last_sweep_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::push
