#include "push/send_queue.h"

#include <iterator>

namespace herald::push {
namespace {

// Frame lists longer than this are freed once the queue drains.
constexpr size_t kKeepFrames = 8;

template <typename T>
void Free(std::vector<T>& v) {
  std::vector<T>().swap(v);
}

}  // namespace

void SendQueue::Push(Frame frame) {
  queued_bytes_ += frame->size();
  pending_.push_back(std::move(frame));
}

SendQueue::Buffers SendQueue::TakeBatch(size_t* size) {
  writing_ = true;
  size_t bytes = 0;
  size_t taken = 0;
  while (taken < pending_.size() && taken < kMaxBatchFrames &&
         (taken == 0 || bytes + pending_[taken]->size() <= kMaxBatchBytes)) {
    bytes += pending_[taken]->size();
    ++taken;
  }
  in_flight_.assign(std::make_move_iterator(pending_.begin()),
                    std::make_move_iterator(pending_.begin() + taken));
  pending_.erase(pending_.begin(), pending_.begin() + taken);
  buffers_.clear();
  for (const Frame& f : in_flight_) buffers_.emplace_back(f->data(), f->size());
  queued_bytes_ -= bytes;
  in_flight_bytes_ = bytes;
  *size = bytes;
  return buffers_;
}

void SendQueue::WriteDone() {
  writing_ = false;
  in_flight_.clear();
  in_flight_bytes_ = 0;
}

void SendQueue::ReleaseIdle() {
  if (in_flight_.capacity() > kKeepFrames) {
    Free(in_flight_);
    Free(buffers_);
  }
  if (pending_.empty() && pending_.capacity() > kKeepFrames) Free(pending_);
}

void SendQueue::Clear() {
  Free(pending_);
  queued_bytes_ = 0;
  if (!writing_) {
    Free(in_flight_);
    Free(buffers_);
  }
}

}  // namespace herald::push
