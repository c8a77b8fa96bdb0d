#include "push/tls_context_store.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/ssl/context.hpp"
#include "boost/asio/ssl/error.hpp"
#include "push/tls13_secrets.h"

namespace herald::push {
namespace ssl = boost::asio::ssl;
namespace {

// `what` ("certificate", "key") at `path` is a regular file herald may
// read, at most kMaxPemBytes long.
absl::Status CheckFile(const char* what, const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load TLS ", what, " ", path, ": ", strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TLS ", what, " ", path, ": not a file"));
  }
  if (static_cast<uint64_t>(st.st_size) > TlsContextStore::kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TLS ", what, " ", path, ": larger than ",
                     TlsContextStore::kMaxPemBytes, " bytes"));
  }
  return absl::OkStatus();
}

// Sets the protocol policy shared by every context: TLS 1.2 and 1.3, no
// session cache, tickets only with `ticket_keys`, the suite preference and
// (with `own_records`) the secret capture for herald's TLS 1.3 records.
absl::Status ConfigureContext(SSL_CTX* ctx, TlsTicketKeys* ticket_keys,
                              bool own_records) {
  // Idle connections keep no read/write buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // No session cache: it would hold memory per session. Resumption, when
  // on, is by stateless tickets only (the client keeps the state), so a
  // restarted node's clients skip the signature and key exchange.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (ticket_keys != nullptr && !ticket_keys->Install(ctx)) {
    return absl::InternalError("cannot set up TLS session tickets");
  }
  // TLS 1.3 suites by the server's preference: AES-128-GCM first (what
  // browsers pick themselves; ~30% less AES work per byte than AES-256,
  // whose 128-bit security margin is the same for a push stream), except
  // for clients that put ChaCha20 first (no AES hardware: phones).
  if (SSL_CTX_set_ciphersuites(ctx,
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                               "TLS_CHACHA20_POLY1305_SHA256") != 1) {
    return absl::InternalError("cannot set the TLS 1.3 cipher suites");
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  if (own_records && !Tls13Secrets::Install(ctx)) {
    return absl::InternalError("cannot set up TLS 1.3 record handling");
  }
  return absl::OkStatus();
}

std::string DescribeCertificate(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr) return "no certificate";
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  std::string expires = "?";
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      if (n > 0) expires.assign(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  return absl::StrCat("subject ", subject, ", not after ", expires);
}

}  // namespace

TlsContextStore::TlsContextStore(const PushOptions& options,
                                 TlsTicketKeys* ticket_keys)
    : cert_file_(options.tls_cert_file),
      key_file_(options.tls_key_file),
      own_records_(options.tls_own_records),
      ticket_keys_(ticket_keys) {}

absl::StatusOr<std::unique_ptr<TlsContextStore>> TlsContextStore::Create(
    const PushOptions& options, TlsTicketKeys* ticket_keys) {
  auto store = std::unique_ptr<TlsContextStore>(
      new TlsContextStore(options, ticket_keys));
  auto ctx = store->Load();
  if (!ctx.ok()) return ctx.status();
  absl::MutexLock lock(&store->mu_);
  store->current_ = *std::move(ctx);
  return store;
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> TlsContextStore::Load() const {
  ERR_clear_error();
  if (auto st = CheckFile("certificate", cert_file_); !st.ok()) return st;
  if (auto st = CheckFile("key", key_file_); !st.ok()) return st;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file_, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load TLS certificate ", cert_file_, ": ", ec.message()));
  }
  ctx->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec && (ec.category() != boost::asio::error::get_ssl_category() ||
             ERR_GET_REASON(static_cast<unsigned long>(ec.value())) !=
                 X509_R_KEY_VALUES_MISMATCH)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TLS key ", key_file_, ": ", ec.message()));
  }
  if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS key ", key_file_, " does not match certificate ", cert_file_));
  }
  if (auto st =
          ConfigureContext(ctx->native_handle(), ticket_keys_, own_records_);
      !st.ok()) {
    return st;
  }
  SSL_CTX* const raw = ctx->native_handle();
  // Shares ownership of the asio context, which frees the SSL_CTX.
  return std::shared_ptr<SSL_CTX>(std::move(ctx), raw);
}

std::shared_ptr<SSL_CTX> TlsContextStore::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::string> TlsContextStore::Reload() {
  auto ctx = Load();
  if (!ctx.ok()) {
    ERR_clear_error();
    return ctx.status();
  }
  std::string description = DescribeCertificate(ctx->get());
  std::shared_ptr<SSL_CTX> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(current_, *std::move(ctx));
  }
  // `old` is freed here, or by the last handshake that took it.
  return description;
}

std::string TlsContextStore::Describe() const {
  return DescribeCertificate(Current().get());
}

}  // namespace herald::push
