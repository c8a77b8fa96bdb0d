#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/chat_plan.h"
#include "bench/loadgen/chat_plan_stats.h"
#include "bench/loadgen/cpu_sampler.h"
#include "bench/loadgen/membership_plan.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/publisher.h"
#include "bench/loadgen/results.h"
#include "bench/loadgen/run_state.h"
#include "bench/loadgen/url_template.h"
#include "bench/loadgen/worker.h"

namespace herald::bench {

// One run of the load generator, start to finish: herald setup, the
// workers' connections, the publisher (its own thread), the measurement
// window, the results. Run() is called once by the main thread, which also
// prints progress; the publisher thread only runs PublishLoop and writes the
// publisher tallies below, read by the main thread after joining it.
class LoadRun {
 public:
  explicit LoadRun(const Options& options);
  ~LoadRun();

  // Returns the process exit status.
  int Run();

 private:
  bool Prepare(std::string* error);
  void StartWorkers();
  bool WaitForSetup();
  void Barrier();
  int64_t AgreeEpoch(int64_t candidate);
  void RunTraffic();
  void RunIdle();
  // MakePublisher, started; null (and results_.note says why) if it failed.
  std::unique_ptr<Publisher> StartPublisher();
  std::unique_ptr<Publisher> MakePublisher();
  // --mode=chat: the sweep (ChatSweep) on the publisher thread.
  void RunChat();
  void CollectChat();
  void PublishLoop(Publisher* publisher, int64_t t0, int64_t end);
  void SleepUntil(int64_t deadline_ns, bool progress);
  void PrintProgress(int64_t now);
  void MarkWindowStart();
  void MarkWindowEnd();
  void Collect();
  uint64_t Sum(OwnedCounter WorkerStats::*field) const;

  const Options& options_;
  std::vector<UrlTemplate> urls_;  // one per --url, all ws or all wss
  std::unique_ptr<MembershipPlan> plan_;
  std::unique_ptr<ChatPlan> chat_plan_;  // --mode=chat; plan_ is a copy
  std::unique_ptr<ChatPlanStats> chat_stats_;
  RunState state_;
  SSL_CTX* ssl_ctx_ = nullptr;
  std::vector<std::unique_ptr<Worker>> workers_;
  Results results_;

  // Publisher thread tallies; read after it was joined.
  uint64_t published_window_ = 0;
  uint64_t published_total_ = 0;
  uint64_t expected_total_ = 0;
  std::vector<ChatStep> chat_steps_;
  // Paired runs: where in the period the events were published.
  int64_t slice_offset_min_ns_ = INT64_MAX;
  int64_t slice_offset_max_ns_ = -1;
  std::atomic<uint64_t> published_progress_{0};
  std::atomic<bool> publishing_done_{false};

  // Main thread only.
  int64_t window_start_ns_ = 0;
  int64_t window_end_ns_ = 0;
  double cpu_at_start_s_ = 0;
  CpuSampler cores_;
  bool window_started_ = false;
  bool window_ended_ = false;
  int64_t last_progress_ns_ = 0;
  uint64_t last_progress_deliveries_ = 0;
  int64_t run_start_ns_ = 0;
};

}  // namespace herald::bench
