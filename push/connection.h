#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/system/error_code.hpp"
#include "push/client_frame_parser.h"
#include "push/connection_id.h"
#include "push/gate.h"
#include "push/http_upgrade.h"
#include "push/send_queue.h"
#include "push/worker_stats.h"
#include "push/ws_frame.h"

namespace herald::push {

class Worker;
namespace internal {
template <typename Admission>
class AdmissionCall;  // connection.cc: carries a gate's answer
}  // namespace internal

// One client WebSocket connection, main or voice: the upgrade, admission,
// the bounded send queue (one write in flight, every pending frame gathered
// into it), pings and the close handshake. The stream-specific subclass
// (PlainSession, TlsSession) supplies the transport's I/O primitives.
//
// Thread: lives on its Worker's I/O thread for its whole life; every method
// is called there (a gate answering from another thread posts its answer
// there).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class Kind { kMain, kVoice };
  using Request = HttpUpgrade::Request;

  Connection(Worker& worker, Kind kind);
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Begins the TLS and WebSocket handshakes.
  void Start();

  // How Send starts the write of a frame it queued.
  enum class SendMode {
    // From the worker's next flush (Worker::ScheduleFlush): frames sent
    // meanwhile leave in the same write.
    kDeferred,
    // At once when nothing is queued or being written (the frame goes
    // alone, straight from its shared buffer); else as kDeferred.
    kNow,
  };
  // Queues `frame` unless the connection is closing, and starts its write
  // as `mode` says. A connection whose held bytes (HeldBytes) would exceed
  // max_queue_bytes is closed with 4008 instead (deferred: safe to call
  // while iterating the worker's indices, in either mode).
  void Send(const Frame& frame, SendMode mode = SendMode::kDeferred);

  // Hints for a fan-out loop, which asks for its next recipients while it
  // serves this one (with thousands of connections each is a cache miss
  // otherwise). PrefetchState: the lines Send reads first (the state, the
  // flags, the queue), without reading any of them. PrefetchTransport: the
  // transport's state a write starts with; it reads this object, so it is
  // for a recipient whose PrefetchState was issued a while ago.
  void PrefetchState() const { PrefetchHead(this); }
  void PrefetchTransport() const {
    for (const void* hot : send_hot_) {
      if (hot == nullptr) return;
      PrefetchHead(hot);
    }
  }

  // Every byte held for this connection that the kernel has not taken:
  // the frames queued, and what the transport has not yet sent of the
  // write in flight and of its own records (UnsentBytes). This is what
  // max_queue_bytes bounds.
  size_t HeldBytes() const { return queue_.queued_bytes() + UnsentBytes(); }

  // Writes what Send queued; called by the worker's flush.
  void FlushDeferred();

  // Sends a close frame after every undelivered frame, and ends the
  // connection (in the handshake: the socket just closes).
  void Close(uint16_t code, std::string_view reason);
  // The same, dropping the undelivered frames: the close frame goes next.
  void CloseDiscarding(uint16_t code, std::string_view reason);

  // Called by the worker every ping interval: pings, or closes a connection
  // that has been silent since the previous ping.
  void PingTick();

  ConnectionId id() const { return id_; }
  Kind kind() const { return kind_; }
  int64_t user_id() const { return user_id_; }
  // The Gate's session key of the admission (not the token).
  const std::string& token() const { return token_; }
  bool admitted() const { return registered_; }
  // The client's address and port (port 0: unknown), for the logs.
  const boost::asio::ip::tcp::endpoint& peer() const { return peer_; }
  // Still in the TLS or HTTP handshake (may be evicted under a flood).
  bool handshaking() const { return state_ == State::kHandshake; }
  // ws, or wss with its TLS version (known once the handshake is done).
  virtual Transport transport() const { return Transport::kWs; }
  // Servers this main connection is subscribed to (kept by the worker).
  absl::flat_hash_set<int64_t>& servers() { return servers_; }
  // When it was admitted, and (voice) the channel it was admitted to.
  std::chrono::system_clock::time_point admitted_at() const {
    return admitted_at_;
  }
  int64_t channel_id() const { return channel_id_; }

