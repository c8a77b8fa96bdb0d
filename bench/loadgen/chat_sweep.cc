#include "bench/loadgen/chat_sweep.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "bench/loadgen/mono_clock.h"

namespace herald::bench {
namespace {

void SleepNs(int64_t ns) {
  if (ns <= 0) return;
  timespec ts{static_cast<time_t>(ns / 1'000'000'000),
              static_cast<long>(ns % 1'000'000'000)};
  nanosleep(&ts, nullptr);
}

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double WallNowS() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

ChatSweep::ChatSweep(const Options& options, std::vector<int64_t> activity,
                     int64_t users, RunState* state)
    : options_(options),
      state_(state),
      events_(std::move(activity), users, options.seed),
      steps_(options.rates.size()),
      timeout_ns_(static_cast<int64_t>(options.event_timeout_s * 1e9)) {}

// Once an open-loop step saturated the server, the higher open-loop rates
// are skipped (they would only pile up backlog); closed-loop steps run.
void ChatSweep::Run(Publisher* publisher) {
  bool saturated = false;
  for (size_t k = 0; k < steps_.size(); ++k) {
    if (saturated && options_.rates[k] > 0) {
      steps_[k].rate = options_.rates[k];
      steps_[k].skipped = true;
      fprintf(stderr,
              "loadgen: chat step %zu rate=%.0f/s skipped "
              "(saturated)\n",
              k, options_.rates[k]);
      continue;
    }
    RunStep(static_cast<int>(k), publisher);
    saturated = saturated || Saturated(steps_[k]);
  }
}

// More than 1% of the events incomplete within the timeout, or the rate
// could not even be offered (the publisher was held back).
bool ChatSweep::Saturated(const ChatStep& st) const {
  if (st.rate <= 0) return false;
  bool lagging =
      static_cast<double>(st.events_window) < 0.9 * st.rate * st.duration_s;
  return st.abandoned * 100 > st.events || lagging;
}

bool ChatSweep::HasRoom(int64_t now, int64_t end) {
  EventRing& ring = state_->ring();
  uint64_t finished = ring.completed();
  if (seq_ - 1 - finished < static_cast<uint64_t>(options_.window)) {
    return true;
  }
  if (oldest_ < seq_ && now - ring.PublishNs(oldest_) > timeout_ns_) {
    ring.Abandon(oldest_);
    return false;
  }
  ring.WaitForCompletion(finished, std::min<int64_t>(10'000'000, end - now));
  return false;
}

void ChatSweep::AbandonOlderThan(int64_t limit_ns) {
  EventRing& ring = state_->ring();
  while (oldest_ < seq_ && ring.PublishNs(oldest_) < limit_ns) {
    ring.Abandon(oldest_++);
  }
}

void ChatSweep::PublishNext(int k, Publisher* publisher, bool in_window) {
  ChatStep& st = steps_[k];
  events_.Next(seq_, &event_);
  int32_t expected =
      std::max(0, state_->OpenOf(static_cast<int>(event_.server)));
  int64_t ns = MonoNowNs();
  EventRing& ring = state_->ring();
  ring.Claim(seq_, static_cast<uint32_t>(expected), ns,
             static_cast<uint16_t>(k));
  if (!publisher->PublishChat(event_, ns)) ring.Abandon(seq_);
  ++st.events;
  if (in_window) ++st.events_window;
  st.expected += static_cast<uint64_t>(expected);
  expected_total_ += static_cast<uint64_t>(expected);
  ++seq_;
}

void ChatSweep::RunStep(int k, Publisher* publisher) {
  ChatStep& st = steps_[k];
  st.rate = options_.rates[k];
  const uint64_t abandoned_before = state_->ring().abandoned();
  const int64_t t0 = MonoNowNs();
  const double wall0 = WallNowS();
  const auto warm = static_cast<int64_t>(options_.step_warmup_s * 1e9);
  const auto span = static_cast<int64_t>(options_.step_s * 1e9);
  const int64_t start = t0 + warm;
  const int64_t end = start + span;
  state_->SetStepWindow(k, start, end);
  st.duration_s = options_.step_s;
  st.wall_start = wall0 + static_cast<double>(warm) / 1e9;
  st.wall_end = st.wall_start + options_.step_s;
  const double interval = st.rate > 0 ? 1e9 / st.rate : 0;
  EventRing& ring = state_->ring();
  uint64_t i = 0;
  double cpu0 = -1;
  for (;;) {
    int64_t now = MonoNowNs();
    if (cpu0 < 0 && now >= start) cpu0 = CpuSeconds();
    if (now >= end) break;
    while (oldest_ < seq_ && ring.Finished(oldest_)) ++oldest_;
    if (interval > 0) {
      auto due = t0 + static_cast<int64_t>(static_cast<double>(i) * interval);
      if (now < due) {
        SleepNs(std::min(due, end) - now);
        continue;
      }
      AbandonOlderThan(now - timeout_ns_);
    } else if (!HasRoom(now, end)) {
      continue;
    }
    PublishNext(k, publisher, now >= start);
    ++i;
  }
  if (cpu0 >= 0) {
    st.loadgen_cpu_percent = (CpuSeconds() - cpu0) / options_.step_s * 100;
  }
  Drain();
  st.abandoned = state_->ring().abandoned() - abandoned_before;
  fprintf(stderr,
          "loadgen: chat step %d rate=%.0f/s: %llu events (%llu in the "
          "window), %llu expected receipts, %llu abandoned\n",
          k, st.rate, static_cast<unsigned long long>(st.events),
          static_cast<unsigned long long>(st.events_window),
          static_cast<unsigned long long>(st.expected),
          static_cast<unsigned long long>(st.abandoned));
}

// Lets the step's events arrive (or time out) before the next step.
void ChatSweep::Drain() {
  EventRing& ring = state_->ring();
  int64_t give_up = MonoNowNs() + timeout_ns_;
  while (ring.completed() < seq_ - 1 && MonoNowNs() < give_up) {
    ring.WaitForCompletion(ring.completed(), 10'000'000);
  }
  while (oldest_ < seq_) {
    if (!ring.Finished(oldest_)) ring.Abandon(oldest_);
    ++oldest_;
  }
}

}  // namespace herald::bench
