#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "herald/v1/herald.grpc.pb.h"

namespace herald::service {

class HeraldService;

// One PublishStream call (raw bytes, parsed by ParseRequest so invalid
// UTF-8 is named): reads events one at a time, dispatches each in
// order, and keeps at most kMaxInFlight of them routing at once (reading
// pauses beyond that: backpressure to the client). The first invalid event
// stops reading; the call ends once everything dispatched has completed.
//
// Thread-safe: gRPC callbacks and routing completions arrive on different
// threads; state is under mu_. Deletes itself in OnDone.
class PublishStreamReactor final
    : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  static constexpr int kMaxInFlight = 1024;

  PublishStreamReactor(HeraldService& service, grpc::ByteBuffer* response);

  void OnReadDone(bool ok) override;
  void OnDone() override;
  void OnCancel() override;

 private:
  void OnEventDone(const absl::Status& status);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  HeraldService& service_;
  grpc::ByteBuffer* const response_;
  grpc::ByteBuffer buffer_;
  v1::PublishRequest request_;

  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = true;  // a read is outstanding
  bool paused_ ABSL_GUARDED_BY(mu_) =
      false;  // read deferred: too many in flight
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t recipients_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herald::service
