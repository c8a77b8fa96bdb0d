#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "herald/v1/herald.grpc.pb.h"

namespace herald::service {

class HeraldService;

// One PublishStream call (raw bytes, parsed by ParseRequest so invalid
// UTF-8 is named): reads events one at a time, hands each to
// ControlPlane::Publish in order, and keeps at most kMaxInFlight of them
// in flight at once (reading pauses beyond that: backpressure to the
// client). The first invalid or refused event (an error reported before
// Publish returns) stops reading; an error reported later is the call's
// status but does not stop it. The call ends once everything published has
// completed.
//
// Threading: OnReadDone runs on a gRPC thread (gRPC does not run OnDone
// before it returns); the completion of each event is posted to the
// service's ControlExecutor and handled there. State is under mu_, and
// StartRead/Finish are only called after mu_ is released: a Finish is the
// last thing its caller does with `this`, since OnDone (delete this) may run
// on another thread as soon as it is called.
class PublishStreamReactor final
    : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  static constexpr int kMaxInFlight = 1024;

  PublishStreamReactor(HeraldService& service, grpc::ByteBuffer* response);

  void OnReadDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override;

 private:
  // What to do once mu_ is released.
  enum class Step { kNone, kRead, kFinish };

  // Publishes the event just read (request_); returns the next step.
  Step DispatchRead(uint64_t index);
  // On the ControlExecutor.
  void OnEventDone(const absl::Status& status);
  Step FinishStepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `step`; after kFinish `this` may be gone.
  void Take(Step step);

  HeraldService& service_;
  grpc::ByteBuffer* const response_;
  // Used only by OnReadDone and its dispatch: one read is outstanding at
  // a time.
  grpc::ByteBuffer buffer_;
  v1::PublishRequest request_;
  std::atomic<uint64_t> recipients_{0};  // added to by Publish completions

  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = true;  // a read is outstanding
  bool paused_ ABSL_GUARDED_BY(mu_) =
      false;  // read deferred: too many in flight
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  // The index of the event whose Publish call has not returned yet.
  std::optional<uint64_t> publishing_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::service
