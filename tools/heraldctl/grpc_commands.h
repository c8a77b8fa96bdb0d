#pragma once

#include <chrono>
#include <memory>
#include <ostream>

#include "grpcpp/grpcpp.h"
#include "herald/v1/herald.grpc.pb.h"

namespace herald::tools {

// Calls herald's gRPC API, one request per method, each under the same
// deadline, and prints the outcome: results as `key=value` lines on `out`,
// a failure as `error: CODE: message` (herald's own words) on `err`. Each
// method returns the process exit status: 0 on success, 1 on any failure.
// Prints a failed call's status to `err` (with what to do when herald wants
// credentials); returns heraldctl's exit status: 0 for OK, else 1.
int ReportGrpcStatus(const grpc::Status& status, std::ostream& err);

class GrpcCommands {
 public:
  GrpcCommands(std::unique_ptr<v1::Herald::StubInterface> stub,
               std::chrono::milliseconds timeout, std::ostream& out,
               std::ostream& err);

  // Prints `recipients=N`.
  int Publish(const v1::PublishRequest& request);
  // Prints `ok`.
  int OpenSession(const v1::OpenSessionRequest& request);
  // Prints `existed=true|false`.
  int CloseSession(const v1::CloseSessionRequest& request);
  // Prints `ok`.
  int SetMemberships(const v1::SetMembershipsRequest& request);
  // Prints `server_ids=1,2` (empty after `=` when there are none).
  int GetMemberships(const v1::GetMembershipsRequest& request);
  // Prints `ok`.
  int JoinVoice(const v1::JoinVoiceRequest& request);
  // Prints `existed=true|false`.
  int LeaveVoice(const v1::LeaveVoiceRequest& request);
  // Prints `channel=C users=1,2` per channel that has users, nothing when
  // nobody is in voice on the server.
  int GetVoiceState(const v1::GetVoiceStateRequest& request);

 private:
  // A context carrying the deadline, fresh for each call.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  // Prints `status`, returns the exit status for it.
  int Finish(const grpc::Status& status) const;

  std::unique_ptr<v1::Herald::StubInterface> stub_;
  std::chrono::milliseconds timeout_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace herald::tools
