#include "push/worker.h"

#include <algorithm>

#include "push/connection_log.h"
#include "push/gate.h"
#include "push/log.h"

namespace herald::push {

Worker::Worker(int index, const PushOptions& options, SharedCounters& counters)
    : index_(index),
      options_(options),
      counters_(counters),
      work_guard_(io_context_.get_executor()),
      ping_timer_(io_context_),
      log_timer_(io_context_) {}

void Worker::Start(Gate* gate) {
  gate_ = gate;
  SchedulePing(true);
  ScheduleLogFlush();
  thread_ = std::thread([this] { io_context_.run(); });
}

void Worker::Stop() {
  work_guard_.reset();
  io_context_.stop();
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::AddSocket(Connection* c) {
  sockets_.insert(c);
  counters_.sockets.fetch_add(1, std::memory_order_relaxed);
  PruneHandshakes();
  handshakes_.push_back(
      {c->weak_from_this(), std::chrono::steady_clock::now()});
}

void Worker::PruneHandshakes() {
  while (!handshakes_.empty()) {
    const Handshake& h = handshakes_.front();
    const std::shared_ptr<Connection> c = h.connection.lock();
    if (c && sockets_.contains(c.get()) && c->handshaking()) return;
    handshakes_.pop_front();
  }
}

size_t Worker::EvictStalledHandshakes(std::chrono::steady_clock::time_point now,
                                      size_t max) {
  const auto stalled_before = now - options_.handshake_evict_after;
  size_t evicted = 0;
  while (evicted < max) {
    PruneHandshakes();
    if (handshakes_.empty() || handshakes_.front().started > stalled_before) {
      break;
    }
    const std::shared_ptr<Connection> oldest =
        handshakes_.front().connection.lock();
    handshakes_.pop_front();
    oldest->Close(0, "");  // in the handshake: the socket just closes
    ++evicted;
  }
  counters_.evicted_handshakes.fetch_add(evicted, std::memory_order_relaxed);
  return evicted;
}

void Worker::RemoveSocket(Connection* c) {
  if (sockets_.erase(c) > 0) {
    counters_.sockets.fetch_sub(1, std::memory_order_relaxed);
  }
  if (auto it = peers_.find(c); it != peers_.end()) {
    counters_.peers.Close(it->second);
    peers_.erase(it);
  }
}

void Worker::TrackPeer(Connection* c, const PeerLimits::Key& peer) {
  if (sockets_.contains(c)) {
    peers_[c] = peer;
  } else {
    counters_.peers.Close(peer);
  }
}

bool Worker::TryCountAdmitted() {
  size_t now = counters_.admitted.load(std::memory_order_relaxed);
  while (now < options_.max_connections) {
    if (counters_.admitted.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}

void Worker::UncountAdmitted() {
  counters_.admitted.fetch_sub(1, std::memory_order_relaxed);
}

bool Worker::TryCountUser(int64_t user_id) {
  if (counters_.users.TryAcquire(user_id, options_.max_connections_per_user)) {
    return true;
  }
  counters_.refused_user.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Worker::UncountUser(int64_t user_id) { counters_.users.Release(user_id); }

void Worker::Register(Connection* c, const std::vector<int64_t>& server_ids) {
  const auto kind = static_cast<size_t>(c->kind());
  stats_.accepted[kind].Add(1);
  stats_.open[kind][static_cast<size_t>(c->transport())].Add(1);
  by_id_[c->id()] = c;
  by_user_[c->user_id()].push_back(c);
  if (c->kind() == Connection::Kind::kMain) {
    for (int64_t server : server_ids) Subscribe(c, server);
  }
}

void Worker::Unregister(Connection* c) {
  stats_
      .open[static_cast<size_t>(c->kind())][static_cast<size_t>(c->transport())]
      .Sub(1);
  by_id_.erase(c->id());
  if (auto it = by_user_.find(c->user_id()); it != by_user_.end()) {
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), c), list.end());
    if (list.empty()) by_user_.erase(it);
  }
  for (int64_t server : c->servers()) {
    if (auto it = by_server_.find(server); it != by_server_.end()) {
      it->second.erase(c);
      if (it->second.empty()) by_server_.erase(it);
    }
  }
  c->servers().clear();
}

void Worker::Subscribe(Connection* c, int64_t server_id) {
  if (c->servers().insert(server_id).second) {
    by_server_[server_id].insert(c);
  }
}

void Worker::Apply(const MembershipChange& change) {
  switch (change.kind) {
    case MembershipChange::Kind::kAdd: {
      auto it = by_user_.find(change.user_id);
      if (it == by_user_.end()) return;
      for (Connection* c : it->second) {
        if (c->kind() == Connection::Kind::kMain) {
          Subscribe(c, change.server_id);
        }
      }
      return;
    }
    case MembershipChange::Kind::kRemove: {
      auto it = by_user_.find(change.user_id);
      if (it == by_user_.end()) return;
      auto topic = by_server_.find(change.server_id);
      for (Connection* c : it->second) {
        if (c->servers().erase(change.server_id) > 0 &&
            topic != by_server_.end()) {
          topic->second.erase(c);
        }
      }
      if (topic != by_server_.end() && topic->second.empty()) {
        by_server_.erase(topic);
      }
      return;
    }
    case MembershipChange::Kind::kDropServer: {
      auto topic = by_server_.find(change.server_id);
      if (topic == by_server_.end()) return;
      for (Connection* c : topic->second) c->servers().erase(change.server_id);
      by_server_.erase(topic);
      return;
    }
  }
}

uint32_t Worker::Deliver(const Delivery& d, const Frame& frame) {
  // Written in this pass only after a run of deliveries that each came
  // alone: a lone one right after a batch is likely followed by more (the
  // load that built the batch), and writing it now would split them.
  const bool alone =
      deliveries_waiting_.fetch_sub(1, std::memory_order_relaxed) <= 1;
  alone_streak_ = alone ? alone_streak_ + 1 : 0;
  const Connection::SendMode mode = alone_streak_ > kAloneBeforeWritingNow
                                        ? Connection::SendMode::kNow
                                        : Connection::SendMode::kDeferred;
  for (const auto& change : d.before) Apply(change);
  uint32_t count = 0;
  if (frame) {
    if (d.server_id != 0 && d.users.empty()) {
      if (auto topic = by_server_.find(d.server_id);
          topic != by_server_.end()) {
        count = SendToAll(topic->second, frame, mode);
      }
    } else {
      for (int64_t user : d.users) {
        auto it = by_user_.find(user);
        if (it == by_user_.end()) continue;
        for (Connection* c : it->second) {
          if (c->kind() != Connection::Kind::kMain) continue;
          if (d.server_id != 0 && !c->servers().contains(d.server_id)) continue;
          c->Send(frame, mode);
          ++count;
        }
      }
    }
  }
  for (const auto& change : d.after) Apply(change);
  if (count > 0) {
    stats_.frames_delivered.Add(count);
    stats_.bytes_delivered.Add(uint64_t{count} * frame->size());
  }
  return count;
}

uint32_t Worker::SendToAll(const absl::flat_hash_set<Connection*>& topic,
                           const Frame& frame, Connection::SendMode mode) {
  // Each recipient's state is asked for kPrefetchAhead recipients before
  // its turn and its transport's one turn before, so those cache misses
  // overlap the work (and the write) for the ones before it.
  constexpr int kPrefetchAhead = 4;
  auto ahead = topic.begin();
  for (int i = 0; i < kPrefetchAhead && ahead != topic.end(); ++i, ++ahead) {
    (*ahead)->PrefetchState();
  }
  uint32_t count = 0;
  for (auto it = topic.begin(); it != topic.end();) {
    Connection* c = *it;
    if (ahead != topic.end()) {
      (*ahead)->PrefetchState();
      ++ahead;
    }
    if (++it != topic.end()) (*it)->PrefetchTransport();
    c->Send(frame, mode);
    ++count;
  }
  return count;
}

void Worker::ScheduleFlush(std::shared_ptr<Connection> c) {
  flush_.push_back(std::move(c));
  if (flush_posted_) return;
  flush_posted_ = true;
  Post([this] { Flush(); });
}

void Worker::Flush() {
  flush_posted_ = false;
  std::vector<std::shared_ptr<Connection>> batch;
  batch.swap(flush_);
  for (auto& c : batch) c->FlushDeferred();
  batch.clear();
  if (flush_.empty()) flush_.swap(batch);  // reuse its block next time
}

void Worker::SumQueues(uint64_t* queue_bytes, uint64_t* handshaking) const {
  for (const Connection* c : sockets_) {
    *queue_bytes += c->HeldBytes();
    if (c->handshaking()) ++*handshaking;
  }
}

void Worker::CloseUser(int64_t user_id, const std::string& token, uint16_t code,
                       const std::string& reason) {
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return;
  // Close unregisters, which edits this list: work on a copy.
  std::vector<Connection*> victims;
  for (Connection* c : it->second) {
    if (token.empty() || c->token() == token) victims.push_back(c);
  }
  for (Connection* c : victims) c->Close(code, reason);
}

void Worker::CloseConnection(ConnectionId id, uint16_t code,
                             const std::string& reason) {
  if (auto it = by_id_.find(id); it != by_id_.end()) {
    it->second->Close(code, reason);
  }
}

std::vector<ConnectionSnapshot> Worker::SnapshotUser(int64_t user_id,
                                                     size_t max,
                                                     size_t* total) const {
  std::vector<ConnectionSnapshot> out;
  *total = 0;
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return out;
  std::vector<const Connection*> list(it->second.begin(), it->second.end());
  *total = list.size();
  std::sort(list.begin(), list.end(),
            [](const Connection* a, const Connection* b) {
              return a->admitted_at() != b->admitted_at()
                         ? a->admitted_at() < b->admitted_at()
                         : a->id() < b->id();
            });
  if (list.size() > max) list.resize(max);
  out.reserve(list.size());
  for (const Connection* c : list) {
    ConnectionSnapshot snap;
    snap.id = c->id();
    snap.user_id = c->user_id();
    snap.voice = c->kind() == Connection::Kind::kVoice;
    snap.channel_id = c->channel_id();
    snap.tls = !options_.plain;
    snap.peer_address = PeerString(c->peer());
    snap.admitted_at = c->admitted_at();
    snap.queue_bytes = c->HeldBytes();
    out.push_back(std::move(snap));
  }
  return out;
}

size_t Worker::DisconnectUser(int64_t user_id, ConnectionId id, uint16_t code,
                              const std::string& reason) {
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return 0;
  // Close unregisters, which edits this list: work on a copy. Only open
  // (registered) connections are listed, so each Close closes one.
  std::vector<Connection*> victims;
  for (Connection* c : it->second) {
    if (id == 0 || c->id() == id) victims.push_back(c);
  }
  for (Connection* c : victims) c->Close(code, reason);
  return victims.size();
}

void Worker::CloseAll(uint16_t code, const std::string& reason) {
  std::vector<Connection*> all(sockets_.begin(), sockets_.end());
  for (Connection* c : all) c->Close(code, reason);
}

void Worker::SchedulePing(bool first) {
  // The first round comes one whole interval after the start, like a
  // connection's first ping after it opened.
  ping_timer_.expires_after(first ? options_.ping_interval
                                  : std::max<std::chrono::milliseconds>(
                                        options_.ping_interval / kPingSlices,
                                        std::chrono::milliseconds(1)));
  ping_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    PingRound();
    SchedulePing();
  });
}

void Worker::PingRound() {
  // Each connection is in one slice, so it still gets one tick per ping
  // interval. PingTick may close (and unregister) it: work on a copy.
  const uint64_t slice = ping_slice_++ % kPingSlices;
  std::vector<Connection*> due;
  for (auto& [id, c] : by_id_) {
    if ((id >> kWorkerBits) % kPingSlices == slice) due.push_back(c);
  }
  for (Connection* c : due) c->PingTick();
}

void Worker::ScheduleLogFlush() {
  log_timer_.expires_after(std::chrono::seconds(1));
  log_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    FlushSuppressedLogs();
    ScheduleLogFlush();
  });
}

}  // namespace herald::push
