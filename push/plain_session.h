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
  void ShutdownSend() override;
  void CloseSocket() override;

 private:
  boost::asio::ip::tcp::socket socket_;
  // What a partial write left, for the async_write that finishes it.
  std::vector<boost::asio::const_buffer> rest_;
};

}  // namespace herald::push
