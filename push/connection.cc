#include "push/connection.h"

#include <malloc.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>

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

namespace internal {

// One gate call's `done`: it carries the answer to the connection's
// thread. An answer given inline (on the calling thread, before the gate
// returns) is kept for Admit to apply at once, exactly as a synchronous
// gate did: Router calls queued on the worker meanwhile then still find the
// connection registered with the servers the gate read. Any other answer is
// posted to the worker's io_context, so it runs after whatever the
// answering thread posted before and before what it posts after. The call
// holds the connection weakly: a gate that never answers keeps nothing
// alive, and an answer that finds the connection gone or no longer
// admitting is dropped, the gate told to undo an admission (on the worker's
// thread; `done` itself never calls back into the gate). The worker must
// outlive every answer: a gate stops answering before the PushServer goes.
template <typename Admission>
class AdmissionCall
    : public std::enable_shared_from_this<AdmissionCall<Admission>> {
 public:
  using Answer = std::variant<Admission, Refusal>;

  AdmissionCall(Connection& c, Worker& worker)
      : connection_(c.weak_from_this()),
        worker_(worker),
        id_(c.id()),
        caller_(std::this_thread::get_id()) {}

  // The callback handed to the gate; `calling` stays true until the gate
  // returns (EndCall).
  auto Done() {
    return [call = this->shared_from_this()](Answer answer) mutable {
      // Only the calling thread reads calling_, and only while the gate
      // runs on it; other threads stop at the thread check.
      if (std::this_thread::get_id() == call->caller_ && call->calling_) {
        call->inline_answer_ = std::move(answer);
        return;
      }
      Worker& worker = call->worker_;
      boost::asio::post(
          worker.io_context(),
          [call = std::move(call), answer = std::move(answer)]() mutable {
            call->Deliver(std::move(answer));
          });
    };
  }

  // The gate returned: applies an inline answer now.
  void EndCall() {
    calling_ = false;
    if (inline_answer_) Deliver(*std::move(inline_answer_));
  }

 private:
  // On the worker's thread.
  void Deliver(Answer answer) {
    if (std::shared_ptr<Connection> c = connection_.lock();
        c && c->admitting_) {
      Apply(*c, std::move(answer));
      return;
    }
    if (auto* admitted = std::get_if<Admission>(&answer)) Undo(*admitted);
  }
  void Apply(Connection& c, Answer answer);
  void Undo(const Admission& admission);

  const std::weak_ptr<Connection> connection_;
  Worker& worker_;
  const ConnectionId id_;
  const std::thread::id caller_;
  bool calling_ = true;
  std::optional<Answer> inline_answer_;
};

template <>
void AdmissionCall<MainAdmission>::Apply(Connection& c, Answer answer) {
  c.OnMainAnswer(std::move(answer));
}
template <>
void AdmissionCall<VoiceAdmission>::Apply(Connection& c, Answer answer) {
  c.OnVoiceAnswer(std::move(answer));
}
template <>
void AdmissionCall<MainAdmission>::Undo(const MainAdmission& admission) {
  worker_.gate().OnMainClosed(id_, admission.user_id);
}
template <>
void AdmissionCall<VoiceAdmission>::Undo(const VoiceAdmission&) {
  worker_.gate().OnVoiceClosed(id_);
}

}  // namespace internal

using internal::AdmissionCall;

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
  read_start_ = 0;
  state_ = State::kAdmitting;
  timer_.cancel();
  upgrade_response_ =
      std::make_shared<const std::string>(std::move(out.response));
  // Decided inline, the 101 and the leftover are through already.
  Admit(std::move(out.target));
  // Pending: buffer what the client sends, to see it go away.
  if (state_ == State::kAdmitting && read_have_ < read_buf_.size()) {
    ReadMore();
  }
}

void Connection::SendUpgradeResponse() {
  state_ = State::kOpen;
  QueueRaw(std::move(upgrade_response_));
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
    SendUpgradeResponse();
    Refuse(target.refusal_code, target.refusal_reason, target.token);
    ProcessInput();
    return;
  }
  if (!worker_.TryCountAdmitted()) {
    SendUpgradeResponse();
    Refuse(kCloseTooManyConnections, "too many connections", target.token);
    ProcessInput();
    return;
  }
  counted_admitted_ = true;
  admitting_ = true;
  presented_token_ = std::move(target.token);
  Gate& gate = worker_.gate();
  if (kind_ == Kind::kMain) {
    auto call = std::make_shared<AdmissionCall<MainAdmission>>(*this, worker_);
    gate.AdmitMain(presented_token_, id_, call->Done());
    call->EndCall();
  } else {
    channel_id_ = target.channel_id;
    auto call = std::make_shared<AdmissionCall<VoiceAdmission>>(*this, worker_);
    gate.AdmitVoice(presented_token_, channel_id_, id_, call->Done());
    call->EndCall();
  }
  if (admitting_) ArmTimer(worker_.options().handshake_timeout);
}

void Connection::OnMainAnswer(std::variant<MainAdmission, Refusal> answer) {
  admitting_ = false;
  timer_.cancel();
  SendUpgradeResponse();
  ApplyMainAnswer(std::move(answer));
  ProcessInput();  // what the client pipelined, now after the 101
}

