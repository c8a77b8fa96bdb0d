#include "service/cluster/cluster_bus.h"

#include <atomic>
#include <optional>
#include <random>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/steady_timer.hpp"
#include "herald/cluster/v1/bus.pb.h"
#include "push/log.h"
#include "service/cluster/ack_tracker.h"
#include "service/cluster/node_cache.h"
#include "service/translator.h"

namespace herald::service::cluster {
namespace {

namespace pb = ::herald::cluster::v1;
using Kind = push::MembershipChange::Kind;

// Rounds of SnapshotServers an admission may take before it is refused.
constexpr int kMaxRounds = 4;
constexpr auto kHeartbeatPeriod = std::chrono::seconds(1);
constexpr absl::string_view kUserPrefix = "herald:u:";

std::string RandomNodeId() {
  std::random_device device;
  std::uniform_int_distribution<uint64_t> dist;
  const uint64_t a = dist(device), b = dist(device);
  return absl::StrCat(absl::Hex(a, absl::kZeroPad16),
                      absl::Hex(b, absl::kZeroPad16));
}

pb::MembershipChange::Kind ToProto(Kind kind) {
  switch (kind) {
    case Kind::kAdd:
      return pb::MembershipChange::ADD;
    case Kind::kRemove:
      return pb::MembershipChange::REMOVE;
    case Kind::kDropServer:
      return pb::MembershipChange::DROP_SERVER;
  }
  return pb::MembershipChange::ADD;
}

Kind FromProto(pb::MembershipChange::Kind kind) {
  switch (kind) {
    case pb::MembershipChange::REMOVE:
      return Kind::kRemove;
    case pb::MembershipChange::DROP_SERVER:
      return Kind::kDropServer;
    default:
      return Kind::kAdd;
  }
}

void EncodeChanges(
    const std::vector<push::MembershipChange>& changes,
    google::protobuf::RepeatedPtrField<pb::MembershipChange>* out) {
  for (const push::MembershipChange& c : changes) {
    pb::MembershipChange* m = out->Add();
    m->set_kind(ToProto(c.kind));
    m->set_user_id(c.user_id);
    m->set_server_id(c.server_id);
  }
}

std::vector<push::MembershipChange> DecodeChanges(
    const google::protobuf::RepeatedPtrField<pb::MembershipChange>& in) {
  std::vector<push::MembershipChange> changes;
  changes.reserve(in.size());
  for (const pb::MembershipChange& m : in) {
    changes.push_back({FromProto(m.kind()), m.user_id(), m.server_id()});
  }
  return changes;
}

// The user of a herald:u:<user> channel, 0 if it is not one.
int64_t UserOfChannel(std::string_view channel) {
  if (!channel.starts_with(
          std::string_view(kUserPrefix.data(), kUserPrefix.size())))
    return 0;
  int64_t user_id = 0;
  const std::string_view digits = channel.substr(kUserPrefix.size());
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()),
                        &user_id)) {
    return 0;
  }
  return user_id;
}

}  // namespace

std::string ClusterBus::ServerChannel(int64_t server_id) {
  return absl::StrCat("herald:s:", server_id);
}
std::string ClusterBus::UserChannel(int64_t user_id) {
  return absl::StrCat(kUserPrefix, user_id);
}
std::string ClusterBus::NodeChannel(const std::string& node_id) {
  return absl::StrCat("herald:n:", node_id);
}

