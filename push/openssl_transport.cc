#include "push/openssl_transport.h"

#include <openssl/err.h>

namespace herald::push {

OpenSslTransport::OpenSslTransport(SSL* ssl, Waits& waits)
    : ssl_(ssl), waits_(waits) {}

OpenSslTransport::~OpenSslTransport() { SSL_free(ssl_); }

TlsTransport::Step OpenSslTransport::Blocked(SSL* ssl, int ret, Waits& waits) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      waits.WaitReadable();
      return Step::kWaiting;
    case SSL_ERROR_WANT_WRITE:
      waits.WaitWritable();
      return Step::kWaiting;
    default:
      return Step::kFailed;
  }
}

void OpenSslTransport::BeginWrite(WriteBuffers buffers, size_t size) {
  write_pending_ = true;
  write_size_ = size;
  write_done_ = 0;
  write_buf_.clear();
  for (const auto& b : buffers) {
    write_buf_.append(static_cast<const char*>(b.data()), b.size());
  }
}

TlsTransport::Step OpenSslTransport::TryWrite() {
  while (write_done_ < write_size_) {
    ERR_clear_error();
    const int r = SSL_write(ssl_, write_buf_.data() + write_done_,
                            static_cast<int>(write_size_ - write_done_));
    if (r <= 0) return Blocked(ssl_, r, waits_);
    write_done_ += static_cast<size_t>(r);
  }
  write_pending_ = false;
  // Done at once or after waiting: either way an idle connection keeps no
  // large gather buffer.
  if (write_buf_.capacity() > 4096) std::string().swap(write_buf_);
  return Step::kDone;
}

TlsTransport::Step OpenSslTransport::TryRead(uint8_t* data, size_t& size) {
  ERR_clear_error();
  const int r = SSL_read(ssl_, data, static_cast<int>(size));
  if (r > 0) {
    size = static_cast<size_t>(r);  // bytes delivered
    return Step::kDone;
  }
  return Blocked(ssl_, r, waits_);
}

size_t OpenSslTransport::UnsentBytes() const {
  // The pending write's bytes not yet taken by SSL_write.
  return write_pending_ ? write_size_ - write_done_ : 0;
}

void OpenSslTransport::ShutdownSend() {
  if (!SSL_is_init_finished(ssl_)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // sends close_notify; the peer's is read as EOF
}

void OpenSslTransport::Close() {
  if (SSL_is_init_finished(ssl_) &&
      (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // best effort close_notify; never waits
  }
  // Nothing more is sent: free the send side's buffer now.
  std::string().swap(write_buf_);
  write_pending_ = false;
}

}  // namespace herald::push
