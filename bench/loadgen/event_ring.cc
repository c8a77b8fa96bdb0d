#include "bench/loadgen/event_ring.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace herald::bench {
namespace {

// The futex word is the low 32 bits of the completed counter (little
// endian); a change there is all the waiter needs to notice.
uint32_t* Low32(std::atomic<uint64_t>* a) {
  return reinterpret_cast<uint32_t*>(a);
}

}  // namespace

EventRing::EventRing() : slots_(new Slot[kSize]) {}

bool EventRing::Claim(uint64_t seq, uint32_t expected, int64_t publish_ns,
                      uint16_t tag) {
  Slot& s = slots_[seq & (kSize - 1)];
  bool abandoned = false;
  uint64_t old = s.seq.load(std::memory_order_relaxed);
  if (old != ~uint64_t{0}) abandoned = Abandon(old);
  // Invalidate first so that late receipts of the old event miss.
  s.seq.store(~uint64_t{0}, std::memory_order_release);
  s.received.store(0, std::memory_order_relaxed);
  s.expected = expected;
  s.tag = tag;
  s.publish_ns = publish_ns;
  s.finished.store(expected == 0 ? 1 : 0, std::memory_order_relaxed);
  s.seq.store(seq, std::memory_order_release);
  if (expected == 0) Finish();
  return abandoned;
}

bool EventRing::OnReceipt(uint64_t seq) {
  Slot& s = slots_[seq & (kSize - 1)];
  if (s.seq.load(std::memory_order_acquire) != seq) return false;
  uint32_t r = s.received.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (r == s.expected &&
      s.finished.exchange(1, std::memory_order_acq_rel) == 0) {
    Finish();
  }
  return true;
}

EventRing::Receipt EventRing::OnTaggedReceipt(uint64_t seq) {
  Slot& s = slots_[seq & (kSize - 1)];
  Receipt out;
  if (s.seq.load(std::memory_order_acquire) != seq) return out;
  out.owned = true;
  out.tag = s.tag;
  out.publish_ns = s.publish_ns;
  uint32_t r = s.received.fetch_add(1, std::memory_order_acq_rel) + 1;
  out.duplicate = r > s.expected;
  if (r == s.expected &&
      s.finished.exchange(1, std::memory_order_acq_rel) == 0) {
    Finish();
  }
  return out;
}

bool EventRing::Abandon(uint64_t seq) {
  Slot& s = slots_[seq & (kSize - 1)];
  if (s.seq.load(std::memory_order_acquire) != seq) return false;
  if (s.finished.exchange(1, std::memory_order_acq_rel) != 0) return false;
  ++abandoned_;
  Finish();
  return true;
}

bool EventRing::Finished(uint64_t seq) const {
  const Slot& s = slots_[seq & (kSize - 1)];
  return s.seq.load(std::memory_order_acquire) != seq ||
         s.finished.load(std::memory_order_acquire) != 0;
}

int64_t EventRing::PublishNs(uint64_t seq) const {
  return slots_[seq & (kSize - 1)].publish_ns;
}

// Counts completions and abandons alike: the window only needs to know that
// a slot of it became free.
void EventRing::Finish() {
  completed_.fetch_add(1, std::memory_order_seq_cst);
  if (waiting_.load(std::memory_order_seq_cst) == 0) return;
  syscall(SYS_futex, Low32(&completed_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

void EventRing::WaitForCompletion(uint64_t seen, int64_t timeout_ns) {
  waiting_.store(1, std::memory_order_seq_cst);
  if (completed() != seen) {
    waiting_.store(0, std::memory_order_relaxed);
    return;
  }
  timespec ts{static_cast<time_t>(timeout_ns / 1000000000),
              static_cast<long>(timeout_ns % 1000000000)};
  syscall(SYS_futex, Low32(&completed_), FUTEX_WAIT_PRIVATE,
          static_cast<uint32_t>(seen), &ts, nullptr, 0);
  waiting_.store(0, std::memory_order_relaxed);
}

}  // namespace herald::bench
