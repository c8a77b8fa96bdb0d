#include "tools/heraldctl/admin_commands.h"

#include "absl/status/status.h"
#include "tools/heraldctl/admin_format.h"
#include "tools/heraldctl/grpc_commands.h"

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
  return ReportGrpcStatus(status, err_);
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
