#include "tools/heraldctl/admin_commands.h"

#include "absl/status/status.h"
#include "tools/heraldctl/admin_format.h"

namespace herald::tools {

AdminCommands::AdminCommands(
    std::unique_ptr<v1::HeraldAdmin::StubInterface> stub,
    std::chrono::milliseconds timeout, bool json, std::ostream& out,
    std::ostream& err)
    : stub_(std::move(stub)),
      timeout_(timeout),
      json_(json),
      out_(out),
      err_(err) {}

std::unique_ptr<grpc::ClientContext> AdminCommands::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  return context;
}

int AdminCommands::Finish(const grpc::Status& status) const {
  out_.flush();
  if (status.ok()) return 0;
  err_ << "error: "
       << absl::StatusCodeToString(
              static_cast<absl::StatusCode>(status.error_code()))
       << ": " << status.error_message() << std::endl;
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    err_ << "herald wants credentials: --grpc_token_file=FILE (its bearer "
            "token), or --grpc_cert=FILE --grpc_key=FILE (a client "
            "certificate of its --grpc_client_ca) with --grpc_ca=FILE"
         << std::endl;
  }
  return 1;
}

int AdminCommands::ListConnections(const v1::ListConnectionsRequest& request) {
  v1::ListConnectionsResponse response;
  const grpc::Status status =
      stub_->ListConnections(NewContext().get(), request, &response);
  if (status.ok()) {
    out_ << (json_ ? ToJsonLine(response) : FormatConnections(response));
  }
  return Finish(status);
}

int AdminCommands::Disconnect(const v1::DisconnectRequest& request) {
  v1::DisconnectResponse response;
  const grpc::Status status =
      stub_->Disconnect(NewContext().get(), request, &response);
  if (status.ok()) {
    if (json_) {
      out_ << ToJsonLine(response);
    } else {
      out_ << "disconnected=" << response.disconnected() << "\n";
    }
  }
  return Finish(status);
}

int AdminCommands::GetStats() {
  v1::GetStatsResponse response;
  const grpc::Status status =
      stub_->GetStats(NewContext().get(), v1::GetStatsRequest(), &response);
  if (status.ok()) {
    out_ << (json_ ? ToJsonLine(response) : FormatStats(response));
  }
  return Finish(status);
}

}  // namespace herald::tools
