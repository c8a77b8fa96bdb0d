#include "service/publish_stream_reactor.h"

#include "absl/strings/str_cat.h"
#include "service/countdown.h"
#include "service/herald_service.h"
#include "service/wire_codec.h"

namespace herald::service {

PublishStreamReactor::PublishStreamReactor(HeraldService& service,
                                           grpc::ByteBuffer* response)
    : service_(service), response_(response) {
  StartRead(&buffer_);
}

void PublishStreamReactor::OnReadDone(bool ok) {
  absl::MutexLock lock(&mu_);
  reading_ = false;
  if (!ok) {  // the client half-closed, or the call broke
    input_done_ = true;
    MaybeFinishLocked();
    return;
  }
  const uint64_t index = events_;
  request_.Clear();
  absl::Status valid = ParseRequest(buffer_, &request_);
  if (valid.ok()) valid = service_.validator().ValidatePublish(request_);
  if (!valid.ok()) {
    input_done_ = true;
    status_ =
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("events[", index, "].", valid.message(), " (",
                                  index, " earlier events were delivered)"));
    MaybeFinishLocked();
    return;
  }
  ++events_;
  ++in_flight_;
  auto countdown =
      Countdown::Create([this](absl::Status status) { OnEventDone(status); });
  service_.Dispatch(request_, *countdown, [this](uint32_t n) {
    absl::MutexLock inner(&mu_);
    recipients_ += n;
  });
  if (in_flight_ < kMaxInFlight) {
    reading_ = true;
    StartRead(&buffer_);
  } else {
    paused_ = true;
  }
  // Arm last: completions may run at once, and they take mu_.
  mu_.Unlock();
  countdown->Arm();
  mu_.Lock();
}

void PublishStreamReactor::OnEventDone(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  if (!status.ok() && status_.ok()) status_ = ToGrpcStatus(status);
  if (paused_ && !input_done_) {
    paused_ = false;
    reading_ = true;
    StartRead(&buffer_);
  }
  MaybeFinishLocked();
}

void PublishStreamReactor::OnCancel() {}

void PublishStreamReactor::MaybeFinishLocked() {
  if (finished_ || !input_done_ || in_flight_ > 0 || reading_) return;
  finished_ = true;
  v1::PublishStreamResponse response;
  response.set_events(events_);
  response.set_recipients(recipients_);
  SerializeResponse(response, response_);
  Finish(status_);
}

void PublishStreamReactor::OnDone() { delete this; }

}  // namespace herald::service
