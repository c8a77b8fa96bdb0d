#include "bench/loadgen/grpc_publisher.h"

#include <charconv>
#include <chrono>

#include "bench/loadgen/event_body.h"

namespace herald::bench {

GrpcPublisher::GrpcPublisher(std::string address,
                             herald::tools::GrpcClientAuth auth, int text_bytes)
    : address_(std::move(address)),
      auth_(std::move(auth)),
      text_bytes_(static_cast<size_t>(text_bytes)) {}

GrpcPublisher::~GrpcPublisher() = default;

bool GrpcPublisher::Start(std::string* error) {
  auto created = herald::tools::CreateHeraldChannel(address_, auth_);
  if (!created.ok()) {
    *error = std::string(created.status().message());
    return false;
  }
  std::shared_ptr<grpc::Channel> channel = *std::move(created);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10))) {
    *error = "cannot reach gRPC at " + address_;
    return false;
  }
  stub_ = herald::v1::Herald::NewStub(channel);
  herald::v1::MessageCreated* m = request_.mutable_message_created();
  m->set_author_id(1);
  m->set_channel_id(1);
  m->mutable_sent()->set_seconds(EventBody::kTimestampSeconds);
  m->mutable_sent()->set_nanos(EventBody::kTimestampNanos);
  *m->mutable_edited() = m->sent();
  OpenStream();
  return true;
}

void GrpcPublisher::OpenStream() {
  context_ = std::make_unique<grpc::ClientContext>();
  response_.Clear();
  writer_ = stub_->PublishStream(context_.get(), &response_);
}

void GrpcPublisher::CloseStream(bool count_failure) {
  if (writer_ == nullptr) return;
  writer_->WritesDone();
  grpc::Status status = writer_->Finish();
  if (status.ok()) {
    recipients_ += response_.recipients();
  } else {
    if (count_failure) ++errors_;
    last_error_ = "PublishStream: " + status.error_message();
  }
  writer_.reset();
}

bool GrpcPublisher::Publish(uint64_t seq, int64_t server, int64_t ns) {
  herald::v1::MessageCreated* m = request_.mutable_message_created();
  m->set_id(static_cast<int64_t>(seq));
  m->set_server_id(server);
  char buf[24];
  buf[0] = 'T';
  auto r = std::to_chars(buf + 1, buf + sizeof buf, ns);
  const size_t n = static_cast<size_t>(r.ptr - buf);
  if (text_bytes_ > n + 1) {
    // The receiver reads the number up to the space (EventBody::Parse).
    text_.assign(buf, n);
    text_.push_back(' ');
    text_.resize(text_bytes_, 'x');
    m->set_text(text_);
  } else {
    m->set_text(buf, n);
  }
  return Write();
}

bool GrpcPublisher::PublishChat(const ChatEvent& e, int64_t ns) {
  e.ToProto(ns, &request_);
  return Write();
}

bool GrpcPublisher::Write() {
  if (writer_->Write(request_)) return true;
  // The stream broke: learn why, count the event as failed, start anew.
  ++errors_;
  CloseStream(/*count_failure=*/false);
  OpenStream();
  return false;
}

void GrpcPublisher::Finish() { CloseStream(/*count_failure=*/true); }

}  // namespace herald::bench
