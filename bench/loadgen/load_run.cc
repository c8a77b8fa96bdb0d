#include "bench/loadgen/load_run.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <openssl/err.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/loadgen/chat_sweep.h"
#include "bench/loadgen/grpc_publisher.h"
#include "bench/loadgen/herald_setup.h"
#include "bench/loadgen/http_publisher.h"
#include "bench/loadgen/mono_clock.h"
#include "bench/loadgen/server_plan.h"
#include "bench/loadgen/split_mix.h"
#include "push/tls13_secrets.h"

namespace herald::bench {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kFanout:
      return "fanout";
    case Mode::kIdle:
      return "idle";
    case Mode::kServers:
      return "servers";
    case Mode::kChat:
      return "chat";
  }
  return "?";
}

// Mean busy share of the given CPUs.
double MeanBusy(const std::vector<CpuSampler::Core>& cores,
                const std::vector<int>& cpus) {
  double sum = 0;
  int n = 0;
  for (const CpuSampler::Core& c : cores) {
    for (int a : cpus) {
      if (a == c.cpu) {
        sum += c.busy;
        ++n;
      }
    }
  }
  return n > 0 ? sum / n : 0;
}

void SleepNs(int64_t ns) {
  if (ns <= 0) return;
  timespec ts{static_cast<time_t>(ns / kSecond),
              static_cast<long>(ns % kSecond)};
  nanosleep(&ts, nullptr);
}

std::unique_ptr<ChatPlan> MakeChatPlan(const Options& o) {
  if (o.mode != Mode::kChat) return nullptr;
  ChatPlan::Params p;
  p.connections = o.population;
  p.servers = o.servers;
  p.seed = o.seed;
  return std::make_unique<ChatPlan>(p);
}

}  // namespace

LoadRun::LoadRun(const Options& options)
    : options_(options),
      chat_plan_(MakeChatPlan(options)),
      state_(options.servers) {
  if (chat_plan_ != nullptr) {
    plan_ = std::make_unique<ChatPlan>(*chat_plan_);
    chat_stats_ = std::make_unique<ChatPlanStats>(*chat_plan_);
    fprintf(stderr, "loadgen: %s\n", chat_stats_->Text().c_str());
    results_.chat_plan_json = chat_stats_->Json();
  } else {
    plan_ = std::make_unique<ServerPlan>(options.servers, options.memberships,
                                         options.seed);
  }
}

