#include "tools/heraldctl/grpc_commands.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"

namespace herald::tools {
namespace {

const char* Bool(bool value) { return value ? "true" : "false"; }

}  // namespace

GrpcCommands::GrpcCommands(std::unique_ptr<v1::Herald::StubInterface> stub,
                           std::chrono::milliseconds timeout, std::ostream& out,
                           std::ostream& err)
    : stub_(std::move(stub)), timeout_(timeout), out_(out), err_(err) {}

std::unique_ptr<grpc::ClientContext> GrpcCommands::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  return context;
}

int GrpcCommands::Finish(const grpc::Status& status) const {
  return ReportGrpcStatus(status, err_);
}

int ReportGrpcStatus(const grpc::Status& status, std::ostream& err) {
  if (status.ok()) return 0;
  // gRPC's codes are numerically abseil's, whose names are the canonical
  // ones (INVALID_ARGUMENT, UNAVAILABLE, …).
  err << "error: "
      << absl::StatusCodeToString(
             static_cast<absl::StatusCode>(status.error_code()))
      << ": " << status.error_message() << std::endl;
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    err << "herald wants credentials: --grpc_token_file=FILE (its bearer "
           "token), or --grpc_cert=FILE --grpc_key=FILE (a client "
           "certificate of its --grpc_client_ca) with --grpc_ca=FILE"
        << std::endl;
  }
  return 1;
}

int GrpcCommands::Publish(const v1::PublishRequest& request) {
  v1::PublishResponse response;
  const grpc::Status status =
      stub_->Publish(NewContext().get(), request, &response);
  if (status.ok()) out_ << "recipients=" << response.recipients() << std::endl;
  return Finish(status);
}

int GrpcCommands::OpenSession(const v1::OpenSessionRequest& request) {
  v1::OpenSessionResponse response;
  const grpc::Status status =
      stub_->OpenSession(NewContext().get(), request, &response);
  if (status.ok()) out_ << "ok" << std::endl;
  return Finish(status);
}

int GrpcCommands::CloseSession(const v1::CloseSessionRequest& request) {
  v1::CloseSessionResponse response;
  const grpc::Status status =
      stub_->CloseSession(NewContext().get(), request, &response);
  if (status.ok()) out_ << "existed=" << Bool(response.existed()) << std::endl;
  return Finish(status);
}

int GrpcCommands::SetMemberships(const v1::SetMembershipsRequest& request) {
  v1::SetMembershipsResponse response;
  const grpc::Status status =
      stub_->SetMemberships(NewContext().get(), request, &response);
  if (status.ok()) out_ << "ok" << std::endl;
  return Finish(status);
}

int GrpcCommands::GetMemberships(const v1::GetMembershipsRequest& request) {
  v1::GetMembershipsResponse response;
  const grpc::Status status =
      stub_->GetMemberships(NewContext().get(), request, &response);
  if (status.ok()) {
    out_ << "server_ids=" << absl::StrJoin(response.server_ids(), ",")
         << std::endl;
  }
  return Finish(status);
}

int GrpcCommands::JoinVoice(const v1::JoinVoiceRequest& request) {
  v1::JoinVoiceResponse response;
  const grpc::Status status =
      stub_->JoinVoice(NewContext().get(), request, &response);
  if (status.ok()) out_ << "ok" << std::endl;
  return Finish(status);
}

int GrpcCommands::LeaveVoice(const v1::LeaveVoiceRequest& request) {
  v1::LeaveVoiceResponse response;
  const grpc::Status status =
      stub_->LeaveVoice(NewContext().get(), request, &response);
  if (status.ok()) out_ << "existed=" << Bool(response.existed()) << std::endl;
  return Finish(status);
}

int GrpcCommands::GetVoiceState(const v1::GetVoiceStateRequest& request) {
  v1::GetVoiceStateResponse response;
  const grpc::Status status =
      stub_->GetVoiceState(NewContext().get(), request, &response);
  if (status.ok()) {
    for (const v1::VoiceChannelState& channel : response.channels()) {
      out_ << "channel=" << channel.channel_id()
           << " users=" << absl::StrJoin(channel.user_ids(), ",") << "\n";
    }
    out_.flush();
  }
  return Finish(status);
}

}  // namespace herald::tools
