#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "push/connection_id.h"
#include "push/delivery.h"
#include "push/router.h"
#include "service/cluster/bus_relay.h"
#include "service/cluster/cluster_state.h"
#include "service/redis/redis_client.h"

namespace herald::service::cluster {

struct ClusterBusOptions {
  // How long a publisher waits for every receiving node's ack before it
  // answers with the recipients counted so far (--cluster_ack_timeout_ms).
  std::chrono::milliseconds ack_timeout{2000};
  // The node's heartbeat key lives this long (--cluster_node_ttl_ms); a
  // killed node's voice presence ends within ttl + 1 s.
  std::chrono::milliseconds node_ttl{3000};
};

// The pub/sub side of a cluster node: herald's only channel between nodes
// is Redis. Channels (SUBSCRIBE, one message per event, never one per
// recipient):
//   herald:s:<server_id>  events of a server; a node subscribes while one
//                         of its connected users is a member
//   herald:u:<user_id>    a user's membership changes, session closes and
//                         user-only events; subscribed while the user has a
//                         connection on the node
//   herald:n:<node_id>    acks and connection closes addressed to the node
//
// Receiving: every message is applied to this node's PushServer (the local
// push::Router) and to the node's cache of its connected users' servers
// (which decides the server channels), then acked to its publisher with
// the number of local connections it was queued for. A message that adds a
// membership is acked only after the new server channel's SUBSCRIBE is
// confirmed, so an event published after the ack reaches the new member.
//
// Threading: the bus thread (RedisClient's) owns all state; public methods
// are thread-safe and post to it; callbacks run on the bus thread.
//
// Wiring: the RedisClient gets its handlers from a BusRelay made before it
// (see bus_relay.h); the bus attaches itself to the relay. Shutdown:
// bus.Stop(), then RedisClient::Stop(), then destroy the bus (pending
// callbacks complete during RedisClient::Stop and reach the bus).
class ClusterBus {
 public:
  static std::string ServerChannel(int64_t server_id);
  static std::string UserChannel(int64_t user_id);
  static std::string NodeChannel(const std::string& node_id);

  ClusterBus(redis::RedisClient& redis, ClusterState& state,
             push::Router& local, ClusterBusOptions options, BusRelay& relay);
  ~ClusterBus();

  // A random id, new at every start (a restarted node is a new node).
  const std::string& node_id() const { return node_id_; }

  // Subscribes the node channel, starts heartbeats and the dead-node
  // reaper. `done` once the node channel is confirmed.
  void Start(absl::AnyInvocable<void(absl::Status) &&> done);
  // Before RedisClient::Stop(): stops the heartbeats and completes every
  // ack wait with what it counted, so no timer keeps the bus thread alive.
  void Stop();
  // Drain: stops heartbeats, ends this node's voice presence (LeaveCluster,
  // user_left_vc to each server) and deletes the heartbeat key.
  void Leave(absl::AnyInvocable<void() &&> done);

  // One encoded message, ready to PUBLISH (or to pass to a ClusterState
  // script as Notify), with the request id its acks will carry.
  struct Outgoing {
    uint64_t request_id = 0;
    std::string bytes;
  };
  // An event (or membership changes only, empty payload) for every node's
  // matching connections; before/after changes also update node caches.
  Outgoing EncodeDeliver(const push::Delivery& delivery);
  // The user's servers are now exactly `server_ids` (SetMemberships).
  Outgoing EncodeSetServers(int64_t user_id, std::vector<int64_t> server_ids);
  // Router::CloseUser on every node (CloseSession, a reassigned token).
  // user_id 0: the user of the herald:u:<user> channel it arrives on (for
  // ClusterState's session scripts, which pick the channel).
  Outgoing EncodeCloseUser(int64_t user_id, std::string session_key,
                           uint16_t code, std::string reason);
  // Router::CloseConnection on the node that holds it (its node channel).
  Outgoing EncodeCloseConnection(push::ConnectionId id, uint16_t code,
                                 std::string reason);

  // Waits for `receivers` acks of `request_id` (PUBLISH's answer, or a
  // script's); `done(recipients)` with the sum of their local recipient
  // counts, or with what was counted when ack_timeout passes (counted in
  // stats().ack_timeouts, logged). receivers == 0 completes at once.
  void AwaitAcks(uint64_t request_id, int64_t receivers,
                 absl::AnyInvocable<void(uint32_t) &&> done);
  // PUBLISH `channel` and AwaitAcks: the cluster-wide recipients, or
  // UNAVAILABLE if Redis did not take it. The PUBLISH is sent from the
  // calling thread, so it stays in order with that thread's other
  // RedisClient commands (ClusterState scripts); so do EmitVoiceEvent's
  // and CloseConnectionOn's.
  void Publish(std::string channel, Outgoing message,
               absl::AnyInvocable<void(absl::StatusOr<uint32_t>) &&> done);

  // user_joined_vc / user_left_vc to a server's members (no ack wait).
  void EmitVoiceEvent(std::string payload, int64_t server_id);
  // Closes a connection wherever it is (locally when node_id is ours).
  void CloseConnectionOn(const std::string& node_id, push::ConnectionId id,
                         uint16_t code, std::string reason);

  // ClusterGate's main admission of `user_id` (whose session was checked):
  // takes one reference to the user (its channel, its servers' channels)
  // and answers the user's servers, from the cache when the user is
  // already cached, otherwise after subscribing the user's channel and
  // snapshotting its servers (SnapshotServers with a Marker) until every
  // server channel was subscribed before the snapshot (at most 4 rounds).
  // Answered on the bus thread, so the admission reaches the connection's
  // worker before any Route the bus makes after it. UNAVAILABLE (the
  // reference is released then) when Redis is down, did not answer, the
  // connection dropped meanwhile, or the servers did not settle in 4
  // snapshots; ClusterGate refuses with 1013 then.
  void AdmitUser(
      int64_t user_id,
      absl::AnyInvocable<void(absl::StatusOr<std::vector<int64_t>>) &&> done);
  // One reference of AdmitUser fewer (a main connection ended); channels
  // nobody needs any more are unsubscribed at once. An admission of the
  // same user in progress holds its own reference.
  void ReleaseUser(int64_t user_id);

  struct Stats {
    uint64_t messages_in = 0, messages_out = 0, acks_in = 0;
    uint64_t ack_timeouts = 0;
    // SnapshotServers issued (admissions and refreshes after a reconnect).
    uint64_t snapshots = 0;
    size_t server_channels = 0, user_channels = 0, cached_users = 0;
  };
  Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::string node_id_;
  redis::RedisClient* redis_ = nullptr;
  push::Router* local_ = nullptr;
  BusRelay* relay_ = nullptr;
};

}  // namespace herald::service::cluster
