#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "push/connection.h"
#include "push/connection_directory.h"
#include "push/connection_id.h"
#include "push/delivery.h"
#include "push/peer_limits.h"
#include "push/push_options.h"
#include "push/user_quota.h"
#include "push/worker_stats.h"
#include "push/ws_frame.h"

namespace herald::push {

class Gate;

// Counters and admission tables shared by every worker of one server. The
// refusal counts only grow (for metrics).
struct SharedCounters {
  std::atomic<size_t> sockets{0};    // open TCP connections, any state
  std::atomic<size_t> admitted{0};   // admitted WebSocket connections
  std::atomic<size_t> accepting{0};  // accepted, not yet on their worker
  // Sockets closed at accept, by reason, and accept() failures.
  std::atomic<uint64_t> refused_descriptors{0};  // over the fd budget
  std::atomic<uint64_t> refused_ip_open{0};      // over the per-IP cap
  std::atomic<uint64_t> refused_ip_rate{0};      // over the per-IP rate
  std::atomic<uint64_t> accept_failures{0};      // EMFILE and the like
  std::atomic<uint64_t> refused_user{0};         // 4029: per-user cap
  // Stalled handshakes closed to make room for waiting connections, and
  // times a listener found max_handshaking reached (and paused).
  std::atomic<uint64_t> evicted_handshakes{0};
  std::atomic<uint64_t> handshaking_pauses{0};
  // Events routed with a frame (Router::Route with a payload).
  std::atomic<uint64_t> events_routed{0};
  PeerLimits peers;
  UserQuota users;
};

// One I/O thread with its own io_context, and the indices of the
// connections it owns: by id, by user, and by server (the topic each
// event is fanned out through). A connection stays on its worker for life.
//
// Thread: everything but the constructor, Start and Join runs on this
// worker's thread; other threads reach it only through Post.
class Worker {
 public:
  Worker(int index, const PushOptions& options, SharedCounters& counters);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void set_gate(Gate* gate) { gate_ = gate; }
  void Start(Gate* gate);  // sets the gate, spawns the thread
  void Stop();             // stops the io_context; any thread
  void Join();

  template <typename F>
  void Post(F&& f) {
    boost::asio::post(io_context_, std::forward<F>(f));
  }

  boost::asio::io_context& io_context() { return io_context_; }
  const PushOptions& options() const { return options_; }
  Gate& gate() { return *gate_; }
  int index() const { return index_; }
  ConnectionId NextId() {
    return (++next_sequence_ << kWorkerBits) | static_cast<uint64_t>(index_);
  }

  // Connection bookkeeping.
  void AddSocket(Connection* c);
  void RemoveSocket(Connection* c);
  bool TryCountAdmitted();
  void UncountAdmitted();
  // Per-user admitted main connections (--max_connections_per_user).
  bool TryCountUser(int64_t user_id);
  void UncountUser(int64_t user_id);
  // `c` (just started) was counted in the per-IP table as `peer`; released
  // when its socket is removed.
  void TrackPeer(Connection* c, const PeerLimits::Key& peer);
  // Closes up to `max` of this worker's sockets that have been in their
  // handshake since before `now - options().handshake_evict_after` (the
  // stalled ones), oldest first, making room for connections waiting in
  // the listen backlog at --max_handshaking: a flood of silent sockets then
  // cannot lock good clients out, and a storm of real handshakes that only
  // wait for this thread's CPU is never closed. Returns how many it closed.
  size_t EvictStalledHandshakes(std::chrono::steady_clock::time_point now,
                                size_t max);
  void Register(Connection* c, const std::vector<int64_t>& server_ids);
  void Unregister(Connection* c);

  // Posts a delivery (a call of Deliver) to this thread, counted so that
  // Deliver knows whether others wait behind it. Any thread.
  template <typename F>
  void PostDelivery(F&& f) {
    deliveries_waiting_.fetch_add(1, std::memory_order_relaxed);
    Post(std::forward<F>(f));
  }