// Everything below runs on the bus thread unless it says otherwise.
class ClusterBus::Impl {
 public:
  using AdmitDone =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<int64_t>>) &&>;

  Impl(redis::RedisClient& redis, ClusterState& state, push::Router& local,
       ClusterBusOptions options, BusRelay& relay, const std::string& node_id)
      : redis_(redis),
        state_(state),
        local_(local),
        options_(options),
        relay_(relay),
        node_id_(node_id),
        cache_(NodeCache::Hooks{
            [this](const std::string& c) { SubscribeChannel(c); },
            [this](const std::string& c) { UnsubscribeChannel(c); }}),
        acks_(redis.context(), options.ack_timeout),
        heartbeat_(redis.context()) {}

  // Any thread.
  pb::BusMessage NewMessage(bool ack) {
    pb::BusMessage m;
    m.set_origin(node_id_);
    if (ack) m.set_request_id(next_request_id_.fetch_add(1));
    return m;
  }
  Outgoing Finish(const pb::BusMessage& m) {
    return Outgoing{m.request_id(), m.SerializeAsString()};
  }

  void Attach() {
    BusRelay::Target target;
    target.on_message = [this](std::string_view channel,
                               std::string_view payload) {
      OnMessage(channel, payload);
    };
    target.on_connected = [this](bool reconnect) { OnConnected(reconnect); };
    target.on_disconnected = [this](const absl::Status&) { OnDisconnected(); };
    relay_.Attach(std::move(target));
  }

  void Start(absl::AnyInvocable<void(absl::Status) &&> done) {
    started_ = true;
    redis_.Subscribe(ClusterBus::NodeChannel(node_id_), std::move(done));
    Heartbeat();
  }

  void Leave(absl::AnyInvocable<void() &&> done);
  void Stop() {
    stopped_ = true;
    heartbeat_.cancel();
    acks_.CompleteAll();
  }
  // Publish, EmitVoiceEvent, SendCloseConnection: any thread (the command
  // is sent from the caller's thread; its reply runs on the bus thread).
  void Publish(std::string channel, Outgoing message,
               absl::AnyInvocable<void(absl::StatusOr<uint32_t>) &&> done);
  void AwaitAcks(uint64_t request_id, int64_t receivers,
                 absl::AnyInvocable<void(uint32_t) &&> done) {
    acks_.Await(request_id, receivers, std::move(done));
    RefreshStats();
  }
  void EmitVoiceEvent(std::string payload, int64_t server_id);
  void SendCloseConnection(const std::string& node_id, push::ConnectionId id,
                           uint16_t code, std::string reason);
  void AdmitUser(int64_t user_id, AdmitDone done);
  void ReleaseUser(int64_t user_id);

  Stats stats() const {
    Stats s;
    s.messages_in = messages_in_.load();
    s.messages_out = messages_out_.load();
    s.acks_in = acks_in_.load();
    s.ack_timeouts = acks_.timeouts();
    s.snapshots = snapshots_.load();
    s.server_channels = server_channels_.load();
    s.user_channels = user_channels_.load();
    s.cached_users = user_channels_.load();
    return s;
  }

 private:
  // One snapshot of a user's servers in progress (an admission, or the
  // refresh after a reconnect).
  struct JournalEntry {
    std::optional<push::MembershipChange> change;  // else: set `servers`
    std::vector<int64_t> servers;
  };
  struct Round {
    uint64_t nonce = 0;
    int number = 0;
    uint64_t issued_seq = 0;
    bool marker_seen = false;
    std::optional<std::vector<int64_t>> reply;
    // Changes received after the marker, replayed onto the reply.
    std::vector<JournalEntry> journal;
    std::vector<AdmitDone> waiters;
  };
  struct Channel {
    uint64_t generation = 0;
    bool confirmed = false;
    uint64_t confirmed_seq = 0;  // seq_ when confirmed
  };
  // An ack that waits for the local routing and for server channels.
  struct PendingAck {
    std::string origin;
    uint64_t request_id = 0;
    int pending = 0;
    uint32_t recipients = 0;
  };

  void OnMessage(std::string_view channel, std::string_view payload);
  void OnConnected(bool reconnect);
  void OnDisconnected();
  void HandleDeliver(pb::BusMessage& m);
  void HandleSetServers(const pb::BusMessage& m);
  void HandleMarker(std::string_view channel, const pb::BusMessage& m);
  void SendAck(const std::string& origin, uint64_t request_id,
               uint32_t recipients);
  // Routes locally and acks once routed and `joined` channels confirmed.
  void RouteAndAck(push::Delivery delivery, const pb::BusMessage& m,
                   const std::vector<int64_t>& joined);
  void FinishPending(const std::shared_ptr<PendingAck>& ack);
  void ApplyChange(const push::MembershipChange& change,
                   std::vector<int64_t>* joined);

  void SubscribeChannel(const std::string& channel);
  void UnsubscribeChannel(const std::string& channel);
  // `done` once `channel` is confirmed (at once when it is, or when it is
  // no longer needed).
  void WhenConfirmed(const std::string& channel,
                     absl::AnyInvocable<void(absl::Status) &&> done);

  void StartRound(int64_t user_id, int number);
  void IssueSnapshot(int64_t user_id, uint64_t nonce);
  void MaybeFinishRound(int64_t user_id);
  void FailRound(int64_t user_id, absl::Status why);
  Round* FindRound(int64_t user_id, uint64_t nonce);

  void Heartbeat();
  void PublishRaw(std::string channel, std::string bytes,
                  redis::RedisClient::ReplyCallback done = nullptr);
  void RefreshStats() {
    server_channels_ = cache_.server_channels();
    user_channels_ = cache_.user_channels();
  }

  redis::RedisClient& redis_;
  ClusterState& state_;
  push::Router& local_;
  const ClusterBusOptions options_;
  BusRelay& relay_;
  const std::string& node_id_;
  std::atomic<uint64_t> next_request_id_{1};

  NodeCache cache_;
  AckTracker acks_;
  absl::flat_hash_map<std::string, Channel> channels_;
  uint64_t generation_ = 0;
  uint64_t seq_ = 0;
  absl::flat_hash_map<int64_t, Round> rounds_;
  std::mt19937_64 nonces_{std::random_device{}()};
  boost::asio::steady_timer heartbeat_;
  bool started_ = false;
  bool stopped_ = false;
  bool leaving_ = false;
  bool connected_ = false;

  std::atomic<uint64_t> messages_in_{0}, messages_out_{0}, acks_in_{0},
      snapshots_{0};
  std::atomic<size_t> server_channels_{0}, user_channels_{0};
};

