#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "push/connection_id.h"
#include "push/router.h"
#include "service/registry.h"  // SessionInfo

namespace herald::service::cluster {

// Cluster mode's SessionReaper, node-local: closes this node's connections
// whose session expired (4004 "session expired"), as one process does.
// Redis lets expired sessions go by itself; what a node must do is close
// the sockets admitted on them.
//
// Each admitted connection, main or voice (ClusterGate's observer), is
// tracked with its session's expiry (the admission read it) until it
// closes, so the entries are bounded by the node's connections. Once a second,
// the connections whose expiry passed are grouped by session and each session
// is looked up again (at most kMaxLookupsPerTick a second): reopened with a
// later expiry (OpenSession on the same token) -> tracked with it; gone or
// expired -> CloseUser on this node's router (its main and voice sockets of
// that session). A lookup that fails (Redis down) is retried the next second.
//
// Thread-safe; owns one thread (Stop from the thread that made it).
// Lookup callbacks may run on any thread, also after Stop (then ignored).
class SessionExpiryCloser {
 public:
  using LookupDone =
      absl::AnyInvocable<void(absl::StatusOr<std::optional<SessionInfo>>) &&>;
  // ClusterState::LookupSession.
  using Lookup = std::function<void(const std::string& session_key,
                                    int64_t now_us, LookupDone done)>;

  static constexpr size_t kMaxLookupsPerTick = 1000;

  // `run_thread` false: no thread, the caller calls Tick (tests).
  SessionExpiryCloser(Lookup lookup, push::Router& router,
                      bool run_thread = true);
  ~SessionExpiryCloser();
  void Stop();

  // An admitted connection of `user_id` on `session_key`, whose session
  // expires at `expires_at_us` (0: never; not tracked).
  void Track(push::ConnectionId id, int64_t user_id, std::string session_key,
             int64_t expires_at_us);
  // The connection closed.
  void Untrack(push::ConnectionId id);

  // Looks up the sessions of connections due at `now_us`.
  void Tick(int64_t now_us);

  size_t tracked() const;

 private:
  struct Entry {
    int64_t user_id = 0;
    std::string session_key;
    int64_t expires_at_us = 0;
    bool looking_up = false;  // out of by_expiry_ while its lookup runs
  };
  // Shared with lookup callbacks, so they may outlive the closer.
  struct Core {
    Lookup lookup;
    push::Router* router;
    absl::Mutex mu;
    bool stopped ABSL_GUARDED_BY(mu) = false;
    absl::flat_hash_map<push::ConnectionId, Entry> entries ABSL_GUARDED_BY(mu);
    std::set<std::pair<int64_t, push::ConnectionId>> by_expiry
        ABSL_GUARDED_BY(mu);
  };
  // One session's due connections, looked up together.
  struct Due {
    int64_t user_id = 0;
    std::vector<push::ConnectionId> connections;
  };
  static void Looked(Core& core, const std::string& session_key, const Due& due,
                     int64_t now_us,
                     absl::StatusOr<std::optional<SessionInfo>> session);
  void Run();

  std::shared_ptr<Core> core_;
  absl::Mutex thread_mu_;
  bool stopping_ ABSL_GUARDED_BY(thread_mu_) = false;
  std::thread thread_;
};

}  // namespace herald::service::cluster