void Connection::ApplyMainAnswer(std::variant<MainAdmission, Refusal> answer) {
  const std::string presented = std::exchange(presented_token_, {});
  if (auto* refusal = std::get_if<Refusal>(&answer)) {
    Refuse(refusal->code, refusal->reason, presented);
    return;
  }
  auto& admission = std::get<MainAdmission>(answer);
  user_id_ = admission.user_id;
  if (!worker_.TryCountUser(user_id_)) {
    // The gate admitted it: it learns the connection ended.
    worker_.gate().OnMainClosed(id_, user_id_);
    Refuse(kCloseTooManyConnections, "too many connections for this user",
           presented);
    return;
  }
  counted_user_ = true;
  token_ = std::move(admission.session_key);
  registered_ = true;
  worker_.Register(this, admission.server_ids);
  admitted_at_ = std::chrono::system_clock::now();
  LogAdmitted(*this);
}

void Connection::OnVoiceAnswer(std::variant<VoiceAdmission, Refusal> answer) {
  admitting_ = false;
  timer_.cancel();
  SendUpgradeResponse();
  ApplyVoiceAnswer(std::move(answer));
  ProcessInput();
}

void Connection::ApplyVoiceAnswer(
    std::variant<VoiceAdmission, Refusal> answer) {
  const std::string presented = std::exchange(presented_token_, {});
  if (auto* refusal = std::get_if<Refusal>(&answer)) {
    Refuse(refusal->code, refusal->reason, presented);
    return;
  }
  auto& admission = std::get<VoiceAdmission>(answer);
  user_id_ = admission.user_id;
  token_ = std::move(admission.session_key);
  registered_ = true;
  worker_.Register(this, {});
  admitted_at_ = std::chrono::system_clock::now();
  LogAdmitted(*this);
}

void Connection::Refuse(uint16_t code, std::string_view reason,
                        std::string_view token) {
  LogRefused(*this, code, reason, token);
  worker_.stats().refused[RefusalSlot(code)].Add(1);
  Close(code, reason);
}

void Connection::Send(const Frame& frame, SendMode mode) {
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
  if (queue_.writing() || flush_scheduled_) return;  // it goes with those
  if (mode == SendMode::kNow) {
    MaybeWrite();
    return;
  }
  flush_scheduled_ = true;
  worker_.ScheduleFlush(shared_from_this());
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
    worker_.stats().flush_queue_bytes.Observe(static_cast<double>(HeldBytes()));
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
    read_have_ = read_start_ = 0;  // whatever still arrives is discarded
    ReadMore();
    return;
  }
  if (http_) {
    if (state_ == State::kHandshake) OnRequestBytes(n);
    return;
  }
  read_have_ += n;
  if (state_ == State::kAdmitting) {
    // Kept for after the 101; a full buffer waits for the answer.
    if (read_have_ < read_buf_.size()) ReadMore();
    return;
  }
  ProcessInput();
}

void Connection::ProcessInput() {
  if (state_ == State::kClosed) return;
  activity_ = true;
  ping_outstanding_ = false;
  size_t pos = read_start_;
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
      DiscardInput();
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
  if (reading_) {
    // The read in flight lands at read_have_: the buffer stays put.
    read_start_ = pos;
    return;
  }
  // Keep the unparsed tail (an incomplete header or control frame).
  std::copy(read_buf_.begin() + pos, read_buf_.begin() + read_have_,
            read_buf_.begin());
  read_have_ -= pos;
  read_start_ = 0;
  if (state_ != State::kClosed) ReadMore();
}

void Connection::DiscardInput() {
  if (reading_) {
    read_start_ = read_have_;
  } else {
    read_have_ = read_start_ = 0;
  }
}

void Connection::Close(uint16_t code, std::string_view reason) {
  if (!BeginClose()) return;
  QueueCloseFrame(code, reason);
}

void Connection::CloseDiscarding(uint16_t code, std::string_view reason) {
  const bool upgrading = state_ == State::kAdmitting;
  if (!BeginClose()) return;
  if (!upgrading) queue_.Clear();  // the 101 just queued stays
  QueueCloseFrame(code, reason);
}

bool Connection::BeginClose() {
  if (state_ == State::kHandshake) {
    Teardown();
    return false;
  }
  if (state_ == State::kAdmitting) {
    // Closed by the server while the gate thinks (shutdown): the client
    // gets its 101 and the close frame; its answer will be dropped.
    SendUpgradeResponse();
    if (!reading_) {
      boost::asio::post(worker_.io_context(),
                        [self = shared_from_this()] { self->ProcessInput(); });
    }
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
  if (admitting_ && state_ == State::kAdmitting) {
    // The gate has not answered in time: its answer will be dropped.
    const std::string presented = presented_token_;
    SendUpgradeResponse();
    Refuse(kCloseTryAgainLater, "try again later", presented);
    ProcessInput();
    return;
  }
  if (state_ == State::kHandshake || closing()) {
    LogDebug("conn ", id_, ": timed out");
    Teardown();
  }
}

void Connection::Unregister() {
  // A pending admission's answer is dropped (and undone) when it comes.
  admitting_ = false;
  presented_token_.clear();
  if (registered_) {
    registered_ = false;
    worker_.Unregister(this);
    if (kind_ == Kind::kVoice) {
      worker_.gate().OnVoiceClosed(id_);
    } else {
      worker_.gate().OnMainClosed(id_, user_id_);
    }
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
