#include "service/cluster/session_expiry_closer.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "push/close_codes.h"
#include "service/clock.h"

namespace herald::service::cluster {

SessionExpiryCloser::SessionExpiryCloser(Lookup lookup, push::Router& router,
                                         bool run_thread)
    : core_(std::make_shared<Core>()) {
  core_->lookup = std::move(lookup);
  core_->router = &router;
  if (run_thread) thread_ = std::thread([this] { Run(); });
}

SessionExpiryCloser::~SessionExpiryCloser() { Stop(); }

void SessionExpiryCloser::Stop() {
  {
    absl::MutexLock lock(&thread_mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&core_->mu);
  core_->stopped = true;  // late lookups touch nothing
}

void SessionExpiryCloser::Run() {
  absl::MutexLock lock(&thread_mu_);
  while (!stopping_) {
    thread_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
    if (stopping_) break;
    thread_mu_.Unlock();
    Tick(NowMicros());
    thread_mu_.Lock();
  }
}

void SessionExpiryCloser::Track(push::ConnectionId id, int64_t user_id,
                                std::string session_key,
                                int64_t expires_at_us) {
  if (expires_at_us == 0) return;
  absl::MutexLock lock(&core_->mu);
  if (core_->stopped) return;
  auto [it, inserted] = core_->entries.try_emplace(id);
  if (!inserted && !it->second.looking_up) {
    core_->by_expiry.erase({it->second.expires_at_us, id});
  }
  it->second = Entry{user_id, std::move(session_key), expires_at_us, false};
  core_->by_expiry.insert({expires_at_us, id});
}

void SessionExpiryCloser::Untrack(push::ConnectionId id) {
  absl::MutexLock lock(&core_->mu);
  auto it = core_->entries.find(id);
  if (it == core_->entries.end()) return;
  if (!it->second.looking_up) {
    core_->by_expiry.erase({it->second.expires_at_us, id});
  }
  core_->entries.erase(it);
}

size_t SessionExpiryCloser::tracked() const {
  absl::MutexLock lock(&core_->mu);
  return core_->entries.size();
}

void SessionExpiryCloser::Tick(int64_t now_us) {
  // The sessions to look up, with their due connections.
  absl::flat_hash_map<std::string, Due> due;
  {
    absl::MutexLock lock(&core_->mu);
    if (core_->stopped) return;
    auto& by_expiry = core_->by_expiry;
    while (!by_expiry.empty() && by_expiry.begin()->first <= now_us) {
      const push::ConnectionId id = by_expiry.begin()->second;
      Entry& entry = core_->entries[id];
      auto it = due.find(entry.session_key);
      if (it == due.end()) {
        if (due.size() == kMaxLookupsPerTick) break;  // the rest next tick
        it = due.try_emplace(entry.session_key, Due{entry.user_id, {}}).first;
      }
      it->second.connections.push_back(id);
      entry.looking_up = true;
      by_expiry.erase(by_expiry.begin());
    }
  }
  for (auto& [key, session] : due) {
    core_->lookup(
        key, now_us,
        [core = core_, key = key, session = std::move(session),
         now_us](absl::StatusOr<std::optional<SessionInfo>> found) mutable {
          Looked(*core, key, session, now_us, std::move(found));
        });
  }
}

void SessionExpiryCloser::Looked(
    Core& core, const std::string& session_key, const Due& due, int64_t now_us,
    absl::StatusOr<std::optional<SessionInfo>> session) {
  const bool renewed =
      session.ok() && session->has_value() &&
      (*session)->user_id == due.user_id &&
      ((*session)->expires_at_us == 0 || (*session)->expires_at_us > now_us);
  bool close = false;
  {
    absl::MutexLock lock(&core.mu);
    if (core.stopped) return;
    for (push::ConnectionId id : due.connections) {
      auto it = core.entries.find(id);
      // Closed meanwhile, or admitted again (tracked anew).
      if (it == core.entries.end() || !it->second.looking_up) continue;
      Entry& entry = it->second;
      entry.looking_up = false;
      if (!session.ok()) {
        core.by_expiry.insert({entry.expires_at_us, id});  // next second
      } else if (renewed && (*session)->expires_at_us != 0) {
        entry.expires_at_us = (*session)->expires_at_us;
        core.by_expiry.insert({entry.expires_at_us, id});
      } else {
        // Never expires now, or is over (closed below: Untrack finds
        // nothing).
        core.entries.erase(it);
        close = close || !renewed;
      }
    }
  }
  if (close) {
    core.router->CloseUser(due.user_id, session_key, push::kCloseSessionClosed,
                           "session expired");
  }
}

}  // namespace herald::service::cluster
