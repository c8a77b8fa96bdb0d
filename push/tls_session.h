#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "boost/asio/ip/tcp.hpp"
#include "push/connection.h"
#include "push/tls13_records.h"
#include "push/tls13_secrets.h"

namespace herald::push {

// A Connection over TLS. OpenSSL does the handshake on the socket directly.
// For TLS 1.3 with an AEAD Tls13Records implements (every current client),
// the SSL object is then freed and herald protects the records itself: an
// idle connection keeps its traffic keys and nothing else, and each write
// is sealed straight into the bytes handed to send(). Otherwise (TLS 1.2,
// or `own_records` off) OpenSSL keeps reading and writing the socket, with
// SSL_MODE_RELEASE_BUFFERS so idle connections hold no record buffers.
// Asio only waits for readiness; each pending operation (handshake, read,
// write) is retried when the socket becomes readable or writable.
//
// Thread: its Worker's I/O thread, like Connection.
class TlsSession final : public Connection {
 public:
  TlsSession(Worker& worker, Kind kind, boost::asio::ip::tcp::socket socket,
             SSL_CTX* ctx, bool own_records);
  ~TlsSession() override;

 protected:
  void AsyncTransportHandshake() override;
  void AsyncReadSome(uint8_t* data, size_t size) override;
  WriteStart StartWrite(WriteBuffers buffers, size_t size) override;
  size_t UnsentBytes() const override;
  void ShutdownSend() override;
  int SocketFd() override { return socket_.native_handle(); }
  void CloseSocket() override;

 private:
  enum class Step { kDone, kWaiting, kFailed };

  // Retries every pending operation; called after a readiness wait.
  void Pump();
  Step TryHandshake();
  // After the handshake: hands the records to Tls13Records when it can.
  void MaybeTakeOverRecords();
  Step TryRead();
  Step TryWrite();
  // The same, when herald does the records. A read turn does at most one
  // socket read, then delivers data or yields to other connections.
  Step TryRecordRead();
  Step DeliverPlain();
  // Opens rx_ + in[0, size); a bad record or the peer's alert ends rx.
  void OpenRecords(const uint8_t* in, size_t size);
  // Seals the KeyUpdate the peer asked for once nothing queued precedes
  // it; false if the connection must end.
  bool MaybeAnswerKeyUpdate();
  // Pumps again from a post: the next read turn waits its turn.
  void YieldRead();
  Step TryRecordWrite();
  // Seals the pending write's next record (at most 16 KiB of it) and sends
  // it; what the socket refuses of it stays in tx_.
  Step SealAndSendRecord();
  // Sends tx_; kDone once it is empty.
  Step FlushTx();
  // Classifies a failed SSL call: arms the wait OpenSSL asks for, or fails.
  Step Blocked(int ret);
  void WaitReadable();
  void WaitWritable();
  // One readiness wait at a time per direction; `waiting` is its flag.
  void Wait(boost::asio::socket_base::wait_type type, bool& waiting);
  void FailAll(boost::system::error_code ec);

  // Creates ssl_ once the client's first bytes arrived and look like a TLS
  // handshake record; kWaiting until bytes arrive, kFailed on EOF/garbage.
  Step CreateSslOnFirstBytes();

  boost::asio::ip::tcp::socket socket_;
  SSL_CTX* const ctx_;
  const bool own_records_;
  // Created when the ClientHello starts arriving (a silent socket costs no
  // OpenSSL state); kept until the handshake ends, or for good if OpenSSL
  // keeps the records.
  SSL* ssl_ = nullptr;
  // Captured during the handshake when herald may take the records over.
  std::unique_ptr<Tls13Secrets> secrets_;
  std::unique_ptr<Tls13Records> records_;
  // Herald's records: ciphertext of an incomplete record received, opened
  // bytes not yet read (from plain_off_), sealed bytes not yet sent (from
  // tx_off_). Each is empty, with no heap block, while idle.
  std::string rx_;
  std::string plain_;
  size_t plain_off_ = 0;
  std::string tx_;
  size_t tx_off_ = 0;
  bool rx_closed_ = false;          // close_notify, EOF or a bad record
  bool close_notify_sent_ = false;  // or nothing more may be sent
  // A bad record: the alert sent instead of close_notify.
  std::optional<Tls13Records::Alert> fatal_alert_;
  bool read_yield_posted_ = false;
  bool handshake_pending_ = false;
  bool read_pending_ = false;
  bool write_pending_ = false;
  bool waiting_readable_ = false;
  bool waiting_writable_ = false;
  bool closed_ = false;
  uint8_t* read_data_ = nullptr;
  size_t read_size_ = 0;
  WriteBuffers write_buffers_;  // the pending write's frames
  // Herald's records: the pending write is sealed one record at a time,
  // the next only once the previous one is all sent, so a peer that does
  // not read costs at most one record here. Position of the first byte
  // not yet sealed: write_done_ bytes in, at write_piece_/write_piece_off_.
  size_t write_piece_ = 0;
  size_t write_piece_off_ = 0;
  std::string ssl_write_buf_;  // ... gathered, when OpenSSL writes
  const char* write_data_ = nullptr;
  size_t write_size_ = 0;
  size_t write_done_ = 0;
};

}  // namespace herald::push
