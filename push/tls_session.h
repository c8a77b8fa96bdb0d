#pragma once

#include <openssl/ssl.h>

#include "boost/asio/ip/tcp.hpp"
#include "push/connection.h"

namespace herald::push {

// A Connection over TLS, with OpenSSL reading and writing the socket
// directly (no intermediate buffers of our own; with SSL_MODE_RELEASE_BUFFERS
// an idle connection holds no record buffers at all). Asio only waits for
// readiness; each pending operation (handshake, read, write) is retried
// when the socket becomes readable or writable, as OpenSSL asks.
//
// Thread: its Worker's I/O thread, like Connection.
class TlsSession final : public Connection {
 public:
  TlsSession(Worker& worker, Kind kind, boost::asio::ip::tcp::socket socket,
             SSL_CTX* ctx);
  ~TlsSession() override;

 protected:
  void AsyncTransportHandshake() override;
  void AsyncReadSome(uint8_t* data, size_t size) override;
  void AsyncWrite(const char* data, size_t size) override;
  void ShutdownSend() override;
  void CloseSocket() override;

 private:
  enum class Step { kDone, kWaiting, kFailed };

  // Retries every pending operation; called after a readiness wait.
  void Pump();
  Step TryHandshake();
  Step TryRead();
  Step TryWrite();
  // Classifies a failed SSL call: arms the wait OpenSSL asks for, or fails.
  Step Blocked(int ret);
  void WaitReadable();
  void WaitWritable();
  // One readiness wait at a time per direction; `waiting` is its flag.
  void Wait(boost::asio::socket_base::wait_type type, bool& waiting);
  void FailAll(boost::system::error_code ec);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_;
  bool handshake_pending_ = false;
  bool read_pending_ = false;
  bool write_pending_ = false;
  bool waiting_readable_ = false;
  bool waiting_writable_ = false;
  bool closed_ = false;
  uint8_t* read_data_ = nullptr;
  size_t read_size_ = 0;
  const char* write_data_ = nullptr;
  size_t write_size_ = 0;
  size_t write_done_ = 0;
};

}  // namespace herald::push
