#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "push/tls_transport.h"

namespace herald::push {

// The records left to OpenSSL (TLS 1.2, or --tls_own_records=false): it
// keeps reading and writing the socket with the SSL object of the
// handshake, in SSL_MODE_RELEASE_BUFFERS so idle connections hold no
// record buffers.
//
// Thread: owned by one TlsSession, used on its Worker's I/O thread only.
class OpenSslTransport final : public TlsTransport {
 public:
  // Takes `ssl` (its handshake done) over; frees it when destroyed.
  OpenSslTransport(SSL* ssl, Waits& waits);
  ~OpenSslTransport() override;
  OpenSslTransport(const OpenSslTransport&) = delete;
  OpenSslTransport& operator=(const OpenSslTransport&) = delete;

  // Classifies a failed SSL call on `ssl`: arms the wait OpenSSL asks for,
  // or fails.
  static Step Blocked(SSL* ssl, int ret, Waits& waits);

  void BeginWrite(WriteBuffers buffers, size_t size) override;
  Step TryWrite() override;
  bool write_pending() const override { return write_pending_; }
  size_t write_size() const override { return write_size_; }
  bool HasOutput() const override { return write_pending_; }
  void AbandonWrite() override { write_pending_ = false; }
  Step TryRead(uint8_t* data, size_t& size) override;
  size_t UnsentBytes() const override;
  const void* SendState() const override { return nullptr; }
  void ShutdownSend() override;
  void Close() override;

 private:
  SSL* const ssl_;
  Waits& waits_;
  bool write_pending_ = false;
  // The pending write's frames, gathered: OpenSSL writes one contiguous
  // buffer. write_done_ bytes of it are taken.
  std::string write_buf_;
  size_t write_size_ = 0;
  size_t write_done_ = 0;
};

}  // namespace herald::push
