#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "boost/asio/buffer.hpp"

namespace herald::push {

// The record layer of a TlsSession once its handshake is done: OpenSSL's
// (OpenSslTransport) or herald's own TLS 1.3 records (Tls13RecordTransport),
// chosen once when the handshake ends. It reads and writes the socket
// directly, non-blocking; when the socket would block it asks its session,
// through Waits, for a readiness wait, after which the session retries the
// operation (TryRead, TryWrite).
//
// Thread: owned by one TlsSession, used on its Worker's I/O thread only.
class TlsTransport {
 public:
  enum class Step { kDone, kWaiting, kFailed };
  using WriteBuffers = std::span<const boost::asio::const_buffer>;

  // What a transport asks of its session. A wait or a yield pumps the
  // session again, which retries every pending operation.
  class Waits {
   public:
    virtual void WaitReadable() = 0;
    virtual void WaitWritable() = 0;
    virtual bool waiting_writable() const = 0;
    // Retries the read from a post: the next read turn waits its turn.
    virtual void YieldRead() = 0;

   protected:
    ~Waits() = default;
  };

  virtual ~TlsTransport() = default;

  // Makes `buffers` (`size` bytes in all, valid until the write is done or
  // abandoned) the pending write; TryWrite sends it.
  virtual void BeginWrite(WriteBuffers buffers, size_t size) = 0;
  // Sends what it can of the pending write and of the transport's own
  // records; kDone once all of them are sent.
  virtual Step TryWrite() = 0;
  // A write is pending (BeginWrite, until TryWrite's kDone).
  virtual bool write_pending() const = 0;
  // The pending write's size.
  virtual size_t write_size() const = 0;
  // A write is pending or records of the transport's own wait to be sent.
  virtual bool HasOutput() const = 0;
  // Forgets the pending write (it failed).
  virtual void AbandonWrite() = 0;
  // Reads into data[0, size); on kDone `size` is set to the bytes read.
  virtual Step TryRead(uint8_t* data, size_t& size) = 0;
  // Bytes of the pending write not yet taken, and records of its own not
  // yet sent: what the kernel has not taken.
  virtual size_t UnsentBytes() const = 0;
  // State of the transport's own that a write reads besides this object
  // (a fan-out prefetches it: Connection::PrefetchTransport); null if none.
  virtual const void* SendState() const = 0;
  // Sends close_notify (before the session's FIN).
  virtual void ShutdownSend() = 0;
  // The socket closes next: a best-effort final alert that never waits,
  // then every send buffer is freed and nothing more is sent.
  virtual void Close() = 0;
};

}  // namespace herald::push
