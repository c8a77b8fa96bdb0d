#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "herald/v1/herald.pb.h"

namespace herald::service {

// What the herald.v1.Herald API does, apart from gRPC: the state (sessions,
// memberships, voice grants and presence) and the routing of events. Two
// implementations: LocalControlPlane (one process, the embedded SQLite
// registry) and cluster::ClusterControlPlane (state in Redis, events over
// Redis pub/sub to every node's PushServer).
//
// Every request has been validated (Validator) before it gets here. No
// method blocks; each completes its callback exactly once, on any thread
// (HeraldService moves the reply to its ControlExecutor). Calls made one
// after another from one thread (one publisher) take effect in that order
// on every connection. An error status means nothing was changed or
// delivered (UNAVAILABLE: the state store is unreachable; retry).
class ControlPlane {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;
  template <typename T>
  using Result = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;
  // channel id -> connected users, both ascending.
  using VoiceChannels = std::map<int64_t, std::vector<int64_t>>;

  virtual ~ControlPlane() = default;

  // Routes one event with its state effects (RoutingPolicy); the result is
  // the number of connections it was queued for (the whole cluster's).
  virtual void Publish(const v1::PublishRequest& request,
                       Result<uint32_t> done) = 0;

  // expires_at_us: µs since the Unix epoch, 0 = never; already checked to
  // be in the future.
  virtual void OpenSession(const std::string& token, int64_t user_id,
                           int64_t expires_at_us, Done done) = 0;
  // Whether the session existed; its sockets are closed (4004) everywhere.
  virtual void CloseSession(const std::string& token, Result<bool> done) = 0;

  virtual void SetMemberships(int64_t user_id, std::vector<int64_t> server_ids,
                              Done done) = 0;
  // Ascending.
  virtual void GetMemberships(int64_t user_id,
                              Result<std::vector<int64_t>> done) = 0;

  virtual void JoinVoice(int64_t user_id, int64_t server_id, int64_t channel_id,
                         Done done) = 0;
  // Whether there was a grant or a connection.
  virtual void LeaveVoice(int64_t user_id, Result<bool> done) = 0;
  virtual void GetVoiceState(int64_t server_id, Result<VoiceChannels> done) = 0;
};

}  // namespace herald::service
