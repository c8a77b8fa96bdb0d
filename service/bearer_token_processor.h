#pragma once

#include <array>
#include <string>

#include "grpcpp/security/auth_metadata_processor.h"

namespace herald::service {

// The gRPC API's bearer-token check (--grpc_token_file). gRPC runs it in
// its server auth filter, before a call reaches any handler: a call whose
// `authorization` metadata is not exactly `Bearer <token>` ends with
// UNAUTHENTICATED and never touches the registry. grpc.health.v1 is exempt
// (liveness probes carry no secrets and learn nothing). Comparison is
// constant-time over SHA-256 digests, so neither the token's bytes nor its
// length leak through timing. Non-blocking: Process runs inline on
// whichever gRPC thread handles the call; the object is immutable after
// construction, so any thread may use it.
class BearerTokenProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit BearerTokenProcessor(const std::string& token);

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest Hash(const char* data, size_t size);

  Digest expected_;  // SHA-256 of "Bearer <token>"
};

}  // namespace herald::service
