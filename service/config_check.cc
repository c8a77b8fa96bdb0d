#include "service/config_check.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "push/fd_budget.h"
#include "service/grpc_server_credentials.h"

namespace herald::service {
namespace {

// The first queued OpenSSL error, worded as PushServer's (Boost.Asio's)
// messages at start-up: "no start line (PEM routines)", or the system
// error's text.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  if (ERR_SYSTEM_ERROR(code)) return strerror(ERR_GET_REASON(code));
  const char* reason = ERR_reason_error_string(code);
  const char* lib = ERR_lib_error_string(code);
  return absl::StrCat(reason != nullptr ? reason : "unknown error",
                      lib != nullptr ? absl::StrCat(" (", lib, ")") : "");
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// The WebSocket ports' certificate and key, loaded as PushServer does, with
// its messages.
void CheckKeyPair(const std::string& cert, const std::string& key,
                  std::vector<std::string>& errors) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_method()),
                                                   &SSL_CTX_free);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    errors.push_back(absl::StrCat("cannot load TLS certificate ", cert, ": ",
                                  OpenSslError()));
    return;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) !=
      1) {
    errors.push_back(
        absl::StrCat("cannot load TLS key ", key, ": ", OpenSslError()));
    return;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    errors.push_back(
        absl::StrCat("TLS key ", key, " does not match certificate ", cert));
  }
}

void CheckMainTls(const HeraldOptions& options,
                  std::vector<std::string>& errors) {
  if (options.push.plain) return;
  if (!options.push.tls_cert_file.empty()) {
    CheckKeyPair(options.push.tls_cert_file, options.push.tls_key_file, errors);
    return;
  }
  // The defaults: used when both exist, generated when neither does.
  const std::string cert = options.state + ".cert.pem";
  const std::string key = options.state + ".key.pem";
  const bool have_cert = Exists(cert);
  const bool have_key = Exists(key);
  if (have_cert && have_key) {
    CheckKeyPair(cert, key, errors);
  } else if (have_cert != have_key) {
    errors.push_back(absl::StrCat("found ", have_cert ? cert : key, " but not ",
                                  have_cert ? key : cert,
                                  "; remove it or give --tls_cert and "
                                  "--tls_key"));
  }
}

void CheckState(const std::string& state, std::vector<std::string>& errors) {
  const size_t slash = state.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : state.substr(0, slash);
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    errors.push_back(absl::StrCat("--state=", state, ": directory ", dir,
                                  " is not writable: ", strerror(errno)));
    return;
  }
  if (Exists(state) && access(state.c_str(), R_OK | W_OK) != 0) {
    errors.push_back(absl::StrCat(
        "--state=", state, ": not readable and writable: ", strerror(errno)));
  }
}

// As HeraldApp::Start sees it after main() raised the soft limit.
void CheckDescriptors(const HeraldOptions& options,
                      std::vector<std::string>& errors) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  const uint64_t nofile = files.rlim_max == RLIM_INFINITY
                              ? uint64_t{1} << 20
                              : static_cast<uint64_t>(files.rlim_max);
  push::PushOptions push = options.push;
  if (auto st =
          push::FitDescriptorBudget(push, nofile, options.max_connections_given,
                                    options.max_handshaking_given);
      !st.ok()) {
    errors.emplace_back(st.message());
  }
}

}  // namespace

std::vector<std::string> CheckStartupFiles(const HeraldOptions& options) {
  std::vector<std::string> errors;
  // Cluster mode does not open the state file.
  if (!options.cluster()) CheckState(options.state, errors);
  CheckMainTls(options, errors);
  const GrpcAuthOptions& auth = options.grpc_auth;
  if (auth.tls() || !auth.token_file.empty()) {
    auto credentials = MakeGrpcServerCredentials(auth, options.grpc_address);
    if (!credentials.ok()) errors.emplace_back(credentials.status().message());
  }
  CheckDescriptors(options, errors);
  return errors;
}

}  // namespace herald::service
