#include "tools/heraldctl/bearer_token_interceptor.h"

namespace herald::tools {

void BearerTokenInterceptor::Intercept(
    grpc::experimental::InterceptorBatchMethods* methods) {
  if (methods->QueryInterceptionHookPoint(
          grpc::experimental::InterceptionHookPoints::
              PRE_SEND_INITIAL_METADATA)) {
    methods->GetSendInitialMetadata()->emplace("authorization", *header_);
  }
  methods->Proceed();
}

grpc::experimental::Interceptor*
BearerTokenInterceptorFactory::CreateClientInterceptor(
    grpc::experimental::ClientRpcInfo* /*info*/) {
  return new BearerTokenInterceptor(&header_);
}

}  // namespace herald::tools
