#include "push/tls_session.h"

#include "boost/asio/error.hpp"
#include "boost/asio/post.hpp"

namespace herald::push {
namespace asio = boost::asio;

TlsSession::TlsSession(Worker& worker, Kind kind, asio::ip::tcp::socket socket,
                       std::shared_ptr<SSL_CTX> ctx, bool own_records)
    : Connection(worker, kind), socket_(std::move(socket)) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  handshake_.emplace(std::move(ctx), socket_.native_handle(), own_records);
}

void TlsSession::AsyncTransportHandshake() {
  handshake_pending_ = true;
  // Completions always run from a wait or a post, never inline.
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), this] { Pump(); });
}

void TlsSession::AsyncReadSome(uint8_t* data, size_t size) {
  read_pending_ = true;
  read_data_ = data;
  read_size_ = size;
  // Try before waiting: bytes may already sit in the socket or in a
  // buffer (epoll is edge-triggered, so waiting first could wait forever).
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), this] { Pump(); });
}

Connection::WriteStart TlsSession::StartWrite(WriteBuffers buffers,
                                              size_t size) {
  transport_->BeginWrite(buffers, size);
  // Writing right away saves a wait: the socket is almost always writable.
  const Step step = transport_->TryWrite();
  if (step == Step::kDone) return WriteStart::kDone;
  if (step == Step::kFailed) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), this] {
      FailAll(asio::error::connection_reset);
    });
  }
  return WriteStart::kPending;
}

void TlsSession::Pump() {
  if (closed_) return;
  if (handshake_pending_) {
    switch (handshake_->Try(*this)) {
      case Step::kDone:
        handshake_pending_ = false;
        transport_kind_ = handshake_->protocol_version() == TLS1_2_VERSION
                              ? Transport::kWssTls12
                              : Transport::kWssTls13;
        transport_ = handshake_->Finish(*this);
        // The transport, this session's pointer to it (UnsentBytes reads
        // it) and what the transport seals with.
        set_send_hot({transport_.get(), &transport_, transport_->SendState()});
        handshake_.reset();
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
  if (closed_ || !transport_) return;
  if (transport_->HasOutput() && !waiting_writable_) {
    const bool app_write = transport_->write_pending();
    const size_t size = transport_->write_size();
    switch (transport_->TryWrite()) {
      case Step::kDone:
        if (app_write) OnWrite({}, size);
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
    switch (transport_->TryRead(read_data_, read_size_)) {
      case Step::kDone:
        read_pending_ = false;
        OnRead({}, read_size_);  // the read left the byte count there
        break;
      case Step::kFailed:
        FailAll(asio::error::eof);
        return;
      case Step::kWaiting:
        break;
    }
  }
}

void TlsSession::YieldRead() {
  if (read_yield_posted_) return;
  read_yield_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this(), this] {
    read_yield_posted_ = false;
    Pump();
  });
}

size_t TlsSession::UnsentBytes() const {
  return transport_ ? transport_->UnsentBytes() : 0;
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
  if (transport_ && transport_->write_pending()) {
    transport_->AbandonWrite();
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
  if (transport_) transport_->ShutdownSend();
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void TlsSession::CloseSocket() {
  if (closed_) return;
  closed_ = true;
  if (transport_) transport_->Close();
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace herald::push
