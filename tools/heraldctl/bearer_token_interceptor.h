#pragma once

#include <string>

#include "grpcpp/support/client_interceptor.h"

namespace herald::tools {

// Adds `authorization: Bearer <token>` to the initial metadata of every
// call on a channel. gRPC creates one per call, on the calling thread,
// through BearerTokenInterceptorFactory; grpc's C++ call credentials would
// refuse a plaintext (loopback) channel, an interceptor works on any.
class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header)
      : header_(header) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

 private:
  const std::string* header_;  // owned by the factory, which outlives calls
};

// The channel's factory of BearerTokenInterceptors; owns the header value.
class BearerTokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_("Bearer " + token) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override;

 private:
  const std::string header_;
};

}  // namespace herald::tools
