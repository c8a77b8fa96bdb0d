#include "push/send_queue.h"

#include <utility>

namespace herald::push {
namespace {

// Blocks holding more entries than this are freed once the queue drains.
constexpr size_t kKeepEntries = 8;
// The consumed front of more_ is dropped once it is this long and more than
// half of the vector.
constexpr size_t kCompactAfter = 64;

template <typename T>
void Free(std::vector<T>& v) {
  std::vector<T>().swap(v);
}

}  // namespace

void SendQueue::Push(Frame frame) {
  queued_bytes_ += frame->size();
  if (count_++ == 0) {
    head_ = std::move(frame);
  } else {
    more_.push_back(std::move(frame));
  }
}

SendQueue::Buffers SendQueue::TakeBatch(size_t* size) {
  writing_ = true;
  size_t bytes = 0;
  size_t taken = 0;
  while (taken < count_ && taken < kMaxBatchFrames &&
         (taken == 0 || bytes + At(taken)->size() <= kMaxBatchBytes)) {
    bytes += At(taken)->size();
    ++taken;
  }
  in_flight_ = taken;
  queued_bytes_ -= bytes;
  in_flight_bytes_ = bytes;
  *size = bytes;
  if (taken == 1) {
    single_ = boost::asio::const_buffer(head_->data(), head_->size());
    return Buffers(&single_, 1);
  }
  buffers_.clear();
  for (size_t i = 0; i < taken; ++i) {
    buffers_.emplace_back(At(i)->data(), At(i)->size());
  }
  return buffers_;
}

void SendQueue::PopFront() {
  if (--count_ == 0) {
    head_.reset();
    more_.clear();
    more_begin_ = 0;
    return;
  }
  head_ = std::move(more_[more_begin_++]);
  if (more_begin_ >= kCompactAfter && 2 * more_begin_ > more_.size()) {
    more_.erase(more_.begin(), more_.begin() + more_begin_);
    more_begin_ = 0;
  }
}

void SendQueue::WriteDone() {
  for (size_t i = 0; i < in_flight_ && count_ > 0; ++i) PopFront();
  writing_ = false;
  in_flight_ = 0;
  in_flight_bytes_ = 0;
}

void SendQueue::ReleaseIdle() {
  if (writing_) return;
  if (buffers_.capacity() > kKeepEntries) Free(buffers_);
  if (count_ <= 1 && more_.capacity() > kKeepEntries) {
    Free(more_);
    more_begin_ = 0;
  }
}

void SendQueue::TruncateTo(size_t keep) {
  if (keep >= count_) return;
  if (keep == 0) {
    head_.reset();
    Free(more_);
    more_begin_ = 0;
  } else {
    more_.resize(more_begin_ + keep - 1);
  }
  count_ = keep;
}

void SendQueue::Clear() {
  TruncateTo(writing_ ? in_flight_ : 0);
  queued_bytes_ = 0;
  if (!writing_) Free(buffers_);
}

}  // namespace herald::push
