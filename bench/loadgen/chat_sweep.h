#pragma once

#include <cstdint>
#include <vector>

#include "bench/loadgen/chat_events.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/publisher.h"
#include "bench/loadgen/results.h"
#include "bench/loadgen/run_state.h"

namespace herald::bench {

// The chat scenario's publisher: one step per --rates value, in order, on
// the same connections. Each step publishes the event mix at its offered
// rate (0: closed loop, --window events in flight) for --step_warmup_s and
// then --step_s measured seconds, then waits for its events to arrive (at
// most --event_timeout_s) before the next step starts. Every event is
// tagged with its step in the ring and counts the receipts it should get
// (the open connections of its server's members), so lost and duplicate
// deliveries are known per step. After an open-loop step that saturated
// the server (Saturated), the higher open-loop rates are skipped.
//
// Thread ownership: Run() on the publisher thread; steps() after it ended.
class ChatSweep {
 public:
  ChatSweep(const Options& options, std::vector<int64_t> activity,
            int64_t users, RunState* state);

  void Run(Publisher* publisher);

  // The publisher's side of every step (received, latency etc. are the
  // caller's to fill from the workers).
  std::vector<ChatStep>& steps() { return steps_; }
  uint64_t published() const { return seq_ - 1; }
  uint64_t expected() const { return expected_total_; }

 private:
  void RunStep(int k, Publisher* publisher);
  bool Saturated(const ChatStep& st) const;
  // Closed loop: whether another event may go out now (else it waited).
  bool HasRoom(int64_t now, int64_t end);
  void AbandonOlderThan(int64_t limit_ns);
  void PublishNext(int k, Publisher* publisher, bool in_window);
  void Drain();

  const Options& options_;
  RunState* state_;
  ChatEvents events_;
  ChatEvent event_;
  std::vector<ChatStep> steps_;
  const int64_t timeout_ns_;
  uint64_t seq_ = 1;
  uint64_t oldest_ = 1;
  uint64_t expected_total_ = 0;
};

}  // namespace herald::bench
