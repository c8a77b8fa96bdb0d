#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/redis/redis_client.h"
#include "service/registry.h"  // RegistryLimits, SessionInfo, MembershipDiff

namespace herald::service::cluster {

// One bus message to PUBLISH inside a state script, atomically with the
// change (so a change is never made without its notification, nor the
// reverse). The script returns how many subscribers received it.
struct Notify {
  std::string channel;
  std::string message;  // encoded by ClusterBus
};

// Where a user's voice presence was (a connection on some node).
struct VoicePresence {
  int64_t user_id = 0;
  int64_t server_id = 0;
  int64_t channel_id = 0;
  std::string node_id;      // the node holding the connection
  uint64_t connection = 0;  // push::ConnectionId on that node
};

// The cluster's state in Redis, the source of truth: sessions, memberships,
// voice grants and voice presence, node heartbeats. Every method is one
// Lua script (or one command), atomic in Redis, and asynchronous: its
// callback runs on the bus thread. UNAVAILABLE when Redis does not answer
// (then the change may or may not have been made; every change here is
// idempotent, so a retry converges). RESOURCE_EXHAUSTED naming the flag
// when a limit (RegistryLimits, the same flags as one process) is hit, and
// then nothing changed and nothing was published.
//
// Keys (prefix "herald:"): see cluster_state.cc and README "Running a
// cluster". Tokens are never stored: sessions are keyed by the HMAC of
// the token under a secret shared through Redis (herald:secret, created by
// the first node).
//
// Thread-safe (posts to the RedisClient).
class ClusterState {
 public:
  template <typename T>
  using Result = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;
  // The receivers of a script's Notify (PUBLISH's count).
  struct Published {
    int64_t receivers = 0;
  };

  ClusterState(redis::RedisClient& redis, RegistryLimits limits);

  // Creates (SET NX) or reads the shared secret; SessionKey works after it.
  void Init(absl::AnyInvocable<void(absl::Status) &&> done);
  // The keyed hash of `token` (raw bytes), the same on every node: the 32
  // raw bytes of HMAC-SHA256; Redis keys hold its lower-case hex.
  std::string SessionKey(std::string_view token) const;

  // Sessions (by SessionKey). `close_user` is a CloseUser message (ClusterBus
  // encodes it with user 0: "the user of the channel it arrives on"); the
  // script PUBLISHes it on the channel of the user whose sockets must go,
  // atomically with the change, so a session is never changed without its
  // close (empty: nothing is published).
  struct SessionChange {
    // OpenSession: the user the key named before (expired or not);
    // CloseSession: the user of the removed session (expired or not).
    std::optional<int64_t> user;
    // Receivers of close_user: OpenSession publishes it when the key named
    // another user before, CloseSession when a session was removed.
    int64_t receivers = 0;
  };
  void OpenSession(const std::string& key, int64_t user_id,
                   int64_t expires_at_us, std::string close_user,
                   Result<SessionChange> done);
  void CloseSession(const std::string& key, std::string close_user,
                    Result<SessionChange> done);
  // nullopt when unknown or expired at `now_us`.
  void LookupSession(const std::string& key, int64_t now_us,
                     Result<std::optional<SessionInfo>> done);

  // Memberships. Each publishes `notify` inside the script when something
  // changed (receivers 0 otherwise).
  struct Changed {
    MembershipDiff diff;  // added / removed, ascending
    int64_t receivers = 0;
  };
  void SetMemberships(int64_t user_id, std::vector<int64_t> server_ids,
                      Notify notify, Result<Changed> done);
  void AddMembership(int64_t user_id, int64_t server_id, Notify notify,
                     Result<Changed> done);
  // Publishes `notify` (the event's delivery) whether or not the user was a
  // member, then removes the membership.
  void RemoveMembership(int64_t user_id, int64_t server_id, Notify notify,
                        Result<Published> done);
  // Publishes `notify`, then removes every membership of the server.
  void DropServer(int64_t server_id, Notify notify, Result<Published> done);
  void ServersOf(int64_t user_id, Result<std::vector<int64_t>> done);
  // ServersOf, and PUBLISH `marker` on the user's channel in the same
  // script: messages on that channel before the marker are reflected in the
  // answer, messages after it are not (ClusterGate's admission snapshot).
  void SnapshotServers(int64_t user_id, Notify marker,
                       Result<std::vector<int64_t>> done);

  // Voice grants (one per user) and presence (one connection per user in
  // the whole cluster). Methods that end presence return what they ended;
  // the caller closes those connections (CloseConnection on their node) and
  // emits user_left_vc.
  struct GrantResult {
    std::optional<VoicePresence> ended;  // presence in another place
  };
  void SetGrant(int64_t user_id, int64_t server_id, int64_t channel_id,
                Result<GrantResult> done);
  struct LeaveResult {
    bool existed = false;  // a grant or a presence
    std::optional<VoicePresence> ended;
  };
  void Leave(int64_t user_id, Result<LeaveResult> done);
  void EndForUserInServer(int64_t user_id, int64_t server_id,
                          Result<std::vector<VoicePresence>> done);
  void EndForChannel(int64_t server_id, int64_t channel_id,
                     Result<std::vector<VoicePresence>> done);
  void EndForServer(int64_t server_id, Result<std::vector<VoicePresence>> done);

  // A voice connection `connection` on `node_id` presented the session
  // `key` for `channel_id`: checks the session (at now_us) and the grant,
  // and records the presence, replacing any other connection of the user.
  struct VoiceAdmit {
    // Set when refused: 4001 unknown or expired token, 4003 no grant.
    uint16_t refusal_code = 0;
    int64_t user_id = 0;
    int64_t server_id = 0;
    int64_t expires_at_us = 0;  // the session's expiry (0: never)
    // The user's previous presence (another connection, maybe elsewhere),
    // now ended; same_place: it was in the same channel (no events).
    std::optional<VoicePresence> replaced;
    bool same_place = false;
  };
  void AdmitVoice(const std::string& key, int64_t channel_id,
                  const std::string& node_id, uint64_t connection,
                  int64_t now_us, Result<VoiceAdmit> done);
  // The connection ended: removes the presence if it is still this
  // connection's; returns it then.
  void VoiceClosed(int64_t user_id, const std::string& node_id,
                   uint64_t connection,
                   Result<std::optional<VoicePresence>> done);
  // channel -> users, ascending.
  void VoiceState(int64_t server_id,
                  Result<std::map<int64_t, std::vector<int64_t>>> done);

  // Nodes. Heartbeat: the node's key lives `ttl_ms`; refreshed every
  // second by ClusterBus. ReapDeadNodes removes the presence held by nodes
  // whose key expired (any node may run it; each presence is returned to
  // exactly one caller). LeaveCluster: this node's own presences, at drain
  // (it also deletes the node's heartbeat key and forgets the node).
  // AdmitVoice lists its node too, so a node that never sent a heartbeat
  // is reaped as well.
  void Heartbeat(const std::string& node_id, int64_t ttl_ms,
                 absl::AnyInvocable<void(absl::Status) &&> done);
  void ReapDeadNodes(Result<std::vector<VoicePresence>> done);
  void LeaveCluster(const std::string& node_id,
                    Result<std::vector<VoicePresence>> done);

  // Counts for /metrics (whole cluster): sessions, memberships, grants.
  struct Counts {
    int64_t sessions = 0, memberships = 0, grants = 0;
  };
  void GetCounts(Result<Counts> done);

 private:
  redis::RedisClient& redis_;
  const RegistryLimits limits_;
  std::string secret_;  // set by Init, then read-only
};

}  // namespace herald::service::cluster
