#pragma once

#include <vector>

#include "boost/asio/ip/tcp.hpp"
#include "push/connection.h"

namespace herald::push {

// A Connection over plain TCP (ws://, for use behind a TLS proxy).
//
// Thread: its Worker's I/O thread, like Connection.
class PlainSession final : public Connection {
 public:
  PlainSession(Worker& worker, Kind kind, boost::asio::ip::tcp::socket socket);

 protected:
  void AsyncTransportHandshake() override;
  void AsyncReadSome(uint8_t* data, size_t size) override;
  WriteStart StartWrite(WriteBuffers buffers, size_t size) override;
  size_t UnsentBytes() const override { return unsent_; }
  void ShutdownSend() override;
  int SocketFd() override { return socket_.native_handle(); }
  void CloseSocket() override;

 private:
  // After a partial write: waits until the socket is writable, sends what
  // it takes of rest_, and again until rest_ is all sent (then OnWrite).
  void WriteRest();
  // Drops the first `n` bytes of rest_.
  void ConsumeRest(size_t n);

  boost::asio::ip::tcp::socket socket_;
  // What a partial write left (views of the connection's frames), and its
  // size: the bytes of the write in flight the kernel has not taken.
  std::vector<boost::asio::const_buffer> rest_;
  size_t rest_begin_ = 0;  // first entry of rest_ still (partly) unsent
  size_t unsent_ = 0;
  size_t write_size_ = 0;
};

}  // namespace herald::push