  // Router operations, run here by the PushServer. Deliver returns the
  // number of connections `frame` (may be null) was queued for. With no
  // other delivery waiting (PostDelivery), and none waiting for the last
  // few before it either, an idle recipient's write
  // starts at once, in the same pass over the recipients (nothing could
  // be coalesced with it, and a second pass would touch every connection
  // again); otherwise the writes wait for the worker's flush, so frames of
  // events arriving together leave in one write per connection.
  uint32_t Deliver(const Delivery& delivery, const Frame& frame);
  void CloseUser(int64_t user_id, const std::string& token, uint16_t code,
                 const std::string& reason);
  void CloseConnection(ConnectionId id, uint16_t code,
                       const std::string& reason);
  void CloseAll(uint16_t code, const std::string& reason);

  // Admin operations (ConnectionDirectory), run here by the PushServer.
  // Snapshots of `user_id`'s admitted connections on this worker, the
  // oldest admissions first, at most `max`; `*total` gets how many it has.
  std::vector<ConnectionSnapshot> SnapshotUser(int64_t user_id, size_t max,
                                               size_t* total) const;
  // Closes `user_id`'s connection `id` (all of them when `id` is 0) after
  // what is queued for it; returns how many it closed.
  size_t DisconnectUser(int64_t user_id, ConnectionId id, uint16_t code,
                        const std::string& reason);
  // This worker's counters (written here; read anywhere).
  WorkerStats& stats() { return stats_; }
  const WorkerStats& stats() const { return stats_; }
  // Walks this worker's sockets: adds their HeldBytes to `*queue_bytes`
  // and the handshaking ones to `*handshaking`. Runs on this thread.
  void SumQueues(uint64_t* queue_bytes, uint64_t* handshaking) const;

  // Starts `c`'s write soon, from one handler that runs after every
  // delivery already waiting in the io_context: events that arrive while
  // the worker is busy leave as one write per connection, not one each.
  // At low load that handler runs at once, so nothing waits on a timer.
  void ScheduleFlush(std::shared_ptr<Connection> c);

  // Pings go out in kPingSlices rounds per ping interval, each round to the
  // connections of one slice (by id), so that no single handler writes to
  // every connection at once: with thousands of them, such a round delays
  // every delivery queued behind it. PingRound runs the next round (the
  // ping timer calls it; public for tests).
  static constexpr uint64_t kPingSlices = 16;
  void PingRound();

 private:
  void Flush();
  // Sends `frame` to every connection of `topic`; returns how many.
  uint32_t SendToAll(const absl::flat_hash_set<Connection*>& topic,
                     const Frame& frame, Connection::SendMode mode);
  void Apply(const MembershipChange& change);
  void Subscribe(Connection* c, int64_t server_id);
  void SchedulePing(bool first = false);
  // Once a second: reports this thread's suppressed log records.
  void ScheduleLogFlush();
  void PruneHandshakes();

  const int index_;
  const PushOptions& options_;
  SharedCounters& counters_;
  Gate* gate_ = nullptr;
  uint64_t next_sequence_ = 0;
  WorkerStats stats_;

  boost::asio::io_context io_context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_guard_;
  boost::asio::steady_timer ping_timer_;
  uint64_t ping_slice_ = 0;  // the slice the next ping round serves
  boost::asio::steady_timer log_timer_;
  std::thread thread_;

  std::vector<std::shared_ptr<Connection>> flush_;
  bool flush_posted_ = false;
  // Deliveries posted and not yet begun (PostDelivery); written by any
  // thread. Signed: a Deliver called directly (tests) drives it below 0.
  std::atomic<int> deliveries_waiting_{0};
  // Deliveries in a row that found none waiting behind them; the pass
  // writes at once only after more than kAloneBeforeWritingNow of them.
  static constexpr int kAloneBeforeWritingNow = 2;
  int alone_streak_ = 0;

  absl::flat_hash_set<Connection*> sockets_;
  absl::flat_hash_map<Connection*, PeerLimits::Key> peers_;
  // Sockets in the order they started; the front is pruned of those no
  // longer handshaking, so it holds at most the sockets started within
  // one handshake timeout.
  struct Handshake {
    std::weak_ptr<Connection> connection;  // may be gone: pruned
    std::chrono::steady_clock::time_point started;
  };
  std::deque<Handshake> handshakes_;
  absl::flat_hash_map<ConnectionId, Connection*> by_id_;
  absl::flat_hash_map<int64_t, std::vector<Connection*>> by_user_;
  absl::flat_hash_map<int64_t, absl::flat_hash_set<Connection*>> by_server_;
};

}  // namespace herald::push