 protected:
  // I/O primitives of the transport; each completes by calling the
  // matching On* method below, on this connection's thread, never from
  // inside the call that started it.
  virtual void AsyncTransportHandshake() = 0;  // TLS, or nothing
  virtual void AsyncReadSome(uint8_t* data, size_t size) = 0;
  // The bytes of one write: the frames it gathers, in order, `size` in all.
  // They stay valid (owned by the connection) until the write completes.
  using WriteBuffers = std::span<const boost::asio::const_buffer>;
  // Starts writing all of `buffers`. kDone: it was all written at once and
  // no OnWrite follows; kPending: OnWrite follows when it is written.
  enum class WriteStart { kDone, kPending };
  virtual WriteStart StartWrite(WriteBuffers buffers, size_t size) = 0;
  // Bytes the transport holds that the kernel has not taken yet: the
  // unsent part of the write in flight (plaintext not yet sealed, records
  // sealed but not sent) and any records of its own. The default counts
  // the whole write in flight until OnWrite.
  virtual size_t UnsentBytes() const { return queue_.in_flight_bytes(); }
  // Ends the sending direction (TLS close_notify, then TCP FIN), keeping
  // the socket open so the peer's last bytes are read, not reset.
  virtual void ShutdownSend() = 0;
  // The socket's descriptor, for options set on it; -1 if none.
  virtual int SocketFd() { return -1; }
  // The subclass's state its StartWrite reads first (its socket; with TLS
  // also the record state a seal reads), for PrefetchTransport: up to
  // kSendHotObjects addresses, 256 bytes from each, null after the last;
  // set once, when the transport is ready.
  static constexpr size_t kSendHotObjects = 3;
  using SendHot = std::array<const void*, kSendHotObjects>;
  void set_send_hot(const SendHot& hot) { send_hot_ = hot; }
  virtual void CloseSocket() = 0;

  void OnTransportReady(boost::system::error_code ec);
  void OnRead(boost::system::error_code ec, size_t n);
  void OnWrite(boost::system::error_code ec, size_t n);

  // Handles a complete upgrade request; `leftover`: bytes the client sent
  // after it. Public to tests through subclasses.
  void OnRequest(const Request& request, std::string_view leftover);

  Worker& worker_;

 private:
  template <typename Admission>
  friend class internal::AdmissionCall;

  // The connection's life, the close handshake spelled out:
  //   kHandshake -> kAdmitting (upgrade accepted, the gate asked)
  //              | kOpen (refused before asking) | kRejecting (HTTP error)
  //              | kClosed
  //   kAdmitting -> kOpen (the 101 queued: the gate answered, it timed
  //              out or the server closes) | kClosed
  //   kOpen -> kClosing (our close frame queued)
  //         -> kClosingPeerClosed (ours queued, the peer's arrived first)
  //   kClosing -> kCloseSent (ours written) | kClosingPeerClosed
  //   kRejecting, kClosingPeerClosed (all written), kCloseSent (the
  //   peer's arrives) -> kDraining
  //   any -> kClosed (error, timeout)
  // kDraining: both close frames are through (or the HTTP error response
  // is written); our side of the transport is shut and the socket waits
  // for the peer's EOF (or the close timer).
  enum class State {
    kHandshake,
    kAdmitting,  // the 101 is held until the gate answers
    kOpen,
    kRejecting,          // an HTTP error response is in flight
    kClosing,            // our close frame is queued
    kClosingPeerClosed,  // ... and the peer's arrived
    kCloseSent,          // ours is fully written; awaiting the peer's
    kDraining,
    kClosed,
  };

  void OnRequestBytes(size_t n);

