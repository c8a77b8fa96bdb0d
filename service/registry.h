#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "service/sqlite_store.h"

namespace herald::service {

struct SessionInfo {
  int64_t user_id = 0;
  int64_t expires_at_us = 0;  // µs since the Unix epoch; 0: never expires
};

struct VoiceGrant {
  int64_t server_id = 0;
  int64_t channel_id = 0;
};

// Refusals name the herald flag that sets each limit.
struct RegistryLimits {
  size_t max_sessions = 1'000'000;            // --max_sessions
  size_t max_memberships = 10'000'000;        // --max_memberships, all users
  size_t max_memberships_per_user = 100'000;  // --max_memberships_per_user
};

struct MembershipDiff {
  std::vector<int64_t> added, removed;  // ascending
};

// Sessions (token -> user), memberships (user <-> server) and voice grants
// (user -> one voice channel), all in memory and persisted through a
// SqliteStore so that a restart loses nothing.
//
// Sessions are held, and persisted, by session key: the state file's keyed
// hash of the token (TokenHasher), never the token itself. Methods that take
// a token hash it; SessionKey() gives the key the push layer is told about.
//
// Threading: thread-safe; one mutex guards all state, every call is short
// and never waits for the disk. Each mutation is visible to readers as soon
// as it returns and is persisted asynchronously, in call order; its `done`
// callback (may be null) runs on the store's writer thread once the change
// is committed, with the commit's status, and never with the registry's
// mutex held (so it may call back into the registry, except Flush(), which
// returns at once there). A mutation that changes nothing still queues an
// empty operation, so its `done` runs with OK once everything before it is
// committed.
//
// Write back-pressure: OpenSession() and SetMemberships() return
// RESOURCE_EXHAUSTED, changing nothing, when the store's write queue is
// full; the other mutations cannot report an error and are always queued.
//
// Lock order: Registry::mu_ before the store's locks.
class Registry {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  // Opens (creating it if missing) the state file at `path` and loads it.
  // Everything in the file is loaded even if it exceeds `limits`.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(
      const std::string& path, RegistryLimits limits = {});

  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Waits for every queued change to be committed (and its callback run).
  ~Registry();

  // Sessions.
  //
  // Opens `token`, replacing its entry if it exists. RESOURCE_EXHAUSTED when
  // a new token would exceed max_sessions (nothing changes, `done` is not
  // called). An expiry in the past is stored but the session is invisible.
  absl::Status OpenSession(const std::string& token, int64_t user_id,
                           int64_t expires_at_us, Done done);
  // Returns the removed entry (expired or not); `done` runs even if absent.
  std::optional<SessionInfo> CloseSession(const std::string& token, Done done);
  // nullopt when unknown or expired (expires_at_us != 0 && <= now_us).
  std::optional<SessionInfo> LookupToken(std::string_view token,
                                         int64_t now_us) const;
  // The same, by SessionKey(token).
  std::optional<SessionInfo> LookupSession(const std::string& session_key,
                                           int64_t now_us) const;
  // The key a session is held by: its token's keyed hash (raw bytes).
  std::string SessionKey(std::string_view token) const;
  struct ExpiredSession {
    std::string session_key;
    int64_t user_id;
  };
  // Removes (and persists the removal of) every expired session, earliest
  // expiry first. O(1) when nothing has expired.
  std::vector<ExpiredSession> TakeExpired(int64_t now_us);
  // Includes expired sessions not yet taken.
  size_t session_count() const;

  // Memberships (user <-> server, both directions indexed).
  //
  // Replaces the user's servers; duplicates are ignored. RESOURCE_EXHAUSTED
  // (nothing changes, `done` is not called) above max_memberships_per_user
  // or when the registry would hold more than max_memberships.
  absl::StatusOr<MembershipDiff> SetMemberships(int64_t user_id,
                                                std::vector<int64_t> server_ids,
                                                Done done);
  // False if already a member (`done` still runs). RESOURCE_EXHAUSTED
  // (nothing changes, `done` is not called) when the new membership would
  // exceed either limit.
  absl::StatusOr<bool> AddMembership(int64_t user_id, int64_t server_id,
                                     Done done);
  // False if not a member (`done` still runs).
  bool RemoveMembership(int64_t user_id, int64_t server_id, Done done);
  // Removes every membership of the server; returns its former members,
  // ascending.
  std::vector<int64_t> DropServer(int64_t server_id, Done done);
  std::vector<int64_t> ServersOf(int64_t user_id) const;    // ascending
  std::vector<int64_t> MembersOf(int64_t server_id) const;  // ascending
  bool IsMember(int64_t user_id, int64_t server_id) const;
  size_t membership_count() const;
  size_t grant_count() const;

  // Voice grants: at most one per user; a new one replaces the old.
  void SetGrant(int64_t user_id, VoiceGrant grant, Done done);
  std::optional<VoiceGrant> GrantOf(int64_t user_id) const;
  // Returns the removed grant (`done` runs even if there was none).
  std::optional<VoiceGrant> RemoveGrant(int64_t user_id, Done done);
  // Both return the users whose grant was removed, ascending.
  std::vector<int64_t> RemoveGrantsForChannel(int64_t server_id,
                                              int64_t channel_id, Done done);
  std::vector<int64_t> RemoveGrantsForServer(int64_t server_id, Done done);

  // The store's write queue (ops not yet handed to its writer) and the
  // latency of its commits.
  size_t write_queue_depth() const { return store_->queued(); }
  push::HistogramSnapshot commit_latency() const {
    return store_->commit_latency();
  }
  // Whether the state file takes writes (SqliteStore::writable()).
  bool writable() const { return store_->writable(); }

  // Blocks until every change made so far is committed and its callback has
  // run. Returns at once when called from a `done` callback.
  void Flush();

 private:
  using IdSet = absl::flat_hash_set<int64_t>;

  Registry(RegistryLimits limits, std::unique_ptr<SqliteStore> store);

  void Load(const SqliteStore::Snapshot& snapshot);
  void PutSessionLocked(const std::string& key, SessionInfo info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LinkLocked(int64_t user_id, int64_t server_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RESOURCE_EXHAUSTED naming the limit when `user_id` would hold
  // `user_total` memberships and the registry `total`.
  absl::Status CheckMembershipLimitsLocked(int64_t user_id, size_t user_total,
                                           size_t total) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnlinkLocked(int64_t user_id, int64_t server_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PutGrantLocked(int64_t user_id, VoiceGrant grant)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseGrantLocked(int64_t user_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the grants of `user_ids` (ascending) and persists that.
  void EraseGrantsLocked(const std::vector<int64_t>& user_ids, Done done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RegistryLimits limits_;
  const std::unique_ptr<SqliteStore> store_;  // destroyed last

  mutable absl::Mutex mu_;
  // By session key.
  absl::flat_hash_map<std::string, SessionInfo> sessions_ ABSL_GUARDED_BY(mu_);
  // (expires_at_us, session key) of every session that expires.
  std::set<std::pair<int64_t, std::string>> expiry_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, IdSet> servers_of_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, IdSet> members_of_ ABSL_GUARDED_BY(mu_);
  size_t memberships_ ABSL_GUARDED_BY(mu_) = 0;  // pairs in servers_of_
  absl::flat_hash_map<int64_t, VoiceGrant> grants_ ABSL_GUARDED_BY(mu_);
  // server -> users holding a grant for one of its channels.
  absl::flat_hash_map<int64_t, IdSet> grantees_of_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::service
