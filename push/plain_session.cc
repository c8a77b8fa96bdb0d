#include "push/plain_session.h"

#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"

namespace herald::push {

PlainSession::PlainSession(Worker& worker, Kind kind,
                           boost::asio::ip::tcp::socket socket)
    : Connection(worker, kind), socket_(std::move(socket)) {}

void PlainSession::AsyncTransportHandshake() {
  boost::asio::post(socket_.get_executor(), [self = shared_from_this(), this] {
    OnTransportReady({});
  });
}

void PlainSession::AsyncReadSome(uint8_t* data, size_t size) {
  socket_.async_read_some(
      boost::asio::buffer(data, size),
      [self = shared_from_this(), this](boost::system::error_code ec,
                                        size_t n) { OnRead(ec, n); });
}

void PlainSession::AsyncWrite(const char* data, size_t size) {
  boost::asio::async_write(
      socket_, boost::asio::buffer(data, size),
      [self = shared_from_this(), this](boost::system::error_code ec,
                                        size_t n) { OnWrite(ec, n); });
}

void PlainSession::ShutdownSend() {
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}

void PlainSession::CloseSocket() {
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace herald::push
