#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "bench/loadgen/publisher.h"
#include "herald/v1/herald.grpc.pb.h"
#include "tools/heraldctl/grpc_client_auth.h"

namespace herald::bench {

// Publishes through herald's client-streaming PublishStream: one stream for
// the whole run (reopened if it breaks), one Write per event; herald builds
// the JSON from the proto (text = "T<ns>"). Publisher thread only.
class GrpcPublisher : public Publisher {
 public:
  // text_bytes > 0: each text is padded to that size ("T<ns> xxx…").
  GrpcPublisher(std::string address, herald::tools::GrpcClientAuth auth,
                int text_bytes);
  ~GrpcPublisher() override;

  bool Start(std::string* error) override;
  bool Publish(uint64_t seq, int64_t server, int64_t ns) override;
  bool PublishChat(const ChatEvent& e, int64_t ns) override;
  void Finish() override;

  uint64_t errors() const override { return errors_; }
  uint64_t recipients() const override { return recipients_; }
  const std::string& last_error() const override { return last_error_; }

 private:
  void OpenStream();
  bool Write();
  void CloseStream(bool count_failure);

  std::string address_;
  herald::tools::GrpcClientAuth auth_;
  const size_t text_bytes_;
  std::unique_ptr<herald::v1::Herald::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientWriter<herald::v1::PublishRequest>> writer_;
  herald::v1::PublishStreamResponse response_;
  herald::v1::PublishRequest request_;
  std::string text_;
  uint64_t errors_ = 0;
  uint64_t recipients_ = 0;
  std::string last_error_;
};

}  // namespace herald::bench
