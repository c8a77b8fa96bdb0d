#include "push/tls13_record_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <span>

namespace herald::push {
namespace asio = boost::asio;

namespace {

// Per-thread scratch: one socket read (a few whole records), and the
// records of one write before send() takes them.
constexpr size_t kReadScratchBytes = 4 * Tls13Records::kMaxRecordBytes;
uint8_t* ReadScratch() {
  thread_local std::unique_ptr<uint8_t[]> buffer(
      new uint8_t[kReadScratchBytes]);
  return buffer.get();
}

// Room for `size` bytes, kept for the thread's later writes (never
// zero-filled: records are sealed straight into it).
uint8_t* WriteScratch(size_t size) {
  thread_local std::unique_ptr<uint8_t[]> buffer;
  thread_local size_t capacity = 0;
  if (size > capacity) {
    capacity = std::max(size, 2 * capacity);
    buffer.reset(new uint8_t[capacity]);
  }
  return buffer.get();
}

// Drops a string's heap block once it is empty (idle connections keep none).
void Release(std::string& s) {
  if (s.capacity() > 64) std::string().swap(s);
  s.clear();
}

}  // namespace

Tls13RecordTransport::Tls13RecordTransport(
    std::unique_ptr<Tls13Records> records, int fd, Waits& waits)
    : records_(std::move(records)), fd_(fd), waits_(waits) {}

void Tls13RecordTransport::BeginWrite(WriteBuffers buffers, size_t size) {
  write_pending_ = true;
  write_buffers_ = buffers;
  write_size_ = size;
  write_done_ = 0;
  write_piece_ = 0;
  write_piece_off_ = 0;
}

TlsTransport::Step Tls13RecordTransport::TryRead(uint8_t* data, size_t& size) {
  if (plain_off_ < plain_.size()) return DeliverPlain(data, size);
  if (rx_closed_) return Step::kFailed;
  if (!MaybeAnswerKeyUpdate()) return Step::kFailed;
  if (tx_off_ < tx_.size()) {
    // The socket refused sealed bytes: a peer that does not take what we
    // owe it is not read (its requests would only queue more answers) until
    // it does; the writable wait pumps the read again. Its kernel send
    // buffer is the high watermark.
    waits_.WaitWritable();
    return Step::kWaiting;
  }
  uint8_t* scratch = ReadScratch();
  ssize_t got;
  do {
    got = ::read(fd_, scratch, kReadScratchBytes);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      waits_.WaitReadable();
      return Step::kWaiting;
    }
    return Step::kFailed;
  }
  if (got == 0) {  // EOF without close_notify: the stream ends here
    rx_closed_ = true;
    return Step::kFailed;
  }
  OpenRecords(scratch, static_cast<size_t>(got));
  if (plain_off_ < plain_.size()) return DeliverPlain(data, size);
  if (rx_closed_) return Step::kFailed;
  if (!MaybeAnswerKeyUpdate()) return Step::kFailed;
  // Records that carried no data (KeyUpdates, empty records, alerts, part
  // of a record): one socket read per turn, then the worker serves others.
  waits_.YieldRead();
  return Step::kWaiting;
}

TlsTransport::Step Tls13RecordTransport::DeliverPlain(uint8_t* data,
                                                      size_t& size) {
  const size_t n = std::min(size, plain_.size() - plain_off_);
  std::memcpy(data, plain_.data() + plain_off_, n);
  plain_off_ += n;
  if (plain_off_ == plain_.size()) {
    Release(plain_);
    plain_off_ = 0;
  }
  size = n;
  return Step::kDone;
}

void Tls13RecordTransport::OpenRecords(const uint8_t* scratch, size_t size) {
  const uint8_t* in = scratch;
  if (!rx_.empty()) {
    rx_.append(reinterpret_cast<const char*>(scratch), size);
    in = reinterpret_cast<const uint8_t*>(rx_.data());
    size = rx_.size();
  }
  size_t consumed = 0;
  const Tls13Records::OpenStatus status =
      records_->Open(in, size, consumed, plain_);
  if (status != Tls13Records::OpenStatus::kOk) {
    // What came before is still read. A bad record's alert replaces
    // close_notify when the socket closes; after the peer's alert nothing
    // more is sent.
    if (status == Tls13Records::OpenStatus::kError) {
      fatal_alert_ = records_->alert();
    } else if (status == Tls13Records::OpenStatus::kPeerAlert) {
      close_notify_sent_ = true;
    }
    rx_closed_ = true;
    Release(rx_);
    return;
  }
  if (in == scratch) {
    rx_.assign(reinterpret_cast<const char*>(in) + consumed, size - consumed);
  } else {
    rx_.erase(0, consumed);
  }
  if (rx_.empty()) Release(rx_);
}