// ---- Channels ----

void ClusterBus::Impl::SubscribeChannel(const std::string& channel) {
  Channel& c = channels_[channel];
  c.generation = ++generation_;
  c.confirmed = false;
  const uint64_t generation = c.generation;
  redis_.Subscribe(channel, [this, channel, generation](absl::Status status) {
    if (!status.ok()) return;
    auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.generation != generation) return;
    if (!it->second.confirmed) {
      it->second.confirmed = true;
      it->second.confirmed_seq = ++seq_;
    }
  });
}

void ClusterBus::Impl::UnsubscribeChannel(const std::string& channel) {
  channels_.erase(channel);
  redis_.Unsubscribe(channel);
}

void ClusterBus::Impl::WhenConfirmed(
    const std::string& channel,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  auto it = channels_.find(channel);
  if (it == channels_.end() || it->second.confirmed) {
    std::move(done)(absl::OkStatus());
    return;
  }
  const uint64_t generation = it->second.generation;
  // Already in the client's set: confirms after the pending SUBSCRIBE.
  redis_.Subscribe(channel, [this, channel, generation, done = std::move(done)](
                                absl::Status status) mutable {
    if (status.ok()) {
      auto it = channels_.find(channel);
      if (it != channels_.end() && it->second.generation == generation &&
          !it->second.confirmed) {
        it->second.confirmed = true;
        it->second.confirmed_seq = ++seq_;
      }
    }
    std::move(done)(std::move(status));
  });
}

// ---- Receiving ----

void ClusterBus::Impl::OnMessage(std::string_view channel,
                                 std::string_view payload) {
  pb::BusMessage m;
  if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    Log(LogLevel::kWarning, "cluster_bad_message",
        {{"channel", channel}, {"bytes", payload.size()}});
    return;
  }
  ++messages_in_;
  switch (m.body_case()) {
    case pb::BusMessage::kDeliver:
      HandleDeliver(m);
      break;
    case pb::BusMessage::kSetServers:
      HandleSetServers(m);
      break;
    case pb::BusMessage::kCloseUser: {
      const pb::CloseUser& c = m.close_user();
      // user 0: the user of the channel it arrives on (a session script
      // publishes one message on the channel of whichever user it found).
      const int64_t user =
          c.user_id() != 0 ? c.user_id() : UserOfChannel(channel);
      if (user <= 0) {
        Log(LogLevel::kWarning, "cluster_bad_message",
            {{"channel", channel}, {"bytes", payload.size()}});
        SendAck(m.origin(), m.request_id(), 0);
        break;
      }
      local_.CloseUser(user, c.session_key(), static_cast<uint16_t>(c.code()),
                       c.reason());
      SendAck(m.origin(), m.request_id(), 0);
      break;
    }
    case pb::BusMessage::kCloseConnection: {
      const pb::CloseConnection& c = m.close_connection();
      local_.CloseConnection(c.connection(), static_cast<uint16_t>(c.code()),
                             c.reason());
      SendAck(m.origin(), m.request_id(), 0);
      break;
    }
    case pb::BusMessage::kAck:
      ++acks_in_;
      acks_.OnAck(m.ack().request_id(), m.ack().recipients());
      break;
    case pb::BusMessage::kMarker:
      HandleMarker(channel, m);
      break;
    case pb::BusMessage::BODY_NOT_SET:
      break;
  }
  RefreshStats();
}

