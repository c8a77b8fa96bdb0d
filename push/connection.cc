#include "push/connection.h"

#include <malloc.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>

#include "boost/asio/post.hpp"
#include "push/close_codes.h"
#include "push/connection_log.h"
#include "push/gate.h"
#include "push/log.h"
#include "push/worker.h"

namespace herald::push {
namespace {

// A connection closed for being too slow held up to max_queue_bytes until
// then, in blocks malloc keeps unless asked. One trim per thread, a second
// after the first such close, returns what a wave of them freed (the
// connections themselves are gone by then).
thread_local bool heap_trim_scheduled = false;
constexpr std::chrono::seconds kHeapTrimDelay{1};

void ScheduleHeapTrim(boost::asio::io_context& io) {
  if (heap_trim_scheduled) return;
  heap_trim_scheduled = true;
  auto timer = std::make_shared<boost::asio::steady_timer>(io, kHeapTrimDelay);
  timer->async_wait([timer](boost::system::error_code) {
    heap_trim_scheduled = false;
    malloc_trim(0);
  });
}

}  // namespace

Connection::Connection(Worker& worker, Kind kind)
    : worker_(worker),
      kind_(kind),
      id_(worker.NextId()),
      parser_(worker.options().max_client_message_bytes),
      timer_(worker.io_context()) {}

Connection::~Connection() = default;

void Connection::Start() {
  if (const int fd = SocketFd(); fd >= 0) {
    socklen_t len = peer_.capacity();
    if (getpeername(fd, peer_.data(), &len) == 0) peer_.resize(len);
  }
  worker_.AddSocket(this);
  LimitSendBuffer();
  ArmTimer(worker_.options().handshake_timeout);
  AsyncTransportHandshake();
}

void Connection::LimitSendBuffer() {
  const size_t bytes = worker_.options().socket_send_buffer_bytes;
  const int fd = SocketFd();
  if (bytes == 0 || fd < 0) return;
  const int value = static_cast<int>(std::min<size_t>(bytes, INT32_MAX / 2));
  // Best effort: the kernel clamps it to net.core.wmem_max.
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, sizeof(value));
}

void Connection::OnTransportReady(boost::system::error_code ec) {
  if (state_ != State::kHandshake) return;
  if (ec) {
    LogDebug("conn ", id_, ": TLS handshake failed: ", ec.message());
    Teardown();
    return;
  }
  http_ =
      std::make_unique<HttpUpgrade>(worker_.options(), kind_ == Kind::kVoice);
  ReadMore();
}

void Connection::OnRequestBytes(size_t n) {
  HttpUpgrade::Outcome out = http_->Feed(
      std::string_view(reinterpret_cast<const char*>(read_buf_.data()), n));
  read_have_ = 0;
  switch (out.kind) {
    case HttpUpgrade::Outcome::Kind::kNeedMore:
      ReadMore();
      return;
    case HttpUpgrade::Outcome::Kind::kReject:
      RejectHttp(std::move(out.response));
      return;
    case HttpUpgrade::Outcome::Kind::kUpgrade: {
      // The leftover points into the request's buffer: keep it alive
      // through the upgrade, then free it all.
      std::unique_ptr<HttpUpgrade> done = std::move(http_);
      AcceptUpgrade(std::move(out));
      return;
    }
  }
}

void Connection::OnRequest(const Request& req, std::string_view leftover) {
  if (state_ != State::kHandshake) return;
  HttpUpgrade::Outcome out =
      HttpUpgrade::Decide(req, worker_.options(), kind_ == Kind::kVoice);
  if (out.kind == HttpUpgrade::Outcome::Kind::kReject) {
    RejectHttp(std::move(out.response));
    return;
  }
  out.leftover = leftover;
  AcceptUpgrade(std::move(out));
}

void Connection::AcceptUpgrade(HttpUpgrade::Outcome out) {
  if (out.leftover.size() > read_buf_.size()) {
    Teardown();
    return;
  }
  std::copy(out.leftover.begin(), out.leftover.end(), read_buf_.begin());
  read_have_ = out.leftover.size();
  state_ = State::kOpen;
  timer_.cancel();
  QueueRaw(std::make_shared<const std::string>(std::move(out.response)));
  Admit(std::move(out.target));
  if (state_ != State::kClosed) OnRead({}, 0);  // parse leftover, read on
}

void Connection::RejectHttp(std::string response) {
  http_.reset();
  LogHttpRejected(*this, response);
  worker_.stats().http_rejected.Add(1);
  state_ = State::kRejecting;
  QueueRaw(std::make_shared<const std::string>(std::move(response)));
}

