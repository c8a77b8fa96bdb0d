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
// event); the queue keeps only pointers to them. Idle, it holds no heap
// block larger than a few pointers.
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
  bool has_pending() const { return !pending_.empty(); }
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
  // Frees the lists' blocks once they grew large (idle connections stay
  // small); a batch in flight keeps its own.
  void ReleaseIdle();
  // Drops every queued frame and frees what is not in flight (the
  // connection ends, or its queue is discarded).
  void Clear();

 private:
  std::vector<Frame> pending_;
  size_t queued_bytes_ = 0;
  std::vector<Frame> in_flight_;
  size_t in_flight_bytes_ = 0;
  std::vector<boost::asio::const_buffer> buffers_;
  bool writing_ = false;
};

}  // namespace herald::push
