#include "service/bearer_token_processor.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <string_view>

namespace herald::service {
namespace {

constexpr std::string_view kHealthPrefix = "/grpc.health.v1.Health/";

}  // namespace

BearerTokenProcessor::BearerTokenProcessor(const std::string& token) {
  const std::string header = "Bearer " + token;
  expected_ = Hash(header.data(), header.size());
}

BearerTokenProcessor::Digest BearerTokenProcessor::Hash(const char* data,
                                                        size_t size) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(data), size, digest.data());
  return digest;
}

grpc::Status BearerTokenProcessor::Process(
    const InputMetadata& auth_metadata, grpc::AuthContext* /*context*/,
    OutputMetadata* consumed_auth_metadata,
    OutputMetadata* /*response_metadata*/) {
  auto path = auth_metadata.find(":path");
  if (path != auth_metadata.end() &&
      std::string_view(path->second.data(), path->second.size())
              .substr(0, kHealthPrefix.size()) == kHealthPrefix) {
    return grpc::Status::OK;
  }
  auto [first, last] = auth_metadata.equal_range("authorization");
  if (first == last) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing 'authorization: Bearer <token>' metadata");
  }
  // Exactly one value: with several, which one a proxy checked is unclear.
  if (std::next(first) != last ||
      CRYPTO_memcmp(Hash(first->second.data(), first->second.size()).data(),
                    expected_.data(), expected_.size()) != 0) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "wrong bearer token");
  }
  // Handlers never see the secret.
  consumed_auth_metadata->emplace(
      "authorization", std::string(first->second.data(), first->second.size()));
  return grpc::Status::OK;
}

}  // namespace herald::service
