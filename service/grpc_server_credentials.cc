#include "service/grpc_server_credentials.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/security/server_credentials.h"
#include "push/log.h"
#include "service/bearer_token_processor.h"

namespace herald::service {
namespace {

constexpr size_t kMaxTokenFileBytes = 4096;

absl::Status FileError(const char* flag, const std::string& path,
                       const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", path, ": ", what));
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// The whole file, at most `max` bytes (more is an error).
absl::StatusOr<std::string> ReadSmallFile(const char* flag,
                                          const std::string& path, size_t max) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(fopen(path.c_str(), "rb"),
                                             &fclose);
  if (!file) return FileError(flag, path, strerror(errno));
  std::string data(max + 1, '\0');
  const size_t n = fread(data.data(), 1, data.size(), file.get());
  if (ferror(file.get())) return FileError(flag, path, strerror(errno));
  if (n > max) {
    return FileError(flag, path, absl::StrCat("larger than ", max, " bytes"));
  }
  data.resize(n);
  return data;
}

// gRPC reports a bad PEM only as "cannot bind"; OpenSSL says what is wrong.
absl::Status CheckKeyPair(const GrpcAuthOptions& auth) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_method()),
                                                   &SSL_CTX_free);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(),
                                         auth.tls_cert_file.c_str()) != 1) {
    return FileError("grpc_tls_cert", auth.tls_cert_file, OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), auth.tls_key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return FileError("grpc_tls_key", auth.tls_key_file,
                       "does not match --grpc_tls_cert");
    }
    return FileError("grpc_tls_key", auth.tls_key_file, OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return FileError("grpc_tls_key", auth.tls_key_file,
                     "does not match --grpc_tls_cert");
  }
  if (!auth.client_ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx.get(), auth.client_ca_file.c_str(),
                                    nullptr) != 1) {
    return FileError("grpc_client_ca", auth.client_ca_file, OpenSslError());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const GrpcAuthOptions& auth) {
  if (auto st = CheckKeyPair(auth); !st.ok()) return st;
  constexpr size_t kMaxPem = 1 << 20;
  auto cert = ReadSmallFile("grpc_tls_cert", auth.tls_cert_file, kMaxPem);
  if (!cert.ok()) return cert.status();
  auto key = ReadSmallFile("grpc_tls_key", auth.tls_key_file, kMaxPem);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!auth.client_ca_file.empty()) {
    auto ca = ReadSmallFile("grpc_client_ca", auth.client_ca_file, kMaxPem);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

std::string GrpcAuthName(const GrpcAuthOptions& auth) {
  std::string name = auth.tls() ? "TLS" : "plaintext";
  if (!auth.client_ca_file.empty()) absl::StrAppend(&name, ", mutual TLS");
  if (!auth.token_file.empty()) absl::StrAppend(&name, ", bearer token");
  if (!auth.authenticates()) absl::StrAppend(&name, ", no authentication");
  return name;
}

absl::StatusOr<std::string> ReadGrpcTokenFile(const std::string& path) {
  constexpr char kFlag[] = "grpc_token_file";
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return FileError(kFlag, path, strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return FileError(kFlag, path, "not a regular file");
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return FileError(kFlag, path,
                     absl::StrFormat("readable or writable by every user "
                                     "(mode %04o): chmod 600 it",
                                     st.st_mode & 07777));
  }
  if ((st.st_mode & S_IRWXG) != 0) {
    LogWarning("--", kFlag, "=", path, " is accessible to its group (mode ",
               absl::StrFormat("%04o", st.st_mode & 07777), ")");
  }
  auto data = ReadSmallFile(kFlag, path, kMaxTokenFileBytes);
  if (!data.ok()) return data.status();
  const std::string token(absl::StripAsciiWhitespace(*data));
  if (token.empty()) return FileError(kFlag, path, "holds no token");
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return FileError(kFlag, path,
                       "the token must be printable ASCII without spaces");
    }
  }
  return token;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeGrpcServerCredentials(const GrpcAuthOptions& auth,
                          const std::string& address) {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (auth.tls()) {
    auto tls = TlsCredentials(auth);
    if (!tls.ok()) return tls.status();
    credentials = *std::move(tls);
  } else if (!auth.token_file.empty()) {
    // Plaintext, but only from this host: local credentials check the peer
    // address, and unlike insecure ones accept a metadata processor.
    const bool unix_socket = address.rfind("unix", 0) == 0;
    credentials = grpc::experimental::LocalServerCredentials(
        unix_socket ? UDS : LOCAL_TCP);
  } else {
    return grpc::InsecureServerCredentials();
  }
  if (!auth.token_file.empty()) {
    auto token = ReadGrpcTokenFile(auth.token_file);
    if (!token.ok()) return token.status();
    credentials->SetAuthMetadataProcessor(
        std::make_shared<BearerTokenProcessor>(*token));
  }
  return credentials;
}

}  // namespace herald::service