void ClusterBus::Impl::ApplyChange(const push::MembershipChange& change,
                                   std::vector<int64_t>* joined) {
  cache_.Apply(change, joined);
  if (change.kind == Kind::kDropServer) {
    for (auto& [user_id, round] : rounds_) {
      if (round.marker_seen) round.journal.push_back({change, {}});
    }
    return;
  }
  auto it = rounds_.find(change.user_id);
  if (it != rounds_.end() && it->second.marker_seen) {
    it->second.journal.push_back({change, {}});
  }
}

void ClusterBus::Impl::HandleDeliver(pb::BusMessage& m) {
  pb::Deliver& d = *m.mutable_deliver();
  push::Delivery delivery;
  delivery.payload = std::move(*d.mutable_payload());
  delivery.server_id = d.server_id();
  delivery.users.assign(d.users().begin(), d.users().end());
  delivery.before = DecodeChanges(d.before());
  delivery.after = DecodeChanges(d.after());
  std::vector<int64_t> joined;
  for (const auto& c : delivery.before) ApplyChange(c, &joined);
  for (const auto& c : delivery.after) ApplyChange(c, &joined);
  RouteAndAck(std::move(delivery), m, joined);
}

void ClusterBus::Impl::HandleSetServers(const pb::BusMessage& m) {
  const int64_t user_id = m.set_servers().user_id();
  std::vector<int64_t> servers(m.set_servers().server_ids().begin(),
                               m.set_servers().server_ids().end());
  std::vector<int64_t> joined;
  push::Delivery delivery;
  delivery.before = cache_.Replace(user_id, servers, &joined);
  auto it = rounds_.find(user_id);
  if (it != rounds_.end() && it->second.marker_seen) {
    it->second.journal.push_back({std::nullopt, std::move(servers)});
  }
  if (delivery.before.empty()) {
    SendAck(m.origin(), m.request_id(), 0);
    return;
  }
  RouteAndAck(std::move(delivery), m, joined);
}

void ClusterBus::Impl::RouteAndAck(push::Delivery delivery,
                                   const pb::BusMessage& m,
                                   const std::vector<int64_t>& joined) {
  if (m.request_id() == 0) {
    local_.Route(std::move(delivery), nullptr);
    return;
  }
  auto ack = std::make_shared<PendingAck>();
  ack->origin = m.origin();
  ack->request_id = m.request_id();
  ack->pending = 1 + static_cast<int>(joined.size());
  // Route's callback runs on an I/O thread: back to the bus thread.
  local_.Route(std::move(delivery), [this, ack](uint32_t recipients) {
    redis_.Post([this, ack, recipients] {
      ack->recipients = recipients;
      FinishPending(ack);
    });
  });
  for (int64_t server_id : joined) {
    WhenConfirmed(ClusterBus::ServerChannel(server_id),
                  [this, ack](absl::Status) { FinishPending(ack); });
  }
}

void ClusterBus::Impl::FinishPending(const std::shared_ptr<PendingAck>& ack) {
  if (--ack->pending > 0) return;
  SendAck(ack->origin, ack->request_id, ack->recipients);
}

void ClusterBus::Impl::SendAck(const std::string& origin, uint64_t request_id,
                               uint32_t recipients) {
  if (request_id == 0) return;
  if (origin == node_id_) {
    ++acks_in_;
    acks_.OnAck(request_id, recipients);
    RefreshStats();
    return;
  }
  pb::BusMessage m = NewMessage(/*ack=*/false);
  m.mutable_ack()->set_request_id(request_id);
  m.mutable_ack()->set_recipients(recipients);
  PublishRaw(ClusterBus::NodeChannel(origin), m.SerializeAsString());
}

