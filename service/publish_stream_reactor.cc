#include "service/publish_stream_reactor.h"

#include "absl/strings/str_cat.h"
#include "service/control_executor.h"
#include "service/control_plane.h"
#include "service/herald_service.h"
#include "service/wire_codec.h"

namespace herald::service {
namespace {

grpc::Status EventError(const absl::Status& status, uint64_t index) {
  return grpc::Status(
      static_cast<grpc::StatusCode>(status.code()),
      absl::StrCat("events[", index, "].", status.message(), " (", index,
                   " earlier events were delivered)"));
}

}  // namespace

PublishStreamReactor::PublishStreamReactor(HeraldService& service,
                                           grpc::ByteBuffer* response)
    : service_(service), response_(response) {
  StartRead(&buffer_);
}

void PublishStreamReactor::OnReadDone(bool ok) {
  Step step = Step::kNone;
  uint64_t index = 0;
  bool dispatch = false;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    index = events_;
    absl::Status valid;
    if (ok) {
      request_.Clear();
      valid = ParseRequest(buffer_, &request_);
      if (valid.ok()) valid = service_.validator().ValidatePublish(request_);
    }
    if (ok && valid.ok()) {
      ++events_;
      ++in_flight_;
      publishing_ = index;
      dispatch = true;
    } else {  // half-closed, broken, or invalid
      input_done_ = true;
      if (!valid.ok()) status_ = EventError(valid, index);
      step = FinishStepLocked();
    }
  }
  if (dispatch) step = DispatchRead(index);
  Take(step);
}

PublishStreamReactor::Step PublishStreamReactor::DispatchRead(uint64_t index) {
  // The completion goes to the control executor: it may arrive on a push
  // worker or the SQLite writer, which must not run gRPC's Finish.
  service_.control().Publish(
      request_, [this, index](absl::StatusOr<uint32_t> recipients) {
        absl::Status status = recipients.status();
        if (recipients.ok()) {
          recipients_.fetch_add(*recipients, std::memory_order_relaxed);
        } else {
          absl::MutexLock lock(&mu_);
          if (publishing_ == index) {
            // Refused before Publish returned: nothing of it was delivered,
            // and nothing after it is read.
            input_done_ = true;
            if (status_.ok()) status_ = EventError(status, index);
          }
        }
        // OnEventDone takes it out of flight.
        service_.executor().Post([this, status = std::move(status)]() mutable {
          OnEventDone(status);
        });
      });
  absl::MutexLock lock(&mu_);
  publishing_.reset();
  if (input_done_) return FinishStepLocked();
  if (in_flight_ < kMaxInFlight) {
    reading_ = true;
    return Step::kRead;
  }
  paused_ = true;
  return Step::kNone;
}

void PublishStreamReactor::OnEventDone(const absl::Status& status) {
  Step step = Step::kNone;
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    if (!status.ok() && status_.ok()) status_ = ToGrpcStatus(status);
    if (paused_ && !input_done_) {
      paused_ = false;
      reading_ = true;
      step = Step::kRead;
    } else {
      step = FinishStepLocked();
    }
  }
  Take(step);
}

void PublishStreamReactor::OnCancel() {}

PublishStreamReactor::Step PublishStreamReactor::FinishStepLocked() {
  if (finished_ || !input_done_ || in_flight_ > 0 || reading_) {
    return Step::kNone;
  }
  finished_ = true;
  v1::PublishStreamResponse response;
  response.set_events(events_);
  response.set_recipients(recipients_.load(std::memory_order_relaxed));
  SerializeResponse(response, response_);
  return Step::kFinish;
}

void PublishStreamReactor::Take(Step step) {
  switch (step) {
    case Step::kNone:
      return;
    case Step::kRead:
      StartRead(&buffer_);
      return;
    case Step::kFinish: {
      grpc::Status status;
      {
        absl::MutexLock lock(&mu_);
        status = status_;
      }
      Finish(status);  // OnDone may delete `this` from here on
      return;
    }
  }
}

void PublishStreamReactor::OnDone() { delete this; }

}  // namespace herald::service
