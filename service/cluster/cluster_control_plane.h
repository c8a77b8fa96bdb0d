#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "service/cluster/cluster_bus.h"
#include "service/cluster/cluster_state.h"
#include "service/cluster/sequencer.h"
#include "service/control_plane.h"
#include "service/publish_stats.h"
#include "service/routing_policy.h"

namespace herald::service::cluster {

// The ControlPlane of a cluster node: state changes are ClusterState
// scripts (Redis, the source of truth), events are ClusterBus messages that
// every node applies to its own PushServer; replies carry the whole
// cluster's recipients (the sum of the receiving nodes' acks).
//
// Every call goes through one Sequencer, so this node's commands reach
// Redis in the order the calls arrived; a user_joined holds later calls
// until its second phase is sent (its new member's nodes subscribed the
// server first), and user_left / channel_deleted / server_deleted /
// SetMemberships hold them until their voice step's closes and user_left_vc
// are sent. Errors: RESOURCE_EXHAUSTED for membership limits (from
// ClusterState), UNAVAILABLE "redis: ..." for anything Redis did not
// answer.
//
// Thread-safe; callbacks run on the bus thread (or inline on the caller's
// thread for an encoding error).
class ClusterControlPlane final : public ControlPlane {
 public:
  // `stats` (may be null) counts every published event and observes how
  // long the cluster took to queue it (every node's ack).
  ClusterControlPlane(ClusterState& state, ClusterBus& bus,
                      PublishStats* stats = nullptr);

  void Publish(const v1::PublishRequest& request,
               Result<uint32_t> done) override;
  void OpenSession(const std::string& token, int64_t user_id,
                   int64_t expires_at_us, Done done) override;
  void CloseSession(const std::string& token, Result<bool> done) override;
  void SetMemberships(int64_t user_id, std::vector<int64_t> server_ids,
                      Done done) override;
  void GetMemberships(int64_t user_id,
                      Result<std::vector<int64_t>> done) override;
  void JoinVoice(int64_t user_id, int64_t server_id, int64_t channel_id,
                 Done done) override;
  void LeaveVoice(int64_t user_id, Result<bool> done) override;
  void GetVoiceState(int64_t server_id, Result<VoiceChannels> done) override;

  // Calls waiting behind a held one (a user_joined between its phases).
  size_t queued() const { return sequencer_.queued(); }

 private:
  // The event's delivery with no state change (also channel_deleted's).
  void PublishPlain(push::Delivery delivery, Result<uint32_t> done,
                    Sequencer::Release release);
  void PublishUserJoined(push::Delivery delivery, int64_t user_id,
                         int64_t server_id, Result<uint32_t> done,
                         Sequencer::Release release);

  // user_left / server_deleted after every node acked the event (whose
  // `recipients` are the answer): ends the voice presence the change ended,
  // then releases the sequencer.
  void EndVoiceAfter(const StateEffect& effect, uint32_t recipients,
                     Result<uint32_t> done, Sequencer::Release release);
  // SetMemberships: ends the user's voice in each server left.
  void EndVoiceIn(int64_t user_id, const std::vector<int64_t>& server_ids,
                  Done done);
  // Closes each ended presence on its node with `code`/`reason` and, when
  // `emit`, tells its server user_left_vc.
  void EndPresences(const std::vector<VoicePresence>& ended, uint16_t code,
                    const char* reason, bool emit);

  ClusterState& state_;
  ClusterBus& bus_;
  PublishStats* const stats_;
  Sequencer sequencer_;
};

// A Redis failure as the API reports it: RESOURCE_EXHAUSTED stays (a limit
// or back-pressure), anything else becomes UNAVAILABLE, and the message
// starts with "redis: ".
absl::Status RedisStatus(const absl::Status& status);

}  // namespace herald::service::cluster
