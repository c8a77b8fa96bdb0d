#include "push/tls_session.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "boost/asio/error.hpp"
#include "boost/asio/post.hpp"

namespace herald::push {
namespace asio = boost::asio;

namespace {

// Per-thread scratch for herald's records: one socket read (a few whole
// records), and the records of one write before send() takes them.
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

TlsSession::TlsSession(Worker& worker, Kind kind, asio::ip::tcp::socket socket,
                       SSL_CTX* ctx, bool own_records)
    : Connection(worker, kind),
      socket_(std::move(socket)),
      ctx_(ctx),
      own_records_(own_records) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void TlsSession::AsyncTransportHandshake() {
  handshake_pending_ = true;
  // Completions always run from a wait or a post, never inline.
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), this] { Pump(); });
}

TlsSession::Step TlsSession::CreateSslOnFirstBytes() {
  uint8_t first = 0;
  const ssize_t got =
      ::recv(socket_.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    WaitReadable();  // after EAGAIN, so the next edge wakes us
    return Step::kWaiting;
  }
  // EOF, an error, or not a handshake record (22): no TLS client.
  if (got <= 0 || first != 22) return Step::kFailed;
  ssl_ = SSL_new(ctx_);
  if (ssl_ == nullptr) return Step::kFailed;
  SSL_set_fd(ssl_, socket_.native_handle());
  SSL_set_accept_state(ssl_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE |
                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  if (own_records_) {
    secrets_ = std::make_unique<Tls13Secrets>();
    Tls13Secrets::Attach(ssl_, secrets_.get());
  }
  return Step::kDone;
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
  write_pending_ = true;
  write_buffers_ = buffers;
  write_size_ = size;
  write_done_ = 0;
  write_piece_ = 0;
  write_piece_off_ = 0;
  if (!records_) {
    // OpenSSL writes one contiguous buffer: gather the frames first.
    ssl_write_buf_.clear();
    for (const auto& b : buffers) {
      ssl_write_buf_.append(static_cast<const char*>(b.data()), b.size());
    }
    write_data_ = ssl_write_buf_.data();
  }
  // Writing right away saves a wait: the socket is almost always writable.
  const Step step = records_ ? TryRecordWrite() : TryWrite();
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
    switch (TryHandshake()) {
      case Step::kDone:
        handshake_pending_ = false;
        MaybeTakeOverRecords();
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
  const bool tx_queued = records_ && tx_off_ < tx_.size();
  if ((write_pending_ || tx_queued) && !waiting_writable_) {
    const bool app_write = write_pending_;
    const size_t size = write_size_;
    switch (records_ ? TryRecordWrite() : TryWrite()) {
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
    switch (records_ ? TryRecordRead() : TryRead()) {
      case Step::kDone:
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

TlsSession::Step TlsSession::TryHandshake() {
  if (ssl_ == nullptr) {
    const Step step = CreateSslOnFirstBytes();
    if (step != Step::kDone) return step;
  }
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return Step::kDone;
  return Blocked(r);
}

void TlsSession::MaybeTakeOverRecords() {
  if (!secrets_) return;
  Tls13Secrets::Attach(ssl_, nullptr);
  // OpenSSL reads records exactly (no read-ahead) and has sent its session
  // ticket (counted in secrets_) before the handshake completes, so it then
  // holds no bytes of ours in either direction; SSL_has_pending proves the
  // read side.
  if (SSL_version(ssl_) == TLS1_3_VERSION && SSL_has_pending(ssl_) == 0) {
    records_ = Tls13Records::Create(SSL_get_current_cipher(ssl_), *secrets_);
  }
  secrets_.reset();
  if (records_) {
    SSL_free(ssl_);  // the socket stays open: SSL_set_fd's BIO does not own it
    ssl_ = nullptr;
  }
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
  // Done at once or after waiting: either way an idle connection keeps no
  // large gather buffer.
  if (ssl_write_buf_.capacity() > 4096) std::string().swap(ssl_write_buf_);
  return Step::kDone;
}

TlsSession::Step TlsSession::TryRecordRead() {
  if (plain_off_ < plain_.size()) return DeliverPlain();
  if (rx_closed_) return Step::kFailed;
  if (!MaybeAnswerKeyUpdate()) return Step::kFailed;
  if (tx_off_ < tx_.size()) {
    // The socket refused sealed bytes: a peer that does not take what we
    // owe it is not read (its requests would only queue more answers) until
    // it does; the writable wait pumps the read again. Its kernel send
    // buffer is the high watermark.
    WaitWritable();
    return Step::kWaiting;
  }
  uint8_t* scratch = ReadScratch();
  ssize_t got;
  do {
    got = ::read(socket_.native_handle(), scratch, kReadScratchBytes);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WaitReadable();
      return Step::kWaiting;
    }
    return Step::kFailed;
  }
  if (got == 0) {  // EOF without close_notify: the stream ends here
    rx_closed_ = true;
    return Step::kFailed;
  }
  OpenRecords(scratch, static_cast<size_t>(got));
  if (plain_off_ < plain_.size()) return DeliverPlain();
  if (rx_closed_) return Step::kFailed;
  if (!MaybeAnswerKeyUpdate()) return Step::kFailed;
  // Records that carried no data (KeyUpdates, empty records, alerts, part
  // of a record): one socket read per turn, then the worker serves others.
  YieldRead();
  return Step::kWaiting;
}

TlsSession::Step TlsSession::DeliverPlain() {
  const size_t n = std::min(read_size_, plain_.size() - plain_off_);
  std::memcpy(read_data_, plain_.data() + plain_off_, n);
  plain_off_ += n;
  if (plain_off_ == plain_.size()) {
    Release(plain_);
    plain_off_ = 0;
  }
  read_pending_ = false;
  read_size_ = n;
  return Step::kDone;
}

void TlsSession::OpenRecords(const uint8_t* scratch, size_t size) {
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

bool TlsSession::MaybeAnswerKeyUpdate() {
  // Sealed once nothing queued is ahead of it; until then further requests
  // share it, and a write seals it in front of its own records.
  if (!records_->key_update_owed() || close_notify_sent_ ||
      tx_off_ < tx_.size()) {
    return true;
  }
  Release(tx_);
  tx_off_ = 0;
  if (!records_->AnswerKeyUpdate(tx_)) return false;
  return waiting_writable_ || FlushTx() != Step::kFailed;
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
  // The pending write's bytes not yet sealed (herald's records) or not yet
  // taken by SSL_write (OpenSSL's), and the sealed records not yet sent.
  const size_t write = write_pending_ ? write_size_ - write_done_ : 0;
  return write + (tx_.size() - tx_off_);
}

TlsSession::Step TlsSession::TryRecordWrite() {
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

TlsSession::Step TlsSession::SealAndSendRecord() {
  constexpr size_t kRecordPlaintext = size_t{1} << 14;
  // The next record's pieces: views of the frames, sealed where they lie.
  std::array<asio::const_buffer, 2 * 64> pieces;
  size_t count = 0;
  size_t size = 0;
  size_t piece = write_piece_;
  size_t off = write_piece_off_;
  while (size < kRecordPlaintext && piece < write_buffers_.size() &&
         count < pieces.size()) {
    const asio::const_buffer b = write_buffers_[piece] + off;
    const size_t take = std::min(b.size(), kRecordPlaintext - size);
    pieces[count++] = asio::const_buffer(b.data(), take);
    size += take;
    if (take == b.size()) {
      ++piece;
      off = 0;
    } else {
      off += take;
    }
  }
  uint8_t* scratch = WriteScratch(Tls13Records::MaxSealedBytes(size));
  const size_t sealed = records_->SealAppDataInto(
      std::span<const asio::const_buffer>(pieces.data(), count), size, scratch);
  if (sealed == 0) return Step::kFailed;
  write_piece_ = piece;
  write_piece_off_ = off;
  write_done_ += size;
  // Sealed into the thread's scratch and sent from there: only what the
  // socket refuses is kept.
  const ssize_t sent =
      ::send(socket_.native_handle(), scratch, sealed, MSG_NOSIGNAL);
  const int error = sent < 0 ? errno : 0;
  if (sent < 0 && error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
    return Step::kFailed;
  }
  const size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
  if (done == sealed) return Step::kDone;
  tx_.assign(reinterpret_cast<const char*>(scratch) + done, sealed - done);
  tx_off_ = 0;
  if (error == EINTR) return Step::kDone;  // FlushTx retries
  WaitWritable();
  return Step::kWaiting;
}

TlsSession::Step TlsSession::FlushTx() {
  const int fd = socket_.native_handle();
  while (tx_off_ < tx_.size()) {
    const ssize_t sent =
        ::send(fd, tx_.data() + tx_off_, tx_.size() - tx_off_, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WaitWritable();
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
  if (records_) {
    if (!close_notify_sent_) {
      close_notify_sent_ = true;
      // Behind anything still queued; never waits: what the socket does
      // not take now is dropped, as the FIN follows at once.
      if (records_->SealCloseNotify(tx_)) FlushTx();
      Release(tx_);
      tx_off_ = 0;
    }
  } else if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // sends close_notify; the peer's is read as EOF
  }
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void TlsSession::CloseSocket() {
  if (closed_) return;
  closed_ = true;
  if (records_) {
    if (!close_notify_sent_ && tx_off_ == tx_.size()) {
      close_notify_sent_ = true;
      std::string alert;
      // A bad record ends with its fatal alert instead (RFC 8446 §6.2).
      if (fatal_alert_ ? records_->SealFatalAlert(*fatal_alert_, alert)
                       : records_->SealCloseNotify(alert)) {
        // Best effort and never waits: the socket closes right after.
        (void)::send(socket_.native_handle(), alert.data(), alert.size(),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
  } else if (ssl_ != nullptr && SSL_is_init_finished(ssl_) &&
             (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // best effort close_notify; never waits
  }
  // Nothing more is sent: free the send side's buffers now.
  Release(tx_);
  tx_off_ = 0;
  std::string().swap(ssl_write_buf_);
  write_pending_ = false;
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace herald::push