LoadRun::~LoadRun() {
  state_.Stop();
  workers_.clear();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

bool LoadRun::Prepare(std::string* error) {
  urls_.resize(options_.urls.size());
  for (size_t i = 0; i < urls_.size(); ++i) {
    if (!urls_[i].Parse(options_.urls[i], error)) return false;
    if (urls_[i].tls() != urls_[0].tls()) {
      // One SSL_CTX or none for the whole process.
      *error = "--url values must be all ws:// or all wss://";
      return false;
    }
  }
  if (urls_[0].tls()) {
    ssl_ctx_ = SSL_CTX_new(TLS_client_method());
    if (ssl_ctx_ == nullptr) {
      *error = "SSL_CTX_new failed";
      return false;
    }
    SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
    // No certificate checks at all: even with SSL_VERIFY_NONE OpenSSL would
    // build and verify the chain (then ignore the verdict), a large share of
    // a client handshake's cost. The handshake's own signature is still
    // verified.
    SSL_CTX_set_cert_verify_callback(
        ssl_ctx_, [](X509_STORE_CTX*, void*) { return 1; }, nullptr);
    SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ssl_ctx_, SSL_SESS_CACHE_OFF);
    // Pull a whole read()'s worth of records into OpenSSL at once.
    SSL_CTX_set_read_ahead(ssl_ctx_, 1);
    // The traffic secrets, for Worker's own record layer (--own_records).
    if (options_.own_records &&
        !herald::push::Tls13Secrets::Install(ssl_ctx_)) {
      *error = "cannot install the TLS key log callback";
      return false;
    }
    // A browser's TLS 1.3 preference order (AES-128-GCM first).
    SSL_CTX_set_ciphersuites(ssl_ctx_,
                             "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                             "TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_mode(ssl_ctx_, SSL_MODE_RELEASE_BUFFERS |
                                   SSL_MODE_ENABLE_PARTIAL_WRITE |
                                   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  if (options_.target == Target::kHerald && options_.setup &&
      options_.connections > 0) {
    int64_t t = MonoNowNs();
    HeraldSetup setup(options_.grpc, options_.grpc_auth);
    if (!setup.Run(options_.user_offset, options_.connections, *plan_, error)) {
      return false;
    }
    fprintf(stderr, "loadgen: herald setup of %d users took %.2fs\n",
            options_.connections, static_cast<double>(MonoNowNs() - t) / 1e9);
  }
  return true;
}

void LoadRun::StartWorkers() {
  std::vector<sockaddr_in> sources;
  for (const std::string& s : options_.sources) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, s.c_str(), &a.sin_addr);
    sources.push_back(a);
  }
  int t = options_.threads;
  for (int i = 0; i < t; ++i) {
    WorkerConfig c;
    c.index = i;
    c.threads = t;
    c.connections = options_.connections;
    c.user_offset = options_.user_offset;
    c.sources = sources;
    c.urls = &urls_;
    c.plan = plan_.get();
    c.chat = options_.mode == Mode::kChat;
    c.ssl_ctx = ssl_ctx_;
    c.connect_rate = options_.connect_rate / t;
    c.max_in_flight = std::max(1, (options_.max_handshakes + t - 1) / t);
    c.delayed_ack = options_.delayed_ack;
    c.never_read = options_.never_read;
    c.own_records = options_.own_records;
    c.rcvbuf = options_.rcvbuf;
    c.handshake_timeout_ns =
        static_cast<int64_t>(options_.handshake_timeout_s * 1e9);
    workers_.push_back(std::make_unique<Worker>(std::move(c), &state_));
  }
  for (auto& w : workers_) w->Start();
}

uint64_t LoadRun::Sum(OwnedCounter WorkerStats::*field) const {
  uint64_t s = 0;
  for (const auto& w : workers_) s += (w->stats().*field).Get();
  return s;
}

bool LoadRun::WaitForSetup() {
  uint64_t settled = 0;
  int64_t last_print = MonoNowNs();
  while (settled < static_cast<uint64_t>(options_.connections)) {
    SleepNs(10'000'000);
    settled = 0;
    for (auto& w : workers_) settled += w->settled();
    int64_t now = MonoNowNs();
    if (options_.progress && now - last_print >= kSecond) {
      last_print = now;
      fprintf(
          stderr, "loadgen: connecting %llu/%d established, %llu errors\n",
          static_cast<unsigned long long>(Sum(&WorkerStats::established)),
          options_.connections,
          static_cast<unsigned long long>(Sum(&WorkerStats::connect_errors)));
    }
  }
  uint64_t first = 0;
  uint64_t last = 0;
  for (auto& w : workers_) {
    uint64_t f = w->stats().first_attempt_ns.Get();
    uint64_t l = w->stats().last_established_ns.Get();
    if (f != 0 && (first == 0 || f < first)) first = f;
    last = std::max(last, l);
  }
  Results& r = results_;
  r.established = Sum(&WorkerStats::established);
  r.connect_errors = Sum(&WorkerStats::connect_errors);
  if (last > first) {
    r.setup_s = static_cast<double>(last - first) / 1e9;
    r.setup_rate_per_s = static_cast<double>(r.established) / r.setup_s;
  }
  fprintf(stderr,
          "loadgen: connected established=%llu errors=%llu setup_rate=%.0f/s\n",
          static_cast<unsigned long long>(r.established),
          static_cast<unsigned long long>(r.connect_errors),
          r.setup_rate_per_s);
  return r.established > 0 || options_.connections == 0;
}

void LoadRun::PrintProgress(int64_t now) {
  if (!options_.progress || now - last_progress_ns_ < kSecond) return;
  uint64_t d = Sum(&WorkerStats::deliveries_total);
  double dt = static_cast<double>(now - last_progress_ns_) / 1e9;
  fprintf(stderr,
          "loadgen: t=%.1fs open=%llu events=%llu deliveries=%llu (%.0f/s)\n",
          static_cast<double>(now - run_start_ns_) / 1e9,
          static_cast<unsigned long long>(Sum(&WorkerStats::open)),
          static_cast<unsigned long long>(published_progress_.load()),
          static_cast<unsigned long long>(d),
          static_cast<double>(d - last_progress_deliveries_) / dt);
  last_progress_ns_ = now;
  last_progress_deliveries_ = d;
}

void LoadRun::MarkWindowStart() {
  if (window_started_) return;
  window_started_ = true;
  cpu_at_start_s_ = CpuSeconds();
  cores_.Start();
}

void LoadRun::MarkWindowEnd() {
  if (window_ended_ || !window_started_) return;
  window_ended_ = true;
  double wall = static_cast<double>(window_end_ns_ - window_start_ns_) / 1e9;
  if (wall > 0) {
    results_.cpu_percent = (CpuSeconds() - cpu_at_start_s_) / wall * 100.0;
  }
  results_.cores = cores_.Stop();
  results_.affinity = CpuSampler::Affinity();
  results_.loadgen_cores_busy_percent =
      MeanBusy(results_.cores, results_.affinity);
}

// Sleeps in short steps until the deadline, marking the window's edges and
// printing progress on the way.
void LoadRun::SleepUntil(int64_t deadline_ns, bool progress) {
  for (;;) {
    int64_t now = MonoNowNs();
    if (window_start_ns_ != 0 && now >= window_start_ns_) MarkWindowStart();
    if (window_end_ns_ != 0 && now >= window_end_ns_) MarkWindowEnd();
    if (progress) PrintProgress(now);
    if (now >= deadline_ns || publishing_done_.load()) return;
    int64_t step = std::min<int64_t>(deadline_ns - now, 50'000'000);
    if (window_start_ns_ > now) step = std::min(step, window_start_ns_ - now);
    if (window_end_ns_ > now) step = std::min(step, window_end_ns_ - now);
    SleepNs(std::max<int64_t>(step, 100'000));
  }
}

void LoadRun::PublishLoop(Publisher* publisher, int64_t t0, int64_t end) {
  EventRing& ring = state_.ring();
  const int64_t timeout = static_cast<int64_t>(options_.event_timeout_s * 1e9);
  const double interval = options_.rate > 0 ? 1e9 / options_.rate : 0;
  const bool single = options_.mode == Mode::kFanout;
  SplitMix rng(options_.seed * 0x2545F4914F6CDD1DULL + 7);
  uint64_t seq = 1;
  uint64_t oldest = 1;
  uint64_t k = 0;
  const SliceSchedule& slices = state_.slices();
  for (;;) {
    int64_t now = MonoNowNs();
    if (now >= end) break;
    if (!slices.Active(now)) {
      // The other server's turn: the open loop's schedule restarts with
      // this process's next slice (nothing is owed for the pause).
      t0 = std::min(slices.NextActive(now), end);
      k = 0;
      SleepNs(t0 - now);
      continue;
    }
    while (oldest < seq && ring.Finished(oldest)) ++oldest;
    if (interval > 0) {
      int64_t due =
          t0 + static_cast<int64_t>(static_cast<double>(k) * interval);
      if (now < due) {
        SleepNs(std::min(due, end) - now);
        continue;
      }
      while (oldest < seq && now - ring.PublishNs(oldest) > timeout) {
        ring.Abandon(oldest++);
      }
    } else {
      uint64_t finished = ring.completed();
      if (seq - 1 - finished >= static_cast<uint64_t>(options_.window)) {
        if (oldest < seq && now - ring.PublishNs(oldest) > timeout) {
          ring.Abandon(oldest);
          continue;
        }
        ring.WaitForCompletion(finished,
                               std::min<int64_t>(10'000'000, end - now));
        continue;
      }
    }
    if (options_.publish_stall_us > 0) {
      SleepNs(options_.publish_stall_us * 1000LL);
    }
    // The decision above was taken at `now`; the event is stamped later
    // (the thread may have been preempted since), so the slice is checked
    // again on the stamp the event is recorded with.
    int64_t ns = MonoNowNs();
    if (!slices.Active(ns)) continue;
    int64_t server =
        single ? 1 : static_cast<int64_t>(rng.Below(options_.servers)) + 1;
    int32_t expected = std::max(0, state_.OpenOf(static_cast<int>(server)));
    ring.Claim(seq, static_cast<uint32_t>(expected), ns);
    if (!publisher->Publish(seq, server, ns)) ring.Abandon(seq);
    ++published_total_;
    expected_total_ += static_cast<uint64_t>(expected);
    if (ns >= window_start_ns_ && ns < window_end_ns_ &&
        slices.InCountedSpan(ns)) {
      ++published_window_;
    }
    if (slices.enabled()) {
      int64_t off = slices.OffsetInPeriod(ns);
      slice_offset_min_ns_ = std::min(slice_offset_min_ns_, off);
      slice_offset_max_ns_ = std::max(slice_offset_max_ns_, off);
    }
    published_progress_.store(published_total_, std::memory_order_relaxed);
    ++seq;
    ++k;
  }
  // Let the events in flight arrive (or time out) before closing.
  int64_t drain_end = MonoNowNs() + timeout;
  while (ring.completed() < seq - 1 && MonoNowNs() < drain_end) {
    ring.WaitForCompletion(ring.completed(), 10'000'000);
  }
  while (oldest < seq) {
    if (!ring.Finished(oldest)) ring.Abandon(oldest);
    ++oldest;
  }
  publisher->Finish();
}

void LoadRun::RunTraffic() {
  if (!options_.publisher) {
    // Wait for the publishing process's first event; the window follows it.
    int64_t give_up = MonoNowNs() + static_cast<int64_t>(options_.wait_s * 1e9);
    while (Sum(&WorkerStats::deliveries_total) == 0 && MonoNowNs() < give_up) {
      SleepNs(5'000'000);
      PrintProgress(MonoNowNs());
    }
    if (Sum(&WorkerStats::deliveries_total) == 0) {
      results_.note = "no event arrived within --wait_s";
      return;
    }
    int64_t t0 = MonoNowNs();
    window_start_ns_ = t0 + static_cast<int64_t>(options_.warmup_s * 1e9);
    window_end_ns_ =
        window_start_ns_ + static_cast<int64_t>(options_.duration_s * 1e9);
    state_.SetWindow(window_start_ns_, window_end_ns_);
    SleepUntil(
        window_end_ns_ +
            std::min<int64_t>(
                kSecond, static_cast<int64_t>(options_.event_timeout_s * 1e9)),
        true);
    return;
  }
  std::unique_ptr<Publisher> publisher = StartPublisher();
  if (!publisher) return;
  if (options_.rate == 0 && options_.connections == 0) {
    fprintf(stderr,
            "loadgen: warning: a closed-loop publisher without connections "
            "of its own has nothing to pace it\n");
  }
  int64_t t0 = MonoNowNs();
  if (options_.slice_ms > 0) {
    const int64_t slice = options_.slice_ms * 1'000'000LL;
    t0 = AgreeEpoch(
        SliceSchedule::NextEpoch(t0, slice * options_.slice_phases, kSecond));
    SliceSchedule::Config c;
    c.slice_ns = slice;
    c.phase = options_.slice_phase;
    c.phases = options_.slice_phases;
    c.settle_ns = options_.slice_settle_ms * 1'000'000LL;
    c.tail_ns = options_.slice_tail_ms * 1'000'000LL;
    c.by_publish = options_.rate > 0;  // an open loop counts whole events
    state_.SetSlices(SliceSchedule(t0, c));
  }
  window_start_ns_ = t0 + static_cast<int64_t>(options_.warmup_s * 1e9);
  window_end_ns_ =
      window_start_ns_ + static_cast<int64_t>(options_.duration_s * 1e9);
  state_.SetWindow(window_start_ns_, window_end_ns_);
  std::thread pub([&] {
    PublishLoop(publisher.get(), t0, window_end_ns_);
    publishing_done_.store(true);
  });
  SleepUntil(window_end_ns_ + 3600 * kSecond, true);
  pub.join();
  MarkWindowEnd();
  Results& r = results_;
  r.events_published = published_window_;
  r.events_published_total = published_total_;
  r.events_incomplete = state_.ring().abandoned();
  r.events_complete =
      published_total_ - std::min(published_total_, r.events_incomplete);
  r.publish_errors = publisher->errors();
  r.publish_last_error = publisher->last_error();
  r.deliveries_expected_total = expected_total_;
  r.server_recipients = publisher->recipients();
}

std::unique_ptr<Publisher> LoadRun::MakePublisher() {
  if (options_.target == Target::kHerald) {
    return std::make_unique<GrpcPublisher>(options_.grpc, options_.grpc_auth,
                                           options_.text_bytes);
  }
  return std::make_unique<HttpPublisher>(options_.publish_url,
                                         options_.publish_connections);
}

std::unique_ptr<Publisher> LoadRun::StartPublisher() {
  std::unique_ptr<Publisher> publisher = MakePublisher();
  std::string error;
  if (publisher->Start(&error)) return publisher;
  results_.note = "publisher: " + error;
  fprintf(stderr, "loadgen: %s\n", results_.note.c_str());
  return nullptr;
}

void LoadRun::RunChat() {
  std::unique_ptr<Publisher> publisher = StartPublisher();
  if (!publisher) return;
  ChatSweep sweep(options_, chat_stats_->members(), chat_plan_->users(),
                  &state_);
  window_start_ns_ = MonoNowNs();
  window_end_ns_ = window_start_ns_ + 3600 * kSecond;
  MarkWindowStart();
  std::thread pub([&] {
    sweep.Run(publisher.get());
    publisher->Finish();
    publishing_done_.store(true);
  });
  SleepUntil(window_end_ns_, true);
  pub.join();
  window_end_ns_ = MonoNowNs();
  MarkWindowEnd();
  chat_steps_ = sweep.steps();
  Results& r = results_;
  r.events_published = sweep.published();
  r.events_published_total = sweep.published();
  r.events_incomplete = state_.ring().abandoned();
  r.events_complete = r.events_published_total -
                      std::min(r.events_published_total, r.events_incomplete);
  r.publish_errors = publisher->errors();
  r.publish_last_error = publisher->last_error();
  r.deliveries_expected_total = sweep.expected();
  r.server_recipients = publisher->recipients();
}

// Adds the workers' side of every chat step (after they were joined).
void LoadRun::CollectChat() {
  Results& r = results_;
  r.chat_steps = chat_steps_;
  for (auto& w : workers_) r.chat_late += w->stats().chat_late.Get();
  for (size_t k = 0; k < r.chat_steps.size(); ++k) {
    ChatStep& st = r.chat_steps[k];
    LatencyHistogram merged;
    for (auto& w : workers_) {
      const ChatStepStats& ws = w->stats().chat_steps[k];
      st.received += ws.received.Get();
      st.duplicates += ws.duplicates.Get();
      st.deliveries += ws.deliveries.Get();
      merged.Merge(ws.latency_us);
    }
    if (st.skipped) continue;
    st.events_per_s = static_cast<double>(st.events_window) / st.duration_s;
    st.deliveries_per_s = static_cast<double>(st.deliveries) / st.duration_s;
    st.latency_count = merged.count();
    st.p50_us = merged.Quantile(0.50);
    st.p99_us = merged.Quantile(0.99);
    st.p999_us = merged.Quantile(0.999);
    st.max_us = merged.max();
  }
}

// The pair's first period: whichever process gets here first publishes its
// `candidate` as barrier_dir/epoch (written whole, then hard-linked into
// place, so a reader never sees it half written); every process returns
// the published one.
int64_t LoadRun::AgreeEpoch(int64_t candidate) {
  namespace fs = std::filesystem;
  fs::path dir(options_.barrier_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path epoch = dir / "epoch";
  fs::path mine = dir / ("epoch." + std::to_string(options_.user_offset) + "." +
                         std::to_string(getpid()));
  { std::ofstream(mine) << candidate << "\n"; }
  if (link(mine.c_str(), epoch.c_str()) != 0 && errno != EEXIST) {
    fprintf(stderr, "loadgen: cannot publish %s: %s\n", epoch.c_str(),
            strerror(errno));
  }
  fs::remove(mine, ec);
  int64_t agreed = 0;
  std::ifstream(epoch) >> agreed;
  if (agreed <= 0) {
    fprintf(stderr, "loadgen: no epoch in %s; using this process's own\n",
            epoch.c_str());
    return candidate;
  }
  return agreed;
}

void LoadRun::Barrier() {
  if (options_.barrier_count <= 0) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir(options_.barrier_dir);
  fs::create_directories(dir, ec);
  // Named by pid too: a pair's two processes may share a user offset.
  fs::path mine = dir / (std::to_string(options_.user_offset) + "." +
                         std::to_string(getpid()) + ".ready");
  std::ofstream(mine) << results_.established << "\n";
  int64_t give_up = MonoNowNs() + static_cast<int64_t>(options_.wait_s * 1e9);
  for (;;) {
    int ready = 0;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".ready") ++ready;
    }
    if (ready >= options_.barrier_count) return;
    if (MonoNowNs() > give_up) {
      fprintf(stderr, "loadgen: barrier: only %d of %d processes ready\n",
              ready, options_.barrier_count);
      return;
    }
    SleepNs(20'000'000);
  }
}

void LoadRun::RunIdle() {
  int64_t t0 = MonoNowNs();
  window_start_ns_ = t0;
  window_end_ns_ = t0 + static_cast<int64_t>(options_.duration_s * 1e9);
  state_.SetWindow(window_start_ns_, window_end_ns_);
  SleepUntil(window_end_ns_, true);
  MarkWindowEnd();
}

void LoadRun::Collect() {
  Results& r = results_;
  r.mode = ModeName(options_.mode);
  r.target = options_.target == Target::kHerald ? "herald" : "http";
  r.publisher = options_.publisher && options_.mode != Mode::kIdle;
  r.threads = options_.threads;
  r.user_offset = options_.user_offset;
  r.rate = options_.rate;
  r.window = options_.window;
  r.urls = static_cast<int>(options_.urls.size());
  r.connections = options_.connections;
  r.established = Sum(&WorkerStats::established);
  r.connect_errors = Sum(&WorkerStats::connect_errors);
  r.tcp_errors = Sum(&WorkerStats::tcp_errors);
  r.tls_errors = Sum(&WorkerStats::tls_errors);
  r.http_errors = Sum(&WorkerStats::http_errors);
  r.handshake_timeouts = Sum(&WorkerStats::timeouts);
  r.open_at_end = Sum(&WorkerStats::open);
  r.closed_by_server = Sum(&WorkerStats::closed_by_server);
  r.deliveries = Sum(&WorkerStats::deliveries_measured);
  r.deliveries_total = Sum(&WorkerStats::deliveries_total);
  r.bytes_received = Sum(&WorkerStats::bytes_received);
  r.reads = Sum(&WorkerStats::reads);
  r.parse_errors = Sum(&WorkerStats::parse_errors);
  r.own_records = Sum(&WorkerStats::own_records);
  r.pings = Sum(&WorkerStats::pings);
  r.shape_mismatches = Sum(&WorkerStats::shape_mismatches);
  for (auto& w : workers_) {
    r.frame_payload_bytes =
        std::max(r.frame_payload_bytes, w->stats().frame_payload_bytes.Get());
  }
  if (state_.slices().enabled()) {
    const SliceSchedule& sl = state_.slices();
    r.slice_ms = options_.slice_ms;
    r.slice_phase = options_.slice_phase;
    r.slice_phases = options_.slice_phases;
    r.slice_settle_ms = options_.slice_settle_ms;
    r.slice_tail_ms = options_.slice_tail_ms;
    r.slice_by_publish = sl.by_publish();
    r.slice_epoch_ns = sl.epoch_ns();
    if (slice_offset_max_ns_ >= 0) {
      r.slice_publish_offset_min_ms =
          static_cast<double>(slice_offset_min_ns_) / 1e6;
      r.slice_publish_offset_max_ms =
          static_cast<double>(slice_offset_max_ns_) / 1e6;
    }
  }
  if (window_end_ns_ > window_start_ns_ && window_ended_) {
    // The counted time: the whole window, or in a paired run the counted
    // part of this process's slices inside it.
    r.duration_s = static_cast<double>(state_.slices().CountedNs(
                       window_start_ns_, window_end_ns_)) /
                   1e9;
    r.window_start_ns = window_start_ns_;
    r.window_end_ns = window_end_ns_;
    r.deliveries_per_s = static_cast<double>(r.deliveries) / r.duration_s;
    r.events_per_s = static_cast<double>(r.events_published) / r.duration_s;
  }
}

int LoadRun::Run() {
  run_start_ns_ = MonoNowNs();
  last_progress_ns_ = run_start_ns_;
  std::string error;
  if (!Prepare(&error)) {
    fprintf(stderr, "loadgen: %s\n", error.c_str());
    return 1;
  }
  CpuSampler setup_cores;
  setup_cores.Start();
  double setup_cpu = CpuSeconds();
  int64_t setup_start = MonoNowNs();
  StartWorkers();
  bool any = WaitForSetup();
  double setup_wall = static_cast<double>(MonoNowNs() - setup_start) / 1e9;
  if (setup_wall > 0) {
    results_.setup_cpu_percent = (CpuSeconds() - setup_cpu) / setup_wall * 100;
  }
  results_.setup_cores_busy_percent =
      MeanBusy(setup_cores.Stop(), CpuSampler::Affinity());
  // Hand back what the handshakes allocated and freed (every thread's
  // arena), so RSS reflects what the open connections hold.
  malloc_trim(0);
  Barrier();
  if (any) {
    if (options_.mode == Mode::kIdle) {
      RunIdle();
    } else if (options_.mode == Mode::kChat) {
      RunChat();
    } else {
      RunTraffic();
    }
  } else {
    results_.note = "no connection could be established";
  }
  // Counters that only make sense while the connections are up.
  uint64_t open_now = Sum(&WorkerStats::open);
  state_.Stop();
  for (auto& w : workers_) w->Join();
  Collect();
  results_.open_at_end = open_now;
  LatencyHistogram merged;
  for (auto& w : workers_) {
    merged.Merge(w->stats().latency_us);
    for (const auto& [code, count] : w->stats().close_codes) {
      results_.close_codes[code] += count;
    }
  }
  results_.latency_count = merged.count();
  results_.p50_us = merged.Quantile(0.50);
  results_.p90_us = merged.Quantile(0.90);
  results_.p99_us = merged.Quantile(0.99);
  results_.p999_us = merged.Quantile(0.999);
  results_.max_us = merged.max();
  if (options_.mode == Mode::kChat) CollectChat();
  if (!options_.json.empty()) {
    std::ofstream f(options_.json);
    f << results_.ToJson();
    if (!f)
      fprintf(stderr, "loadgen: cannot write %s\n", options_.json.c_str());
  }
  printf("%s\n%s", results_.Summary().c_str(), results_.ChatSummary().c_str());
  fflush(stdout);
  if (!any) return 1;
  if (options_.mode != Mode::kIdle && results_.deliveries_total == 0) return 1;
  return 0;
}

}  // namespace herald::bench
