#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "boost/asio/buffer.hpp"
#include "push/ws_frame.h"

namespace herald::push {

// The frames waiting for one connection and the batch being written: one
// write in flight at a time, every frame queued meanwhile gathered into the
// next one (at most kMaxBatchFrames frames / kMaxBatchBytes, and never
// fewer than one frame). Frames are shared buffers (one serialisation per
// event); the queue keeps only pointers to them.
//
// The oldest frame and a lone frame's buffer live in the queue itself, so
// the common case (one frame, written at once) touches no heap block of
// the connection's; the frames behind it go to a vector used as a FIFO
// (an index to its first live entry, compacted as it drains). Idle, the
// queue holds no heap block larger than a few pointers.
//
// Thread: owned by one Connection, on its worker's thread.
class SendQueue {
 public:
  // Largest batch gathered into one write (one TLS record is 16 KiB; a few
  // records per write keep syscalls few without holding big buffers).
  static constexpr size_t kMaxBatchBytes = 64 * 1024;
  // What remains of a partial plain write goes out as a gather list, and
  // asio gathers at most 64 buffers per sendmsg.
  static constexpr size_t kMaxBatchFrames = 64;

  using Buffers = std::span<const boost::asio::const_buffer>;

  void Push(Frame frame);
  bool has_pending() const { return count_ > in_flight_; }
  bool writing() const { return writing_; }
  // Bytes of the frames not yet handed to a write.
  size_t queued_bytes() const { return queued_bytes_; }
  // Bytes of the batch in flight (0 while no write is).
  size_t in_flight_bytes() const { return writing_ ? in_flight_bytes_ : 0; }

  // Starts the next batch: moves it in flight and returns its buffers,
  // which stay valid until WriteDone(). Needs has_pending() && !writing().
  Buffers TakeBatch(size_t* size);
  // The batch in flight is written (or failed).
  void WriteDone();
  // Frees the blocks once they grew large (idle connections stay small);
  // a batch in flight keeps its own.
  void ReleaseIdle();
  // Drops every queued frame and frees what is not in flight (the
  // connection ends, or its queue is discarded).
  void Clear();

 private:
  // The i-th frame held, oldest first (0: head_).
  const Frame& At(size_t i) const {
    return i == 0 ? head_ : more_[more_begin_ + i - 1];
  }
  // Drops the oldest frame.
  void PopFront();
  // Drops the frames behind the first `keep`.
  void TruncateTo(size_t keep);

  Frame head_;               // the oldest frame held, if any
  std::vector<Frame> more_;  // the frames behind it, from more_begin_ on
  size_t more_begin_ = 0;
  size_t count_ = 0;      // frames held, the batch in flight included
  size_t in_flight_ = 0;  // frames at the front being written
  size_t queued_bytes_ = 0;
  size_t in_flight_bytes_ = 0;
  boost::asio::const_buffer single_;  // a one-frame batch's buffer
  std::vector<boost::asio::const_buffer> buffers_;  // a larger batch's
  bool writing_ = false;
};

}  // namespace herald::push
