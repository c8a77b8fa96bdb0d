#pragma once

#include <thread>

#include "absl/synchronization/mutex.h"
#include "push/router.h"
#include "service/registry.h"

namespace herald::service {

// Ends expired sessions: once a second it takes them out of the registry
// and closes their connections (4004 "session expired").
//
// Thread: owns one background thread; Stop (or the destructor) from the
// thread that created it.
class SessionReaper {
 public:
  SessionReaper(Registry& registry, push::Router& router);
  ~SessionReaper();
  void Stop();

 private:
  void Run();

  Registry& registry_;
  push::Router& router_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace herald::service
