#include "service/cluster/ack_tracker.h"

#include <utility>

#include "push/log.h"

namespace herald::service::cluster {

AckTracker::AckTracker(boost::asio::io_context& context,
                       std::chrono::milliseconds timeout)
    : context_(context), timeout_(timeout) {}

AckTracker::~AckTracker() = default;

AckTracker::Entry& AckTracker::Find(uint64_t request_id) {
  auto [it, inserted] = entries_.try_emplace(request_id);
  if (inserted) {
    // Also bounds acks nobody awaits (a publisher that gave up).
    it->second.timer = std::make_unique<boost::asio::steady_timer>(context_);
    it->second.timer->expires_after(timeout_);
    it->second.timer->async_wait(
        [this, request_id](const boost::system::error_code& ec) {
          if (ec) return;  // cancelled: the entry completed or was destroyed
          Expire(request_id);
        });
  }
  return it->second;
}

void AckTracker::Await(uint64_t request_id, int64_t receivers, Done done) {
  if (receivers <= 0) {
    auto it = entries_.find(request_id);
    const uint32_t sum = it == entries_.end() ? 0 : it->second.sum;
    if (it != entries_.end()) entries_.erase(it);
    if (done) std::move(done)(sum);
    return;
  }
  Entry& entry = Find(request_id);
  entry.expected = receivers;
  entry.done = std::move(done);
  if (entry.received >= entry.expected) {
    auto node = entries_.extract(request_id);
    node.mapped().timer->cancel();
    if (node.mapped().done) std::move(node.mapped().done)(node.mapped().sum);
  }
}

void AckTracker::OnAck(uint64_t request_id, uint32_t recipients) {
  Entry& entry = Find(request_id);
  ++entry.received;
  entry.sum += recipients;
  if (entry.expected >= 0 && entry.received >= entry.expected) {
    auto node = entries_.extract(request_id);
    node.mapped().timer->cancel();
    if (node.mapped().done) std::move(node.mapped().done)(node.mapped().sum);
  }
}

void AckTracker::CompleteAll() {
  absl::flat_hash_map<uint64_t, Entry> entries = std::move(entries_);
  entries_.clear();
  for (auto& [request_id, entry] : entries) {
    entry.timer->cancel();
    if (entry.expected >= 0 && entry.done) std::move(entry.done)(entry.sum);
  }
}

void AckTracker::Expire(uint64_t request_id) {
  auto node = entries_.extract(request_id);
  if (node.empty()) return;
  Entry& entry = node.mapped();
  if (entry.expected < 0) return;  // acks of a message nobody awaited
  ++timeouts_;
  Log(LogLevel::kWarning, "cluster_ack_timeout",
      {{"request_id", request_id},
       {"acks", entry.received},
       {"expected", entry.expected}});
  if (entry.done) std::move(entry.done)(entry.sum);
}

}  // namespace herald::service::cluster
