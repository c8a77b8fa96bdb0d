#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>

#include "boost/asio/ip/tcp.hpp"
#include "push/connection.h"
#include "push/tls_handshake.h"
#include "push/tls_transport.h"

namespace herald::push {

// A Connection over TLS: the TlsHandshake, then the TlsTransport it chose
// once for the records (herald's TLS 1.3 records, or OpenSSL's). Asio only
// waits for readiness; each pending operation (handshake, read, write) is
// retried when the socket becomes readable or writable.
//
// Thread: its Worker's I/O thread, like Connection.
class TlsSession final : public Connection, private TlsTransport::Waits {
 public:
  TlsSession(Worker& worker, Kind kind, boost::asio::ip::tcp::socket socket,
             std::shared_ptr<SSL_CTX> ctx, bool own_records);

  Transport transport() const override { return transport_kind_; }

 protected:
  void AsyncTransportHandshake() override;
  void AsyncReadSome(uint8_t* data, size_t size) override;
  WriteStart StartWrite(WriteBuffers buffers, size_t size) override;
  size_t UnsentBytes() const override;
  void ShutdownSend() override;
  int SocketFd() override { return socket_.native_handle(); }
  void CloseSocket() override;

 private:
  using Step = TlsTransport::Step;

  // Retries every pending operation; called after a readiness wait.
  void Pump();
  // TlsTransport::Waits.
  void WaitReadable() override;
  void WaitWritable() override;
  bool waiting_writable() const override { return waiting_writable_; }
  void YieldRead() override;
  // One readiness wait at a time per direction; `waiting` is its flag.
  void Wait(boost::asio::socket_base::wait_type type, bool& waiting);
  void FailAll(boost::system::error_code ec);

  boost::asio::ip::tcp::socket socket_;
  // Until the handshake succeeds.
  std::optional<TlsHandshake> handshake_;
  // From then on.
  std::unique_ptr<TlsTransport> transport_;
  Transport transport_kind_ = Transport::kWssTls13;  // set by the handshake
  bool read_yield_posted_ = false;
  bool handshake_pending_ = false;
  bool read_pending_ = false;
  bool waiting_readable_ = false;
  bool waiting_writable_ = false;
  bool closed_ = false;
  uint8_t* read_data_ = nullptr;
  size_t read_size_ = 0;
};

}  // namespace herald::push