void ClusterBus::Impl::HandleMarker(std::string_view channel,
                                    const pb::BusMessage& m) {
  if (m.origin() != node_id_) return;  // another node's admission
  const int64_t user_id = UserOfChannel(channel);
  Round* round = FindRound(user_id, m.marker().nonce());
  if (round == nullptr || round->marker_seen) return;
  round->marker_seen = true;
  MaybeFinishRound(user_id);
}

void ClusterBus::Impl::OnConnected(bool reconnect) {
  connected_ = true;
  // The client subscribed every channel again before telling us.
  for (auto& [name, channel] : channels_) {
    if (!channel.confirmed) {
      channel.confirmed = true;
      channel.confirmed_seq = ++seq_;
    }
  }
  if (started_) {
    heartbeat_.cancel();
    Heartbeat();
  }
  if (!reconnect) return;
  Log(LogLevel::kInfo, "cluster_resnapshot",
      {{"users", cache_.user_channels()}});
  // Messages published while disconnected are lost: snapshot every cached
  // user again and apply the differences.
  for (int64_t user_id : cache_.Users()) StartRound(user_id, 1);
}

void ClusterBus::Impl::OnDisconnected() {
  connected_ = false;
  for (auto& [name, channel] : channels_) channel.confirmed = false;
  // A snapshot's marker may be lost with the subscriber connection: refuse
  // the admissions in progress now (1013) rather than hold them until a
  // reconnect; refreshes start again at the reconnect.
  std::vector<int64_t> users;
  for (const auto& [user_id, round] : rounds_) users.push_back(user_id);
  for (int64_t user_id : users) {
    FailRound(user_id, absl::UnavailableError("redis: connection lost"));
  }
}

// ---- Snapshots (admission, refresh) ----

ClusterBus::Impl::Round* ClusterBus::Impl::FindRound(int64_t user_id,
                                                     uint64_t nonce) {
  auto it = rounds_.find(user_id);
  if (it == rounds_.end() || it->second.nonce != nonce) return nullptr;
  return &it->second;
}

void ClusterBus::Impl::StartRound(int64_t user_id, int number) {
  Round& round = rounds_[user_id];
  round.nonce = nonces_() | 1;
  round.number = number;
  round.marker_seen = false;
  round.reply.reset();
  round.journal.clear();
  const uint64_t nonce = round.nonce;
  WhenConfirmed(ClusterBus::UserChannel(user_id),
                [this, user_id, nonce](absl::Status status) {
                  if (FindRound(user_id, nonce) == nullptr) return;
                  if (!status.ok()) {
                    FailRound(user_id, std::move(status));
                    return;
                  }
                  IssueSnapshot(user_id, nonce);
                });
}

void ClusterBus::Impl::IssueSnapshot(int64_t user_id, uint64_t nonce) {
  Round* round = FindRound(user_id, nonce);
  round->issued_seq = seq_;
  pb::BusMessage marker = NewMessage(/*ack=*/false);
  marker.mutable_marker()->set_nonce(nonce);
  ++messages_out_;
  ++snapshots_;
  state_.SnapshotServers(
      user_id,
      Notify{ClusterBus::UserChannel(user_id), marker.SerializeAsString()},
      [this, user_id, nonce](absl::StatusOr<std::vector<int64_t>> servers) {
        Round* round = FindRound(user_id, nonce);
        if (round == nullptr) return;
        if (!servers.ok()) {
          FailRound(user_id, servers.status());
          return;
        }
        round->reply = *std::move(servers);
        MaybeFinishRound(user_id);
      });
}

