#pragma once

#include <chrono>
#include <memory>
#include <ostream>

#include "grpcpp/grpcpp.h"
#include "herald/v1/admin.grpc.pb.h"

namespace herald::tools {

// Calls herald's operator API (herald.v1.HeraldAdmin) under one deadline
// per call and prints the outcome: tables (AdminFormat) or, with `json`,
// the response as one JSON line on `out`; a failure as `error: CODE:
// message` on `err`. Each method returns the exit status: 0 on success, 1
// on any failure.
class AdminCommands {
 public:
  AdminCommands(std::unique_ptr<v1::HeraldAdmin::StubInterface> stub,
                std::chrono::milliseconds timeout, bool json, std::ostream& out,
                std::ostream& err);

  // `heraldctl conns`: the connection table.
  int ListConnections(const v1::ListConnectionsRequest& request);
  // `heraldctl kick`: prints `disconnected=N`.
  int Disconnect(const v1::DisconnectRequest& request);
  // `heraldctl stats`: the statistics table.
  int GetStats();

 private:
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  int Finish(const grpc::Status& status) const;

  std::unique_ptr<v1::HeraldAdmin::StubInterface> stub_;
  std::chrono::milliseconds timeout_;
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace herald::tools
