#include "push/push_server.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "push/close_codes.h"
#include "push/log.h"

namespace herald::push {
namespace {

// One Route call fanned out to every worker.
struct RouteOp {
  Delivery delivery;
  Frame frame;
  std::atomic<int> remaining{0};
  std::atomic<uint32_t> recipients{0};
  Router::RoutedCallback done;
};

// One ListConnections call gathered from every worker.
struct ListOp {
  absl::Mutex mu;
  std::vector<ConnectionSnapshot> found ABSL_GUARDED_BY(mu);
  size_t total ABSL_GUARDED_BY(mu) = 0;
  std::atomic<int> remaining{0};
  size_t max = 0;
  ConnectionDirectory::ListCallback done;
};

// One Disconnect call counted over every worker.
struct DisconnectOp {
  std::string reason;
  std::atomic<int> remaining{0};
  std::atomic<size_t> count{0};
  ConnectionDirectory::CountCallback done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PushServer>> PushServer::Create(
    PushOptions options) {
  auto server = std::unique_ptr<PushServer>(new PushServer(std::move(options)));
  const PushOptions& opts = server->options_;
  if (!opts.plain) {
    if (!opts.tls_ticket_key_file.empty()) {
      auto keys = TlsTicketKeys::Load(opts.tls_ticket_key_file,
                                      opts.tls_ticket_rotation);
      if (!keys.ok()) return keys.status();
      server->ticket_keys_ = std::move(*keys);
    }
    auto tls = TlsContextStore::Create(opts, server->ticket_keys_.get());
    if (!tls.ok()) return tls.status();
    server->tls_ = std::move(*tls);
  }
  int threads = opts.threads;
  if (threads <= 0) {
    // One per core this process may run on (taskset shrinks it).
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    threads = sched_getaffinity(0, sizeof(cpus), &cpus) == 0
                  ? CPU_COUNT(&cpus)
                  : static_cast<int>(
                        std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(threads, 1);
  }
  threads = std::min(threads, kMaxWorkers);
  std::vector<Worker*> raw;
  for (int i = 0; i < threads; ++i) {
    server->workers_.push_back(
        std::make_unique<Worker>(i, server->options_, server->counters_));
    raw.push_back(server->workers_.back().get());
  }
  auto main = Listener::Create(opts.bind_address, opts.main_port,
                               Connection::Kind::kMain, raw, server->tls_.get(),
                               server->counters_);
  if (!main.ok()) return main.status();
  server->main_ = std::move(*main);
  auto voice = Listener::Create(opts.bind_address, opts.voice_port,
                                Connection::Kind::kVoice, raw,
                                server->tls_.get(), server->counters_);
  if (!voice.ok()) return voice.status();
  server->voice_ = std::move(*voice);
  server->trimmer_ = std::make_unique<MemoryTrimmer>(raw.front()->io_context(),
                                                     server->counters_);
  return server;
}

PushServer::PushServer(PushOptions options) : options_(std::move(options)) {}

PushServer::~PushServer() { Shutdown(std::chrono::milliseconds(0)); }

void PushServer::Start(Gate* gate) {
  started_ = true;
  for (auto& w : workers_) w->Start(gate);
  main_->Start();
  voice_->Start();
  trimmer_->Start();
  running_.store(true);
}

void PushServer::Shutdown(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  main_->Stop();
  voice_->Stop();
  trimmer_->Stop();
  for (auto& w : workers_) {
    w->Post([w = w.get()] {
      w->CloseAll(kCloseGoingAway, "server shutting down");
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (counters_.sockets.load() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : workers_) w->Stop();
  for (auto& w : workers_) w->Join();
}

namespace {

// The answers of a worker walk; shared with the posted handlers, which may
// outlive a caller that stopped waiting.
struct Walk {
  absl::Mutex mu;
  size_t remaining ABSL_GUARDED_BY(mu) = 0;
  uint64_t queue_bytes ABSL_GUARDED_BY(mu) = 0;
  uint64_t handshaking ABSL_GUARDED_BY(mu) = 0;
};

bool AllAnswered(Walk* walk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(walk->mu) {
  return walk->remaining == 0;
}

void AddWorkerStats(const WorkerStats& w, PushStats& s) {
  for (size_t k = 0; k < kSocketKinds; ++k) {
    for (size_t t = 0; t < kTransports; ++t) s.open[k][t] += w.open[k][t].Get();
    s.accepted[k] += w.accepted[k].Get();
  }
  for (size_t i = 0; i < s.refused.size(); ++i)
    s.refused[i] += w.refused[i].Get();
  s.http_rejected += w.http_rejected.Get();
  s.frames_delivered += w.frames_delivered.Get();
  s.bytes_delivered += w.bytes_delivered.Get();
  s.slow_consumer_closes += w.slow_consumer_closes.Get();
  s.ping_timeouts += w.ping_timeouts.Get();
  s.flush_queue_bytes.Add(w.flush_queue_bytes.Read());
}

}  // namespace

PushStats PushServer::CollectStats(bool walk,
                                   std::chrono::milliseconds timeout) const {
  PushStats s;
  s.plain = options_.plain;
  for (const auto& w : workers_) AddWorkerStats(w->stats(), s);
  const auto relaxed = std::memory_order_relaxed;
  s.refused_descriptors = counters_.refused_descriptors.load(relaxed);
  s.refused_ip_open = counters_.refused_ip_open.load(relaxed);
  s.refused_ip_rate = counters_.refused_ip_rate.load(relaxed);
  s.accept_failures = counters_.accept_failures.load(relaxed);
  s.evicted_handshakes = counters_.evicted_handshakes.load(relaxed);
  s.sockets = counters_.sockets.load(relaxed);
  if (!walk || !running_.load() || stopping_.load()) return s;
  auto answers = std::make_shared<Walk>();
  {
    absl::MutexLock lock(&answers->mu);
    answers->remaining = workers_.size();
  }
  for (const auto& w : workers_) {
    w->Post([answers, w = w.get()] {
      uint64_t bytes = 0, handshaking = 0;
      w->SumQueues(&bytes, &handshaking);
      absl::MutexLock lock(&answers->mu);
      answers->queue_bytes += bytes;
      answers->handshaking += handshaking;
      --answers->remaining;
    });
  }
  absl::MutexLock lock(&answers->mu);
  if (answers->mu.AwaitWithTimeout(absl::Condition(&AllAnswered, answers.get()),
                                   absl::FromChrono(timeout))) {
    s.walked = true;
    s.queue_bytes = answers->queue_bytes;
    s.handshaking = answers->handshaking;
  }
  return s;
}

absl::StatusOr<std::string> PushServer::ReloadTls() {
  if (!tls_) return std::string("plain ws://, no TLS certificate");
  return tls_->Reload();
}

std::string PushServer::TlsDescription() const {
  return tls_ ? tls_->Describe() : std::string("plain ws://");
}

void PushServer::Route(Delivery delivery, RoutedCallback done) {
  if (stopping_.load(std::memory_order_relaxed)) {
    if (done) std::move(done)(0);
    return;
  }
  // A user listed twice must still get each frame once, on every worker.
  auto& users = delivery.users;
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  auto op = std::make_shared<RouteOp>();
  if (!delivery.payload.empty()) {
    op->frame = MakeTextFrame(delivery.payload);
    counters_.events_routed.fetch_add(1, std::memory_order_relaxed);
  }
  op->delivery = std::move(delivery);
  op->done = std::move(done);
  op->remaining.store(static_cast<int>(workers_.size()));
  for (auto& w : workers_) {
    w->PostDelivery([op, w = w.get()] {
      const uint32_t n = w->Deliver(op->delivery, op->frame);
      op->recipients.fetch_add(n, std::memory_order_relaxed);
      if (op->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
          op->done) {
        std::move(op->done)(op->recipients.load(std::memory_order_relaxed));
      }
    });
  }
}

void PushServer::CloseUser(int64_t user_id, std::string token, uint16_t code,
                           std::string reason) {
  auto shared = std::make_shared<const std::pair<std::string, std::string>>(
      std::move(token), std::move(reason));
  for (auto& w : workers_) {
    w->Post([w = w.get(), user_id, code, shared] {
      w->CloseUser(user_id, shared->first, code, shared->second);
    });
  }
}

void PushServer::CloseConnection(ConnectionId id, uint16_t code,
                                 std::string reason) {
  const int index = WorkerOf(id);
  if (index >= static_cast<int>(workers_.size())) return;
  Worker* w = workers_[index].get();
  w->Post([w, id, code, reason = std::move(reason)] {
    w->CloseConnection(id, code, reason);
  });
}

void PushServer::ListConnections(int64_t user_id, size_t max,
                                 ListCallback done) {
  if (stopping_.load(std::memory_order_relaxed)) {
    std::move(done)({}, 0);
    return;
  }
  auto op = std::make_shared<ListOp>();
  op->max = max;
  op->done = std::move(done);
  op->remaining.store(static_cast<int>(workers_.size()));
  for (auto& w : workers_) {
    w->Post([op, w = w.get(), user_id] {
      size_t total = 0;
      std::vector<ConnectionSnapshot> mine =
          w->SnapshotUser(user_id, op->max, &total);
      {
        absl::MutexLock lock(&op->mu);
        op->total += total;
        for (auto& snap : mine) op->found.push_back(std::move(snap));
      }
      if (op->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      std::vector<ConnectionSnapshot> found;
      size_t all = 0;
      {
        absl::MutexLock lock(&op->mu);
        found.swap(op->found);
        all = op->total;
      }
      std::sort(found.begin(), found.end(),
                [](const ConnectionSnapshot& a, const ConnectionSnapshot& b) {
                  return a.admitted_at != b.admitted_at
                             ? a.admitted_at < b.admitted_at
                             : a.id < b.id;
                });
      if (found.size() > op->max) found.resize(op->max);
      std::move(op->done)(std::move(found), all);
    });
  }
}

void PushServer::Disconnect(int64_t user_id, ConnectionId id, uint16_t code,
                            std::string reason, CountCallback done) {
  if (stopping_.load(std::memory_order_relaxed)) {
    std::move(done)(0);
    return;
  }
  auto op = std::make_shared<DisconnectOp>();
  op->reason = std::move(reason);
  op->done = std::move(done);
  std::vector<Worker*> targets;
  if (id == 0) {
    for (auto& w : workers_) targets.push_back(w.get());
  } else if (WorkerOf(id) < static_cast<int>(workers_.size())) {
    targets.push_back(workers_[WorkerOf(id)].get());
  }
  if (targets.empty()) {
    std::move(op->done)(0);
    return;
  }
  op->remaining.store(static_cast<int>(targets.size()));
  for (Worker* w : targets) {
    w->Post([op, w, user_id, id, code] {
      op->count.fetch_add(w->DisconnectUser(user_id, id, code, op->reason),
                          std::memory_order_relaxed);
      if (op->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::move(op->done)(op->count.load(std::memory_order_relaxed));
      }
    });
  }
}

}  // namespace herald::push