void ClusterBus::Impl::MaybeFinishRound(int64_t user_id) {
  auto it = rounds_.find(user_id);
  if (it == rounds_.end()) return;
  Round& round = it->second;
  if (!round.marker_seen || !round.reply) return;
  // The servers at the marker, with what happened since.
  absl::btree_set<int64_t> target(round.reply->begin(), round.reply->end());
  for (const JournalEntry& e : round.journal) {
    if (!e.change) {
      target = absl::btree_set<int64_t>(e.servers.begin(), e.servers.end());
    } else if (e.change->kind == Kind::kAdd) {
      target.insert(e.change->server_id);
    } else {
      target.erase(e.change->server_id);
    }
  }
  push::Delivery delivery;
  delivery.before = cache_.Replace(
      user_id, std::vector<int64_t>(target.begin(), target.end()), nullptr);
  if (!delivery.before.empty()) local_.Route(std::move(delivery), nullptr);
  // Stable when every server of the snapshot was subscribed before it: no
  // event of those servers after the marker was missed.
  bool stable = true;
  for (int64_t server_id : *round.reply) {
    auto c = channels_.find(ClusterBus::ServerChannel(server_id));
    if (c == channels_.end() || !c->second.confirmed ||
        c->second.confirmed_seq > round.issued_seq) {
      stable = false;
      break;
    }
  }
  round.marker_seen = false;
  round.journal.clear();
  if (stable) {
    std::vector<AdmitDone> waiters = std::move(round.waiters);
    rounds_.erase(it);
    RefreshStats();
    for (AdmitDone& done : waiters) std::move(done)(cache_.ServersOf(user_id));
    return;
  }
  if (round.number >= kMaxRounds) {
    FailRound(user_id, absl::UnavailableError(absl::StrCat(
                           "cluster: the servers of user ", user_id,
                           " did not settle in ", kMaxRounds, " snapshots")));
    return;
  }
  // Subscribe what the snapshot named (NodeCache did), then look again.
  const std::vector<int64_t> servers = cache_.ServersOf(user_id);
  auto left = std::make_shared<int>(static_cast<int>(servers.size()) + 1);
  const uint64_t nonce = round.nonce;
  const int next = round.number + 1;
  auto step = [this, user_id, nonce, next, left](absl::Status) {
    if (--*left > 0) return;
    if (FindRound(user_id, nonce) == nullptr) return;
    StartRound(user_id, next);
  };
  for (int64_t server_id : servers) {
    WhenConfirmed(ClusterBus::ServerChannel(server_id), step);
  }
  step(absl::OkStatus());
}

void ClusterBus::Impl::FailRound(int64_t user_id, absl::Status why) {
  auto it = rounds_.find(user_id);
  if (it == rounds_.end()) return;
  std::vector<AdmitDone> waiters = std::move(it->second.waiters);
  rounds_.erase(it);
  if (waiters.empty()) {
    Log(LogLevel::kWarning, "cluster_resnapshot_failed",
        {{"user_id", user_id}, {"error", why.message()}});
  }
  for (AdmitDone& done : waiters) {
    cache_.Release(user_id);
    std::move(done)(why);
  }
  RefreshStats();
}

void ClusterBus::Impl::AdmitUser(int64_t user_id, AdmitDone done) {
  if (!redis_.connected()) {
    std::move(done)(absl::UnavailableError(
        absl::StrCat("redis: not connected to ", redis_.endpoint())));
    return;
  }
  const bool cached = cache_.Has(user_id);
  cache_.AddRef(user_id);
  RefreshStats();
  if (auto it = rounds_.find(user_id); it != rounds_.end()) {
    it->second.waiters.push_back(std::move(done));
    return;
  }
  if (cached) {
    std::move(done)(cache_.ServersOf(user_id));
    return;
  }
  rounds_[user_id].waiters.push_back(std::move(done));
  StartRound(user_id, 1);
}

void ClusterBus::Impl::ReleaseUser(int64_t user_id) {
  cache_.Release(user_id);
  if (!cache_.Has(user_id)) rounds_.erase(user_id);
  RefreshStats();
}

// ---- Sending ----

void ClusterBus::Impl::PublishRaw(std::string channel, std::string bytes,
                                  redis::RedisClient::ReplyCallback done) {
  ++messages_out_;
  if (!done) done = [](absl::StatusOr<redis::RedisReply>) {};
  redis_.Command({"PUBLISH", std::move(channel), std::move(bytes)},
                 std::move(done));
}

