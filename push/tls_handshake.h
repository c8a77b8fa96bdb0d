#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "push/tls13_secrets.h"
#include "push/tls_transport.h"

namespace herald::push {

// The server side of a TLS handshake, done by OpenSSL on the socket
// directly. The SSL object is created only when the client's first byte
// arrives and looks like a handshake record (a silent socket costs no
// OpenSSL state). When herald may do the records itself, the traffic
// secrets are captured (Tls13Secrets) during the handshake; Finish then
// chooses, once, the transport for the records: Tls13RecordTransport for
// TLS 1.3 with an AEAD Tls13Records implements (the SSL object is freed),
// OpenSslTransport otherwise (TLS 1.2, or `own_records` off).
//
// Thread: owned by one TlsSession, used on its Worker's I/O thread only.
class TlsHandshake {
 public:
  using Step = TlsTransport::Step;

  // `ctx` stays alive until the handshake ends (a reload may replace the
  // context new handshakes get meanwhile).
  TlsHandshake(std::shared_ptr<SSL_CTX> ctx, int fd, bool own_records);
  ~TlsHandshake();
  TlsHandshake(const TlsHandshake&) = delete;
  TlsHandshake& operator=(const TlsHandshake&) = delete;

  // Advances the handshake; kWaiting after arming the wait it needs.
  Step Try(TlsTransport::Waits& waits);
  // After Try's kDone, before Finish: the negotiated TLS version
  // (TLS1_2_VERSION, TLS1_3_VERSION).
  int protocol_version() const { return ssl_ ? SSL_version(ssl_) : 0; }
  // After Try's kDone: the transport that carries the records from now on.
  std::unique_ptr<TlsTransport> Finish(TlsTransport::Waits& waits);

 private:
  // Creates ssl_ once the client's first bytes arrived and look like a TLS
  // handshake record; kWaiting until bytes arrive, kFailed on EOF/garbage.
  Step CreateSslOnFirstBytes(TlsTransport::Waits& waits);

  const std::shared_ptr<SSL_CTX> ctx_;
  const int fd_;
  const bool own_records_;
  SSL* ssl_ = nullptr;
  // Captured during the handshake when herald may take the records over.
  std::unique_ptr<Tls13Secrets> secrets_;
};

}  // namespace herald::push
