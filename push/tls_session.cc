#include "push/tls_session.h"

#include <openssl/err.h>

#include "boost/asio/error.hpp"
#include "boost/asio/post.hpp"

namespace herald::push {
namespace asio = boost::asio;

TlsSession::TlsSession(Worker& worker, Kind kind, asio::ip::tcp::socket socket,
                       SSL_CTX* ctx)
    : Connection(worker, kind), socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, socket_.native_handle());
    SSL_set_accept_state(ssl_);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE |
                           SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
  }
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void TlsSession::AsyncTransportHandshake() {
  if (ssl_ == nullptr) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), this] {
      OnTransportReady(asio::error::no_memory);
    });
    return;
  }
  handshake_pending_ = true;
  // Completions always run from a wait or a post, never inline.
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), this] { Pump(); });
}

void TlsSession::AsyncReadSome(uint8_t* data, size_t size) {
  read_pending_ = true;
  read_data_ = data;
  read_size_ = size;
  // Try before waiting: bytes may already sit in the socket or in OpenSSL
  // (epoll is edge-triggered, so waiting first could wait forever).
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), this] { Pump(); });
}

void TlsSession::AsyncWrite(const char* data, size_t size) {
  write_pending_ = true;
  write_data_ = data;
  write_size_ = size;
  write_done_ = 0;
  // Writing right away saves a wait: the socket is almost always writable.
  if (TryWrite() == Step::kDone) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), this] {
      if (closed_) return;
      OnWrite({}, write_size_);
    });
  }
}

void TlsSession::Pump() {
  if (closed_) return;
  if (handshake_pending_) {
    switch (TryHandshake()) {
      case Step::kDone:
        handshake_pending_ = false;
        OnTransportReady({});
        break;
      case Step::kFailed:
        handshake_pending_ = false;
        OnTransportReady(asio::error::connection_aborted);
        return;
      case Step::kWaiting:
        return;
    }
  }
  if (closed_) return;
  if (write_pending_ && !waiting_writable_) {
    const size_t size = write_size_;
    switch (TryWrite()) {
      case Step::kDone:
        OnWrite({}, size);
        break;
      case Step::kFailed:
        FailAll(asio::error::connection_reset);
        return;
      case Step::kWaiting:
        break;
    }
  }
  if (closed_) return;
  if (read_pending_ && !waiting_readable_) {
    switch (TryRead()) {
      case Step::kDone:
        OnRead({}, read_size_);  // TryRead left the byte count there
        break;
      case Step::kFailed:
        FailAll(asio::error::eof);
        return;
      case Step::kWaiting:
        break;
    }
  }
}

TlsSession::Step TlsSession::TryHandshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return Step::kDone;
  return Blocked(r);
}

TlsSession::Step TlsSession::TryRead() {
  ERR_clear_error();
  const int r = SSL_read(ssl_, read_data_, static_cast<int>(read_size_));
  if (r > 0) {
    read_pending_ = false;
    read_size_ = static_cast<size_t>(r);  // bytes delivered
    return Step::kDone;
  }
  return Blocked(r);
}

TlsSession::Step TlsSession::TryWrite() {
  while (write_done_ < write_size_) {
    ERR_clear_error();
    const int r = SSL_write(ssl_, write_data_ + write_done_,
                            static_cast<int>(write_size_ - write_done_));
    if (r <= 0) return Blocked(r);
    write_done_ += static_cast<size_t>(r);
  }
  write_pending_ = false;
  return Step::kDone;
}

TlsSession::Step TlsSession::Blocked(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      WaitReadable();
      return Step::kWaiting;
    case SSL_ERROR_WANT_WRITE:
      WaitWritable();
      return Step::kWaiting;
    default:
      return Step::kFailed;
  }
}

void TlsSession::WaitReadable() {
  Wait(asio::ip::tcp::socket::wait_read, waiting_readable_);
}

void TlsSession::WaitWritable() {
  Wait(asio::ip::tcp::socket::wait_write, waiting_writable_);
}

void TlsSession::Wait(asio::socket_base::wait_type type, bool& waiting) {
  if (waiting || closed_) return;
  waiting = true;
  socket_.async_wait(type, [self = shared_from_this(), this,
                            &waiting](boost::system::error_code ec) {
    waiting = false;
    if (ec) {
      FailAll(ec);
    } else {
      Pump();
    }
  });
}

void TlsSession::FailAll(boost::system::error_code ec) {
  if (closed_) return;
  if (handshake_pending_) {
    handshake_pending_ = false;
    OnTransportReady(ec);
  }
  if (closed_) return;
  if (write_pending_) {
    write_pending_ = false;
    OnWrite(ec, 0);
  }
  if (closed_) return;
  if (read_pending_) {
    read_pending_ = false;
    OnRead(ec, 0);
  }
}

void TlsSession::ShutdownSend() {
  if (closed_) return;
  if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // sends close_notify; the peer's is read as EOF
  }
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void TlsSession::CloseSocket() {
  if (closed_) return;
  closed_ = true;
  if (ssl_ != nullptr && SSL_is_init_finished(ssl_) &&
      (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // best effort close_notify; never waits
  }
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace herald::push
