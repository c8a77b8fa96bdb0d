#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace herald::bench {

// Completion tracking for published events. The publisher thread claims the
// slot of event `seq` (seq modulo the ring size) before publishing it and
// says how many receipts this process expects (its own open connections that
// should get the event). Worker threads call OnReceipt for every delivery
// they parse; the receipt that reaches the expected count completes the
// event. An event is also finished by Abandon (timeout, or its slot being
// reused in open-loop mode). Only atomics: no locks on the receive path.
//
// Thread ownership: Claim/Abandon/Oldest* run on the publisher thread only;
// OnReceipt on any worker thread.
class EventRing {
 public:
  static constexpr uint64_t kSize = 1 << 16;

  EventRing();

  // Prepares the slot for `seq`. If the slot still holds an unfinished
  // event it is abandoned first (returns true then).
  // `tag` is the caller's label for the event (the chat sweep's step).
  bool Claim(uint64_t seq, uint32_t expected, int64_t publish_ns,
             uint16_t tag = 0);
  // A delivery of event `seq` was parsed. Returns false when `seq` does not
  // own its slot any more (a late receipt after the slot was reused).
  bool OnReceipt(uint64_t seq);
  // OnReceipt that also tells what the slot knows of the event.
  struct Receipt {
    bool owned = false;      // the slot still holds `seq`
    bool duplicate = false;  // more receipts than expected
    uint16_t tag = 0;
    int64_t publish_ns = 0;
  };
  Receipt OnTaggedReceipt(uint64_t seq);
  // Finishes `seq` without completion unless it already finished. Returns
  // true when this call finished it.
  bool Abandon(uint64_t seq);
  bool Finished(uint64_t seq) const;
  int64_t PublishNs(uint64_t seq) const;

  // Events finished either way (completed or abandoned).
  uint64_t completed() const {
    return completed_.load(std::memory_order_acquire);
  }
  uint64_t abandoned() const { return abandoned_; }
  // Blocks until completed() differs from `seen` or `timeout_ns` passed.
  void WaitForCompletion(uint64_t seen, int64_t timeout_ns);

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> seq{~uint64_t{0}};
    std::atomic<uint32_t> received{0};
    std::atomic<uint32_t> finished{1};
    uint32_t expected = 0;
    uint16_t tag = 0;
    int64_t publish_ns = 0;
  };

  void Finish();

  std::unique_ptr<Slot[]> slots_;
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint32_t> waiting_{0};
  uint64_t abandoned_ = 0;  // publisher thread only
};

}  // namespace herald::bench
