#include "push/tls_handshake.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "push/openssl_transport.h"
#include "push/tls13_record_transport.h"
#include "push/tls13_records.h"

namespace herald::push {

TlsHandshake::TlsHandshake(std::shared_ptr<SSL_CTX> ctx, int fd,
                           bool own_records)
    : ctx_(std::move(ctx)), fd_(fd), own_records_(own_records) {}

TlsHandshake::~TlsHandshake() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

TlsHandshake::Step TlsHandshake::CreateSslOnFirstBytes(
    TlsTransport::Waits& waits) {
  uint8_t first = 0;
  const ssize_t got = ::recv(fd_, &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    waits.WaitReadable();  // after EAGAIN, so the next edge wakes us
    return Step::kWaiting;
  }
  // EOF, an error, or not a handshake record (22): no TLS client.
  if (got <= 0 || first != 22) return Step::kFailed;
  ssl_ = SSL_new(ctx_.get());
  if (ssl_ == nullptr) return Step::kFailed;
  SSL_set_fd(ssl_, fd_);
  SSL_set_accept_state(ssl_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE |
                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  if (own_records_) {
    secrets_ = std::make_unique<Tls13Secrets>();
    Tls13Secrets::Attach(ssl_, secrets_.get());
  }
  return Step::kDone;
}

TlsHandshake::Step TlsHandshake::Try(TlsTransport::Waits& waits) {
  if (ssl_ == nullptr) {
    const Step step = CreateSslOnFirstBytes(waits);
    if (step != Step::kDone) return step;
  }
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return Step::kDone;
  return OpenSslTransport::Blocked(ssl_, r, waits);
}

std::unique_ptr<TlsTransport> TlsHandshake::Finish(TlsTransport::Waits& waits) {
  std::unique_ptr<Tls13Records> records;
  if (secrets_) {
    Tls13Secrets::Attach(ssl_, nullptr);
    // OpenSSL reads records exactly (no read-ahead) and has sent its
    // session ticket (counted in secrets_) before the handshake completes,
    // so it then holds no bytes of ours in either direction;
    // SSL_has_pending proves the read side.
    if (SSL_version(ssl_) == TLS1_3_VERSION && SSL_has_pending(ssl_) == 0) {
      records = Tls13Records::Create(SSL_get_current_cipher(ssl_), *secrets_);
    }
    secrets_.reset();
  }
  SSL* const ssl = ssl_;
  ssl_ = nullptr;
  if (records) {
    SSL_free(ssl);  // the socket stays open: SSL_set_fd's BIO does not own it
    return std::make_unique<Tls13RecordTransport>(std::move(records), fd_,
                                                  waits);
  }
  return std::make_unique<OpenSslTransport>(ssl, waits);
}

}  // namespace herald::push