void ClusterBus::Impl::Publish(
    std::string channel, Outgoing message,
    absl::AnyInvocable<void(absl::StatusOr<uint32_t>) &&> done) {
  const uint64_t request_id = message.request_id;
  PublishRaw(
      std::move(channel), std::move(message.bytes),
      [this, request_id, done = std::move(done)](
          absl::StatusOr<redis::RedisReply> reply) mutable {
        if (!reply.ok()) {
          std::move(done)(absl::UnavailableError(reply.status().message()));
          return;
        }
        if (reply->type != redis::RedisReply::Type::kInteger) {
          std::move(done)(absl::UnavailableError(
              absl::StrCat("redis: PUBLISH answered ", reply->str)));
          return;
        }
        acks_.Await(request_id, reply->integer,
                    [done = std::move(done)](uint32_t recipients) mutable {
                      std::move(done)(recipients);
                    });
        RefreshStats();
      });
}

void ClusterBus::Impl::EmitVoiceEvent(std::string payload, int64_t server_id) {
  pb::BusMessage m = NewMessage(/*ack=*/false);
  m.mutable_deliver()->set_payload(std::move(payload));
  m.mutable_deliver()->set_server_id(server_id);
  PublishRaw(ClusterBus::ServerChannel(server_id), m.SerializeAsString());
}

void ClusterBus::Impl::SendCloseConnection(const std::string& node_id,
                                           push::ConnectionId id, uint16_t code,
                                           std::string reason) {
  pb::BusMessage m = NewMessage(/*ack=*/false);
  m.mutable_close_connection()->set_connection(id);
  m.mutable_close_connection()->set_code(code);
  m.mutable_close_connection()->set_reason(std::move(reason));
  PublishRaw(ClusterBus::NodeChannel(node_id), m.SerializeAsString());
}

// ---- Heartbeats, reaping, drain ----

// One beat (and reap), and the next in a second while connected; a connect
// starts it again.
void ClusterBus::Impl::Heartbeat() {
  if (leaving_ || stopped_ || !redis_.connected()) return;
  state_.Heartbeat(node_id_, options_.node_ttl.count(), [](absl::Status) {});
  state_.ReapDeadNodes(
      [this](absl::StatusOr<std::vector<VoicePresence>> reaped) {
        if (!reaped.ok()) return;
        for (const VoicePresence& p : *reaped) {
          Log(LogLevel::kInfo, "cluster_reaped_voice",
              {{"node", p.node_id}, {"user_id", p.user_id}});
          EmitVoiceEvent(
              Translator::UserLeftVc(p.user_id, p.channel_id, p.server_id),
              p.server_id);
        }
      });
  heartbeat_.expires_after(kHeartbeatPeriod);
  heartbeat_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Heartbeat();
  });
}

void ClusterBus::Impl::Leave(absl::AnyInvocable<void() &&> done) {
  leaving_ = true;
  heartbeat_.cancel();
  state_.LeaveCluster(
      node_id_, [this, done = std::move(done)](
                    absl::StatusOr<std::vector<VoicePresence>> ended) mutable {
        if (!ended.ok() || ended->empty()) {
          std::move(done)();
          return;
        }
        // `done` once Redis took the last event (commands stay in order).
        const size_t last = ended->size() - 1;
        for (size_t i = 0; i < ended->size(); ++i) {
          const VoicePresence& p = (*ended)[i];
          pb::BusMessage m = NewMessage(/*ack=*/false);
          m.mutable_deliver()->set_payload(
              Translator::UserLeftVc(p.user_id, p.channel_id, p.server_id));
          m.mutable_deliver()->set_server_id(p.server_id);
          redis::RedisClient::ReplyCallback cb = nullptr;
          if (i == last) {
            cb = [done = std::move(done)](
                     absl::StatusOr<redis::RedisReply>) mutable {
              std::move(done)();
            };
          }
          PublishRaw(ClusterBus::ServerChannel(p.server_id),
                     m.SerializeAsString(), std::move(cb));
        }
      });
}

// ---- ClusterBus ----

ClusterBus::ClusterBus(redis::RedisClient& redis, ClusterState& state,
                       push::Router& local, ClusterBusOptions options,
                       BusRelay& relay)
    : node_id_(RandomNodeId()), redis_(&redis), local_(&local), relay_(&relay) {
  impl_ = std::make_unique<Impl>(redis, state, local, options, relay, node_id_);
  redis.Post([impl = impl_.get()] { impl->Attach(); });
}

ClusterBus::~ClusterBus() { relay_->Detach(); }

