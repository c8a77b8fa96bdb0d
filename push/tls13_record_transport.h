#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "push/tls13_records.h"
#include "push/tls_transport.h"

namespace herald::push {

// Herald's own TLS 1.3 records (Tls13Records) after OpenSSL's handshake:
// an idle connection keeps its traffic keys and nothing else, and each
// write is sealed straight into the bytes handed to send(). A read turn
// does at most one socket read, then delivers data or yields to other
// connections; reading pauses while sealed bytes wait for the socket. One
// pending KeyUpdate answer; a bad record ends with its fatal alert instead
// of close_notify. The pending write is sealed one 16 KiB record at a time.
//
// Thread: owned by one TlsSession, used on its Worker's I/O thread only.
class Tls13RecordTransport final : public TlsTransport {
 public:
  Tls13RecordTransport(std::unique_ptr<Tls13Records> records, int fd,
                       Waits& waits);
  Tls13RecordTransport(const Tls13RecordTransport&) = delete;
  Tls13RecordTransport& operator=(const Tls13RecordTransport&) = delete;

  void BeginWrite(WriteBuffers buffers, size_t size) override;
  Step TryWrite() override;
  bool write_pending() const override { return write_pending_; }
  size_t write_size() const override { return write_size_; }
  bool HasOutput() const override {
    return write_pending_ || tx_off_ < tx_.size();
  }
  void AbandonWrite() override { write_pending_ = false; }
  Step TryRead(uint8_t* data, size_t& size) override;
  size_t UnsentBytes() const override;
  const void* SendState() const override { return records_.get(); }
  void ShutdownSend() override;
  void Close() override;

 private:
  Step DeliverPlain(uint8_t* data, size_t& size);
  // Opens rx_ + in[0, size); a bad record or the peer's alert ends rx.
  void OpenRecords(const uint8_t* in, size_t size);
  // Seals the KeyUpdate the peer asked for once nothing queued precedes
  // it; false if the connection must end.
  bool MaybeAnswerKeyUpdate();
  // Seals the pending write's next record (at most 16 KiB of it) and sends
  // it; what the socket refuses of it stays in tx_.
  Step SealAndSendRecord();
  // Sends tx_; kDone once it is empty.
  Step FlushTx();

  const std::unique_ptr<Tls13Records> records_;
  const int fd_;
  Waits& waits_;
  // Ciphertext of an incomplete record received, opened bytes not yet read
  // (from plain_off_), sealed bytes not yet sent (from tx_off_). Each is
  // empty, with no heap block, while idle.
  std::string rx_;
  std::string plain_;
  size_t plain_off_ = 0;
  std::string tx_;
  size_t tx_off_ = 0;
  bool rx_closed_ = false;          // close_notify, EOF or a bad record
  bool close_notify_sent_ = false;  // or nothing more may be sent
  // A bad record: the alert sent instead of close_notify.
  std::optional<Tls13Records::Alert> fatal_alert_;
  bool write_pending_ = false;
  WriteBuffers write_buffers_;  // the pending write's frames
  // The pending write is sealed one record at a time, the next only once
  // the previous one is all sent, so a peer that does not read costs at
  // most one record here. Position of the first byte not yet sealed:
  // write_done_ bytes in, at write_piece_/write_piece_off_.
  size_t write_piece_ = 0;
  size_t write_piece_off_ = 0;
  size_t write_size_ = 0;
  size_t write_done_ = 0;
};

}  // namespace herald::push
