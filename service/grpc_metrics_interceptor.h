#pragma once

#include "grpcpp/support/server_interceptor.h"
#include "service/grpc_call_stats.h"

namespace herald::service {

// Counts every gRPC call's final status in a GrpcCallStats: one interceptor
// per call, which looks only at the status being sent.
//
// Thread: gRPC creates and runs it on its own threads; `stats` (thread-safe)
// must outlive the server.
class GrpcMetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(GrpcCallStats& stats)
      : stats_(stats) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  GrpcCallStats& stats_;
};

}  // namespace herald::service