void ClusterBus::Start(absl::AnyInvocable<void(absl::Status) &&> done) {
  redis_->Post([impl = impl_.get(), done = std::move(done)]() mutable {
    impl->Start(std::move(done));
  });
}

void ClusterBus::Stop() {
  redis_->Post([impl = impl_.get()] { impl->Stop(); });
}

void ClusterBus::Leave(absl::AnyInvocable<void() &&> done) {
  redis_->Post([impl = impl_.get(), done = std::move(done)]() mutable {
    impl->Leave(std::move(done));
  });
}

ClusterBus::Outgoing ClusterBus::EncodeDeliver(const push::Delivery& delivery) {
  pb::BusMessage m = impl_->NewMessage(/*ack=*/true);
  pb::Deliver* d = m.mutable_deliver();
  d->set_payload(delivery.payload);
  d->set_server_id(delivery.server_id);
  for (int64_t user : delivery.users) d->add_users(user);
  EncodeChanges(delivery.before, d->mutable_before());
  EncodeChanges(delivery.after, d->mutable_after());
  return impl_->Finish(m);
}

ClusterBus::Outgoing ClusterBus::EncodeSetServers(
    int64_t user_id, std::vector<int64_t> server_ids) {
  pb::BusMessage m = impl_->NewMessage(/*ack=*/true);
  m.mutable_set_servers()->set_user_id(user_id);
  for (int64_t server_id : server_ids) {
    m.mutable_set_servers()->add_server_ids(server_id);
  }
  return impl_->Finish(m);
}

ClusterBus::Outgoing ClusterBus::EncodeCloseUser(int64_t user_id,
                                                 std::string session_key,
                                                 uint16_t code,
                                                 std::string reason) {
  pb::BusMessage m = impl_->NewMessage(/*ack=*/true);
  pb::CloseUser* c = m.mutable_close_user();
  c->set_user_id(user_id);
  c->set_session_key(std::move(session_key));
  c->set_code(code);
  c->set_reason(std::move(reason));
  return impl_->Finish(m);
}

ClusterBus::Outgoing ClusterBus::EncodeCloseConnection(push::ConnectionId id,
                                                       uint16_t code,
                                                       std::string reason) {
  pb::BusMessage m = impl_->NewMessage(/*ack=*/true);
  pb::CloseConnection* c = m.mutable_close_connection();
  c->set_connection(id);
  c->set_code(code);
  c->set_reason(std::move(reason));
  return impl_->Finish(m);
}

void ClusterBus::AwaitAcks(uint64_t request_id, int64_t receivers,
                           absl::AnyInvocable<void(uint32_t) &&> done) {
  redis_->Post([impl = impl_.get(), request_id, receivers,
                done = std::move(done)]() mutable {
    impl->AwaitAcks(request_id, receivers, std::move(done));
  });
}

// Sent from the caller's thread (RedisClient keeps one thread's commands in
// order), so a Publish and the caller's ClusterState scripts reach Redis in
// the order they were made.
void ClusterBus::Publish(
    std::string channel, Outgoing message,
    absl::AnyInvocable<void(absl::StatusOr<uint32_t>) &&> done) {
  impl_->Publish(std::move(channel), std::move(message), std::move(done));
}

void ClusterBus::EmitVoiceEvent(std::string payload, int64_t server_id) {
  impl_->EmitVoiceEvent(std::move(payload), server_id);
}

void ClusterBus::CloseConnectionOn(const std::string& node_id,
                                   push::ConnectionId id, uint16_t code,
                                   std::string reason) {
  if (node_id == node_id_) {
    local_->CloseConnection(id, code, std::move(reason));
    return;
  }
  impl_->SendCloseConnection(node_id, id, code, std::move(reason));
}

void ClusterBus::AdmitUser(
    int64_t user_id,
    absl::AnyInvocable<void(absl::StatusOr<std::vector<int64_t>>) &&> done) {
  redis_->Post([impl = impl_.get(), user_id, done = std::move(done)]() mutable {
    impl->AdmitUser(user_id, std::move(done));
  });
}

void ClusterBus::ReleaseUser(int64_t user_id) {
  redis_->Post([impl = impl_.get(), user_id] { impl->ReleaseUser(user_id); });
}

ClusterBus::Stats ClusterBus::stats() const { return impl_->stats(); }

}  // namespace herald::service::cluster