  void RejectHttp(std::string response);
  // Admits or refuses the target; the 101 response goes out once that is
  // decided, so a client that has its 101 is registered (or refused next).
  void AcceptUpgrade(HttpUpgrade::Outcome outcome);
  // Asks the gate; its answer may come inline or later from any thread
  // (push/gate.h). Until then (kAdmitting) nothing is written and client
  // bytes are only buffered, not parsed (the peer's EOF still ends it);
  // after handshake_timeout the 101 goes out, then a 1013 close.
  void Admit(HttpUpgrade::Target target);
  // Leaves kAdmitting for kOpen: queues the held 101 response.
  void SendUpgradeResponse();
  // The gate's answer, on this connection's thread while the admission is
  // still pending (a connection that closed meanwhile never gets it: see
  // AdmissionCall in connection.cc).
  void OnMainAnswer(std::variant<MainAdmission, Refusal> answer);
  void OnVoiceAnswer(std::variant<VoiceAdmission, Refusal> answer);
  // The answers once the 101 is queued: registers, or refuses.
  void ApplyMainAnswer(std::variant<MainAdmission, Refusal> answer);
  void ApplyVoiceAnswer(std::variant<VoiceAdmission, Refusal> answer);
  // `token`: what the client presented (its hash is logged), if any.
  void Refuse(uint16_t code, std::string_view reason,
              std::string_view token = {});
  // Leaves kOpen for kClosing; false (and nothing done) if not open. In the
  // handshake the connection is torn down instead.
  bool BeginClose();
  void QueueCloseFrame(uint16_t code, std::string_view reason);
  // The peer's close frame arrived, or a protocol error ended its side.
  void OnPeerClosed();
  // Asks for the first 256 bytes (four cache lines) at `p`.
  static void PrefetchHead(const void* p) {
    const char* c = static_cast<const char*>(p);
    __builtin_prefetch(c);
    __builtin_prefetch(c + 64);
    __builtin_prefetch(c + 128);
    __builtin_prefetch(c + 192);
  }
  // A closing state: the close timer ends it.
  bool closing() const;
  void QueueRaw(Frame frame);
  void MaybeWrite();
  void ReadMore();
  // Parses the client's buffered bytes, then reads on (unless a read is
  // already in flight).
  void ProcessInput();
  // Drops the buffered client bytes (a read in flight still lands after
  // them).
  void DiscardInput();
  void LimitSendBuffer();
  void ArmTimer(std::chrono::milliseconds after);
  void OnTimer();
  void Unregister();
  void Drain();     // graceful end: shut down sending, await the peer's EOF
  void Teardown();  // immediate end

  const Kind kind_;
  const ConnectionId id_;
  SendHot send_hot_{};
  State state_ = State::kHandshake;
  bool registered_ = false;
  // Asked the gate, no answer yet (only ever once, in kAdmitting); cleared by
  // the answer or when the connection closes, which then drops the answer.
  bool admitting_ = false;
  bool counted_admitted_ = false;
  bool counted_user_ = false;     // in the per-user quota
  bool flush_scheduled_ = false;  // in the worker's flush list
  bool reading_ = false;
  // Over the queue limit: a CloseDiscarding is posted, and the heap is
  // trimmed after the connection ends.
  bool slow_ = false;
  bool activity_ = true;  // bytes arrived since the last ping tick
  bool ping_outstanding_ = false;

  // Send side: frames waiting and the write in flight. Beside the state and
  // flags, so a delivery touches the fewest cache lines (PrefetchState).
  SendQueue queue_;

  int64_t user_id_ = 0;
  int64_t channel_id_ = 0;  // voice only
  std::chrono::system_clock::time_point admitted_at_;
  boost::asio::ip::tcp::endpoint peer_;
  std::string token_;  // Admission::session_key
  // While admitting_: the token the client presented, for a refusal's
  // token_hash; cleared as soon as the gate answers.
  std::string presented_token_;
  absl::flat_hash_set<int64_t> servers_;

  // Receive side: a small buffer; data payloads are skipped, not stored.
  static constexpr size_t kReadBufferSize = 256;
  std::array<uint8_t, kReadBufferSize> read_buf_;
  size_t read_have_ = 0;
  // Bytes before this were parsed; only nonzero while a read is in flight
  // (the buffer is compacted when none is).
  size_t read_start_ = 0;
  ClientFrameParser parser_;
  std::unique_ptr<HttpUpgrade> http_;  // while the request arrives
  Frame upgrade_response_;             // the 101, held in kAdmitting

  boost::asio::steady_timer timer_;
};

}  // namespace herald::push
