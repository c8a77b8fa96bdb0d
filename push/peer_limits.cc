#include "push/peer_limits.h"

#include <algorithm>

namespace herald::push {

PeerLimits::Key PeerLimits::KeyOf(const boost::asio::ip::address& address) {
  const auto v6 = address.is_v4()
                      ? boost::asio::ip::make_address_v6(
                            boost::asio::ip::v4_mapped, address.to_v4())
                      : address.to_v6();
  return v6.to_bytes();
}

void PeerLimits::Refill(Entry& e, size_t per_sec, Clock::time_point now) {
  const double capacity = static_cast<double>(per_sec);
  const double elapsed =
      std::chrono::duration<double>(now - e.refilled).count();
  e.tokens = std::min(capacity, e.tokens + elapsed * capacity);
  e.refilled = now;
}

PeerLimits::Verdict PeerLimits::TryOpen(const Key& ip, size_t max_open,
                                        size_t per_sec, Clock::time_point now) {
  absl::MutexLock lock(&mu_);
  if (now - last_sweep_ >= std::chrono::seconds(1)) SweepLocked(per_sec, now);
  auto [it, inserted] = peers_.try_emplace(ip);
  Entry& e = it->second;
  if (inserted) {
    e.tokens = static_cast<double>(per_sec);
    e.refilled = now;
  }
  if (max_open != 0 && e.open >= max_open) return Verdict::kTooManyOpen;
  if (per_sec != 0) {
    Refill(e, per_sec, now);
    if (e.tokens < 1.0) return Verdict::kTooFast;
    e.tokens -= 1.0;
  }
  ++e.open;
  return Verdict::kOk;
}

void PeerLimits::Close(const Key& ip) {
  absl::MutexLock lock(&mu_);
  auto it = peers_.find(ip);
  if (it != peers_.end() && it->second.open > 0) --it->second.open;
}

size_t PeerLimits::tracked() const {
  absl::MutexLock lock(&mu_);
  return peers_.size();
}

void PeerLimits::SweepLocked(size_t per_sec, Clock::time_point now) {
  last_sweep_ = now;
  absl::erase_if(peers_, [&](auto& kv) {
    Entry& e = kv.second;
    if (e.open != 0) return false;
    if (per_sec == 0) return true;
    Refill(e, per_sec, now);
    return e.tokens >= static_cast<double>(per_sec);
  });
}

}  // namespace herald::push
