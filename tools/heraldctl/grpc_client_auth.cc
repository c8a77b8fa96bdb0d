#include "tools/heraldctl/grpc_client_auth.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tools/heraldctl/bearer_token_interceptor.h"

namespace herald::tools {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadFile(const char* flag,
                                     const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(fopen(path.c_str(), "rb"),
                                             &fclose);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": ", strerror(errno)));
  }
  std::string data(kMaxFileBytes + 1, '\0');
  data.resize(fread(data.data(), 1, data.size(), file.get()));
  if (ferror(file.get()) || data.size() > kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": unreadable or too large"));
  }
  return data;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentials(
    const GrpcClientAuth& auth) {
  grpc::SslCredentialsOptions ssl;
  if (!auth.ca_file.empty()) {
    auto ca = ReadFile("grpc_ca", auth.ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!auth.cert_file.empty()) {
    auto cert = ReadFile("grpc_cert", auth.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile("grpc_key", auth.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::Status GrpcClientAuth::Check() const {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "--grpc_cert and --grpc_key go together: give both or neither");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadClientToken(const std::string& path) {
  auto data = ReadFile("grpc_token_file", path);
  if (!data.ok()) return data.status();
  std::string token(absl::StripAsciiWhitespace(*data));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc_token_file=", path, ": holds no token"));
  }
  return token;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateHeraldChannel(
    const std::string& address, const GrpcClientAuth& auth) {
  if (absl::Status st = auth.Check(); !st.ok()) return st;
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (auth.tls()) {
    auto tls = TlsCredentials(auth);
    if (!tls.ok()) return tls.status();
    credentials = *std::move(tls);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!auth.token_file.empty()) {
    auto token = ReadClientToken(auth.token_file);
    if (!token.ok()) return token.status();
    interceptors.push_back(
        std::make_unique<BearerTokenInterceptorFactory>(*token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, credentials, grpc::ChannelArguments(), std::move(interceptors));
}

}  // namespace herald::tools