void Connection::Admit(HttpUpgrade::Target target) {
  if (target.refusal_code != 0) {
    Refuse(target.refusal_code, target.refusal_reason, target.token);
    return;
  }
  if (!worker_.TryCountAdmitted()) {
    Refuse(kCloseTooManyConnections, "too many connections", target.token);
    return;
  }
  counted_admitted_ = true;
  Gate& gate = worker_.gate();
  if (kind_ == Kind::kMain) {
    auto result = gate.AdmitMain(target.token);
    if (auto* refusal = std::get_if<Refusal>(&result)) {
      Refuse(refusal->code, refusal->reason, target.token);
      return;
    }
    auto& admission = std::get<MainAdmission>(result);
    user_id_ = admission.user_id;
    if (!worker_.TryCountUser(user_id_)) {
      Refuse(kCloseTooManyConnections, "too many connections for this user",
             target.token);
      return;
    }
    counted_user_ = true;
    token_ = std::move(admission.session_key);
    registered_ = true;
    worker_.Register(this, admission.server_ids);
  } else {
    auto result = gate.AdmitVoice(target.token, target.channel_id, id_);
    if (auto* refusal = std::get_if<Refusal>(&result)) {
      Refuse(refusal->code, refusal->reason, target.token);
      return;
    }
    auto& admission = std::get<VoiceAdmission>(result);
    user_id_ = admission.user_id;
    channel_id_ = target.channel_id;
    token_ = std::move(admission.session_key);
    registered_ = true;
    worker_.Register(this, {});
  }
  admitted_at_ = std::chrono::system_clock::now();
  LogAdmitted(*this);
}

void Connection::Refuse(uint16_t code, std::string_view reason,
                        std::string_view token) {
  LogRefused(*this, code, reason, token);
  worker_.stats().refused[RefusalSlot(code)].Add(1);
  Close(code, reason);
}

void Connection::Send(const Frame& frame) {
  if (state_ != State::kOpen || slow_) return;
  if (HeldBytes() + frame->size() > worker_.options().max_queue_bytes) {
    slow_ = true;
    LogSlowConsumer(*this, HeldBytes() + frame->size(),
                    worker_.options().max_queue_bytes);
    worker_.stats().slow_consumer_closes.Add(1);
    boost::asio::post(worker_.io_context(), [self = shared_from_this()] {
      self->CloseDiscarding(kCloseTooSlow, "too slow: send queue full");
    });
    return;
  }
  queue_.Push(frame);
  if (!queue_.writing() && !flush_scheduled_) {
    flush_scheduled_ = true;
    worker_.ScheduleFlush(shared_from_this());
  }
}

void Connection::FlushDeferred() {
  flush_scheduled_ = false;
  MaybeWrite();
}

void Connection::QueueRaw(Frame frame) {
  queue_.Push(std::move(frame));
  MaybeWrite();
}

void Connection::MaybeWrite() {
  while (!queue_.writing() && queue_.has_pending() &&
         state_ != State::kClosed) {
    size_t size = 0;
    const SendQueue::Buffers buffers = queue_.TakeBatch(&size);
    if (StartWrite(buffers, size) == WriteStart::kPending) return;
    // All written at once: the common case, with no completion to wait
    // for. A closing connection still takes the completion path, so its
    // state changes never run inside the caller.
    if (state_ != State::kOpen) {
      boost::asio::post(
          worker_.io_context(),
          [self = shared_from_this(), size] { self->OnWrite({}, size); });
      return;
    }
    queue_.WriteDone();
  }
  if (!queue_.writing()) queue_.ReleaseIdle();
}

void Connection::OnWrite(boost::system::error_code ec, size_t) {
  queue_.WriteDone();
  if (ec) {
    LogDebug("conn ", id_, ": write failed: ", ec.message());
    Teardown();
    return;
  }
  if (queue_.has_pending()) {
    MaybeWrite();
    return;
  }
  queue_.ReleaseIdle();
  switch (state_) {
    case State::kRejecting:
    case State::kClosingPeerClosed:
      Drain();
      break;
    case State::kClosing:
      state_ = State::kCloseSent;
      break;
    default:
      break;
  }
}

void Connection::ReadMore() {
  reading_ = true;
  AsyncReadSome(read_buf_.data() + read_have_, read_buf_.size() - read_have_);
}