bool Tls13RecordTransport::MaybeAnswerKeyUpdate() {
  // Sealed once nothing queued is ahead of it; until then further requests
  // share it, and a write seals it in front of its own records.
  if (!records_->key_update_owed() || close_notify_sent_ ||
      tx_off_ < tx_.size()) {
    return true;
  }
  Release(tx_);
  tx_off_ = 0;
  if (!records_->AnswerKeyUpdate(tx_)) return false;
  return waits_.waiting_writable() || FlushTx() != Step::kFailed;
}

size_t Tls13RecordTransport::UnsentBytes() const {
  // The pending write's bytes not yet sealed, and the sealed records not
  // yet sent.
  const size_t write = write_pending_ ? write_size_ - write_done_ : 0;
  return write + (tx_.size() - tx_off_);
}

TlsTransport::Step Tls13RecordTransport::TryWrite() {
  for (;;) {
    // Records already sealed (a partly sent one, a KeyUpdate answer) go
    // first; nothing more is sealed while the socket refuses them.
    if (tx_off_ < tx_.size()) {
      const Step step = FlushTx();
      if (step != Step::kDone) return step;
    }
    if (!write_pending_) return Step::kDone;
    if (write_done_ == write_size_) {
      write_pending_ = false;
      return Step::kDone;
    }
    const Step step = SealAndSendRecord();
    if (step != Step::kDone) return step;
  }
}

TlsTransport::Step Tls13RecordTransport::SealAndSendRecord() {
  constexpr size_t kRecordPlaintext = size_t{1} << 14;
  size_t size = write_size_ - write_done_;
  size_t piece = write_piece_;
  size_t off = write_piece_off_;
  uint8_t* scratch = nullptr;
  size_t sealed = 0;
  auto seal = [&](std::span<const asio::const_buffer> pieces) {
    scratch = WriteScratch(Tls13Records::MaxSealedBytes(size));
    sealed = records_->SealAppDataInto(pieces, size, scratch);
  };
  // The next record's pieces: views of the frames, sealed where they lie.
  if (off == 0 && size <= kRecordPlaintext) {
    // What is left starts a frame and fits one record (a lone frame, most
    // often): the frames themselves are the pieces.
    seal(write_buffers_.subspan(piece));
    piece = write_buffers_.size();
  } else {
    std::array<asio::const_buffer, 2 * 64> cut;
    size_t count = 0;
    size = 0;
    while (size < kRecordPlaintext && piece < write_buffers_.size() &&
           count < cut.size()) {
      const asio::const_buffer b = write_buffers_[piece] + off;
      const size_t take = std::min(b.size(), kRecordPlaintext - size);
      cut[count++] = asio::const_buffer(b.data(), take);
      size += take;
      if (take == b.size()) {
        ++piece;
        off = 0;
      } else {
        off += take;
      }
    }
    seal(std::span<const asio::const_buffer>(cut.data(), count));
  }
  if (sealed == 0) return Step::kFailed;
  write_piece_ = piece;
  write_piece_off_ = off;
  write_done_ += size;
  // Sealed into the thread's scratch and sent from there: only what the
  // socket refuses is kept.
  const ssize_t sent = ::send(fd_, scratch, sealed, MSG_NOSIGNAL);
  const int error = sent < 0 ? errno : 0;
  if (sent < 0 && error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
    return Step::kFailed;
  }
  const size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
  if (done == sealed) return Step::kDone;
  tx_.assign(reinterpret_cast<const char*>(scratch) + done, sealed - done);
  tx_off_ = 0;
  if (error == EINTR) return Step::kDone;  // FlushTx retries
  waits_.WaitWritable();
  return Step::kWaiting;
}

TlsTransport::Step Tls13RecordTransport::FlushTx() {
  while (tx_off_ < tx_.size()) {
    const ssize_t sent =
        ::send(fd_, tx_.data() + tx_off_, tx_.size() - tx_off_, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        waits_.WaitWritable();
        return Step::kWaiting;
      }
      return Step::kFailed;
    }
    tx_off_ += static_cast<size_t>(sent);
  }
  Release(tx_);
  tx_off_ = 0;
  return Step::kDone;
}

void Tls13RecordTransport::ShutdownSend() {
  if (close_notify_sent_) return;
  close_notify_sent_ = true;
  // Behind anything still queued; never waits: what the socket does not
  // take now is dropped, as the FIN follows at once.
  if (records_->SealCloseNotify(tx_)) FlushTx();
  Release(tx_);
  tx_off_ = 0;
}

void Tls13RecordTransport::Close() {
  if (!close_notify_sent_ && tx_off_ == tx_.size()) {
    close_notify_sent_ = true;
    std::string alert;
    // A bad record ends with its fatal alert instead (RFC 8446 §6.2).
    if (fatal_alert_ ? records_->SealFatalAlert(*fatal_alert_, alert)
                     : records_->SealCloseNotify(alert)) {
      // Best effort and never waits: the socket closes right after.
      (void)::send(fd_, alert.data(), alert.size(),
                   MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }
  // Nothing more is sent: free the send side's buffers now.
  Release(tx_);
  tx_off_ = 0;
  write_pending_ = false;
}

}  // namespace herald::push
