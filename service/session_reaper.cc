#include "service/session_reaper.h"

#include "absl/time/time.h"
#include "push/close_codes.h"
#include "service/clock.h"

namespace herald::service {

SessionReaper::SessionReaper(Registry& registry, push::Router& router)
    : registry_(registry), router_(router), thread_([this] { Run(); }) {}

SessionReaper::~SessionReaper() { Stop(); }

void SessionReaper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SessionReaper::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
    if (stopping_) break;
    mu_.Unlock();
    for (auto& expired : registry_.TakeExpired(NowMicros())) {
      router_.CloseUser(expired.user_id, std::move(expired.session_key),
                        push::kCloseSessionClosed, "session expired");
    }
    mu_.Lock();
  }
}

}  // namespace herald::service