void Connection::OnRead(boost::system::error_code ec, size_t n) {
  reading_ = false;
  if (state_ == State::kClosed) return;
  if (ec) {
    LogDebug("conn ", id_, ": read ended: ", ec.message());
    Teardown();
    return;
  }
  if (state_ == State::kDraining) {
    read_have_ = 0;  // whatever still arrives is discarded
    ReadMore();
    return;
  }
  if (http_) {
    if (state_ == State::kHandshake) OnRequestBytes(n);
    return;
  }
  activity_ = true;
  ping_outstanding_ = false;
  read_have_ += n;
  size_t pos = 0;
  while (pos < read_have_ && state_ != State::kClosed) {
    ClientFrameParser::Output out;
    const size_t used =
        parser_.Parse(read_buf_.data() + pos, read_have_ - pos, &out);
    pos += used;
    if (out.event == ClientFrameParser::Event::kNone) {
      if (used == 0) break;  // incomplete frame: need more bytes
      continue;
    }
    if (out.event == ClientFrameParser::Event::kError) {
      // Nothing after a protocol error is trusted: send our close frame
      // and end the connection once it is written.
      CloseDiscarding(out.code, out.error);
      read_have_ = 0;
      // Our own close went out before (a refusal, a session end): with the
      // peer's answer in, however malformed, the handshake is over.
      OnPeerClosed();
      return;
    }
    if (out.event == ClientFrameParser::Event::kPing) {
      if (state_ == State::kOpen) {
        auto pong = std::make_shared<std::string>();
        AppendServerFrame(*pong, kOpPong, out.payload);
        Send(pong);
      }
    } else if (out.event == ClientFrameParser::Event::kClose) {
      if (state_ == State::kOpen) {
        // The client ends the connection: echo its code, as RFC 6455 asks
        // (the parser refused codes a peer may not send).
        const uint16_t code =
            out.code == 1005 ? static_cast<uint16_t>(kCloseNormal) : out.code;
        CloseDiscarding(code, "");
        OnPeerClosed();
      } else if (state_ == State::kCloseSent) {
        Drain();
        return;
      } else {
        OnPeerClosed();
      }
    }
  }
  // Keep the unparsed tail (an incomplete header or control frame).
  std::copy(read_buf_.begin() + pos, read_buf_.begin() + read_have_,
            read_buf_.begin());
  read_have_ -= pos;
  if (state_ != State::kClosed) ReadMore();
}

void Connection::Close(uint16_t code, std::string_view reason) {
  if (!BeginClose()) return;
  QueueCloseFrame(code, reason);
}

void Connection::CloseDiscarding(uint16_t code, std::string_view reason) {
  if (!BeginClose()) return;
  queue_.Clear();
  QueueCloseFrame(code, reason);
}

bool Connection::BeginClose() {
  if (state_ == State::kHandshake) {
    Teardown();
    return false;
  }
  if (state_ != State::kOpen) return false;
  Unregister();
  state_ = State::kClosing;
  return true;
}

void Connection::QueueCloseFrame(uint16_t code, std::string_view reason) {
  QueueRaw(MakeCloseFrame(code, reason));
  ArmTimer(worker_.options().close_timeout);
}

void Connection::OnPeerClosed() {
  if (state_ == State::kClosing) {
    state_ = State::kClosingPeerClosed;
  } else if (state_ == State::kCloseSent) {
    Drain();
  }
}

bool Connection::closing() const {
  switch (state_) {
    case State::kRejecting:
    case State::kClosing:
    case State::kClosingPeerClosed:
    case State::kCloseSent:
    case State::kDraining:
      return true;
    default:
      return false;
  }
}

void Connection::PingTick() {
  if (state_ != State::kOpen) return;
  if (ping_outstanding_ && !activity_) {
    LogPingTimeout(*this);
    worker_.stats().ping_timeouts.Add(1);
    CloseDiscarding(kClosePingTimeout, "ping timeout");
    return;
  }
  activity_ = false;
  ping_outstanding_ = true;
  Send(PingFrame());
}

void Connection::ArmTimer(std::chrono::milliseconds after) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->OnTimer();
  });
}

void Connection::OnTimer() {
  if (state_ == State::kHandshake || closing()) {
    LogDebug("conn ", id_, ": timed out");
    Teardown();
  }
}

void Connection::Unregister() {
  if (registered_) {
    registered_ = false;
    worker_.Unregister(this);
    if (kind_ == Kind::kVoice) worker_.gate().OnVoiceClosed(id_);
  }
  if (counted_admitted_) {
    counted_admitted_ = false;
    worker_.UncountAdmitted();
  }
  if (counted_user_) {
    counted_user_ = false;
    worker_.UncountUser(user_id_);
  }
}

void Connection::Drain() {
  if (state_ == State::kClosed || state_ == State::kDraining) return;
  Unregister();
  state_ = State::kDraining;
  queue_.Clear();
  ShutdownSend();
  ArmTimer(worker_.options().close_timeout);
  if (!reading_) ReadMore();
}

void Connection::Teardown() {
  if (state_ == State::kClosed) return;
  LogClosed(*this);
  Unregister();
  state_ = State::kClosed;
  queue_.Clear();
  timer_.cancel();
  CloseSocket();
  worker_.RemoveSocket(this);
  if (slow_) ScheduleHeapTrim(worker_.io_context());
}

}  // namespace herald::push
