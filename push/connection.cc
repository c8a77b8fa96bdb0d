#include "push/connection.h"

#include <charconv>

#include "boost/asio/post.hpp"
#include "boost/beast/websocket/rfc6455.hpp"
#include "boost/url/parse.hpp"
#include "push/close_codes.h"
#include "push/gate.h"
#include "push/log.h"
#include "push/worker.h"

namespace herald::push {
namespace http = boost::beast::http;

namespace {

// Largest batch gathered into one write (one TLS record is 16 KiB; a few
// records per write keeps syscalls few without holding big buffers).
constexpr size_t kMaxBatchBytes = 64 * 1024;
// Frame lists longer than this are freed once the queue drains, so idle
// connections stay small.
constexpr size_t kKeepWriteFrames = 8;
// Frames per write: what remains of a partial plain write goes out as a
// gather list, and asio gathers at most 64 buffers per sendmsg.
constexpr size_t kMaxWriteFrames = 64;

std::string HttpError(std::string_view status, std::string_view extra_headers,
                      std::string_view body) {
  std::string out;
  out.append("HTTP/1.1 ").append(status).append("\r\n");
  out.append("Content-Type: text/plain\r\nConnection: close\r\n");
  out.append(extra_headers);
  out.append("Content-Length: ").append(std::to_string(body.size()));
  out.append("\r\n\r\n").append(body);
  return out;
}

// Positive decimal int64 with no sign, spaces or leading junk.
bool ParsePositiveId(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && *out > 0;
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
  worker_.AddSocket(this);
  ArmTimer(worker_.options().handshake_timeout);
  AsyncTransportHandshake();
}

void Connection::OnTransportReady(boost::system::error_code ec) {
  if (state_ != State::kHandshake) return;
  if (ec) {
    LogDebug("conn ", id_, ": TLS handshake failed: ", ec.message());
    Teardown();
    return;
  }
  http_ = std::make_unique<HttpRequestReader>(
      worker_.options().max_request_header_bytes);
  ReadMore();
}

void Connection::OnRequestBytes(size_t n) {
  HttpRequestReader& http = *http_;
  http.bytes.append(reinterpret_cast<const char*>(read_buf_.data()), n);
  read_have_ = 0;
  boost::system::error_code ec;
  // The parser consumes what it has parsed (the request line, whole header
  // lines) even while asking for more: never feed those bytes twice.
  const size_t used =
      http.parser.put(boost::asio::buffer(http.bytes.data() + http.parsed,
                                          http.bytes.size() - http.parsed),
                      ec);
  http.parsed += used;
  if (ec == http::error::need_more) {
    if (http.bytes.size() > http.limit) {
      RejectHttp(HttpError("431 Request Header Fields Too Large", "",
                           "herald: request header too large\n"));
    } else {
      ReadMore();
    }
    return;
  }
  if (ec || !http.parser.is_header_done()) {
    RejectHttp(
        HttpError("400 Bad Request", "", "herald: malformed HTTP request\n"));
    return;
  }
  // Keep the parsed request alive through OnRequest, then free it all.
  std::unique_ptr<HttpRequestReader> done = std::move(http_);
  OnRequest(done->parser.get(),
            std::string_view(done->bytes).substr(done->parsed));
}

void Connection::OnRequest(const Request& req, std::string_view leftover) {
  if (state_ != State::kHandshake) return;
  if (!boost::beast::websocket::is_upgrade(req)) {
    RejectHttp(HttpError("426 Upgrade Required",
                         "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
                         "herald: this port speaks WebSocket only; connect "
                         "to wss://HOST:PORT/?token=TOKEN\n"));
    return;
  }
  if (req[http::field::sec_websocket_version] != "13") {
    RejectHttp(HttpError("426 Upgrade Required",
                         "Sec-WebSocket-Version: 13\r\n",
                         "herald: only WebSocket version 13 is supported\n"));
    return;
  }
  const auto key = req[http::field::sec_websocket_key];
  if (key.empty() || key.size() > 64) {
    RejectHttp(HttpError("400 Bad Request", "",
                         "herald: missing Sec-WebSocket-Key\n"));
    return;
  }
  if (leftover.size() > read_buf_.size()) {
    Teardown();
    return;
  }
  std::copy(leftover.begin(), leftover.end(), read_buf_.begin());
  read_have_ = leftover.size();

  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  response.append(WebSocketAcceptKey(key));
  response.append("\r\n\r\n");
  state_ = State::kOpen;
  timer_.cancel();
  QueueRaw(std::make_shared<const std::string>(std::move(response)));
  Admit(req.target());
  if (state_ != State::kClosed) OnRead({}, 0);  // parse leftover, read on
}

void Connection::RejectHttp(std::string response) {
  http_.reset();
  http_reject_ = true;
  state_ = State::kClosing;
  QueueRaw(std::make_shared<const std::string>(std::move(response)));
}

void Connection::Admit(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    Refuse(kCloseBadRequest, "bad request target");
    return;
  }
  std::string token;
  std::string channel;
  bool has_token = false;
  bool has_channel = false;
  for (const auto& param : url->params()) {
    if (!has_token && param.key == "token") {
      token = param.value;
      has_token = true;
    } else if (!has_channel && param.key == "channel") {
      channel = param.value;
      has_channel = true;
    }
  }
  if (token.empty()) {
    Refuse(kCloseBadRequest, "missing token");
    return;
  }
  int64_t channel_id = 0;
  if (kind_ == Kind::kVoice) {
    if (!has_channel || channel.empty()) {
      Refuse(kCloseBadRequest, "missing channel");
      return;
    }
    if (!ParsePositiveId(channel, &channel_id)) {
      Refuse(kCloseBadRequest, "malformed channel");
      return;
    }
  }
  if (!worker_.TryCountAdmitted()) {
    Refuse(kCloseTooManyConnections, "too many connections");
    return;
  }
  counted_admitted_ = true;
  Gate& gate = worker_.gate();
  if (kind_ == Kind::kMain) {
    auto result = gate.AdmitMain(token);
    if (auto* refusal = std::get_if<Refusal>(&result)) {
      Refuse(refusal->code, refusal->reason);
      return;
    }
    auto& admission = std::get<MainAdmission>(result);
    user_id_ = admission.user_id;
    token_ = std::move(admission.session_key);
    registered_ = true;
    worker_.Register(this, admission.server_ids);
  } else {
    auto result = gate.AdmitVoice(token, channel_id, id_);
    if (auto* refusal = std::get_if<Refusal>(&result)) {
      Refuse(refusal->code, refusal->reason);
      return;
    }
    auto& admission = std::get<VoiceAdmission>(result);
    user_id_ = admission.user_id;
    token_ = std::move(admission.session_key);
    registered_ = true;
    worker_.Register(this, {});
  }
  LogDebug("conn ", id_, ": admitted user ", user_id_,
           kind_ == Kind::kMain ? " (main)" : " (voice)");
}

void Connection::Refuse(uint16_t code, std::string_view reason) {
  LogDebug("conn ", id_, ": refused ", code, " ", AsAbsl(reason));
  Close(code, reason, /*flush=*/true);
}

void Connection::Send(const Frame& frame) {
  if (state_ != State::kOpen || slow_) return;
  if (queued_bytes_ + frame->size() > worker_.options().max_queue_bytes) {
    slow_ = true;
    boost::asio::post(worker_.io_context(), [self = shared_from_this()] {
      self->Close(kCloseTooSlow, "too slow: send queue full", false);
    });
    return;
  }
  queued_bytes_ += frame->size();
  pending_.push_back(frame);
  if (!writing_ && !flush_scheduled_) {
    flush_scheduled_ = true;
    worker_.ScheduleFlush(shared_from_this());
  }
}

void Connection::FlushDeferred() {
  flush_scheduled_ = false;
  MaybeWrite();
}

void Connection::QueueRaw(Frame frame) {
  queued_bytes_ += frame->size();
  pending_.push_back(std::move(frame));
  MaybeWrite();
}

void Connection::MaybeWrite() {
  while (!writing_ && !pending_.empty() && state_ != State::kClosed) {
    writing_ = true;
    size_t size = 0;
    size_t taken = 0;
    while (taken < pending_.size() && taken < kMaxWriteFrames &&
           (taken == 0 || size + pending_[taken]->size() <= kMaxBatchBytes)) {
      size += pending_[taken]->size();
      ++taken;
    }
    in_flight_.assign(std::make_move_iterator(pending_.begin()),
                      std::make_move_iterator(pending_.begin() + taken));
    pending_.erase(pending_.begin(), pending_.begin() + taken);
    write_buffers_.clear();
    for (const Frame& f : in_flight_) {
      write_buffers_.emplace_back(f->data(), f->size());
    }
    queued_bytes_ -= size;
    if (StartWrite(write_buffers_, size) == WriteStart::kPending) return;
    // All written at once: the common case, with no completion to wait
    // for. A closing connection still takes the completion path, so its
    // state changes never run inside the caller.
    if (state_ != State::kOpen) {
      boost::asio::post(
          worker_.io_context(),
          [self = shared_from_this(), size] { self->OnWrite({}, size); });
      return;
    }
    writing_ = false;
    in_flight_.clear();
  }
  if (!writing_) ReleaseWriteLists();
}

void Connection::ReleaseWriteLists() {
  if (in_flight_.capacity() > kKeepWriteFrames) {
    std::vector<Frame>().swap(in_flight_);
    std::vector<boost::asio::const_buffer>().swap(write_buffers_);
  }
  if (pending_.empty() && pending_.capacity() > kKeepWriteFrames) {
    std::vector<Frame>().swap(pending_);
  }
}

void Connection::OnWrite(boost::system::error_code ec, size_t) {
  writing_ = false;
  in_flight_.clear();
  if (ec) {
    LogDebug("conn ", id_, ": write failed: ", ec.message());
    Teardown();
    return;
  }
  if (!pending_.empty()) {
    MaybeWrite();
    return;
  }
  ReleaseWriteLists();
  if (state_ == State::kClosing) {
    if (http_reject_) {
      Drain();
    } else if (close_queued_) {
      close_sent_ = true;
      if (peer_closed_) Drain();
    }
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
      Close(out.code, out.error, false);
      peer_closed_ = true;
      read_have_ = 0;
      return;
    }
    if (out.event == ClientFrameParser::Event::kPing) {
      if (state_ == State::kOpen) {
        auto pong = std::make_shared<std::string>();
        AppendServerFrame(*pong, kOpPong, out.payload);
        Send(pong);
      }
    } else if (out.event == ClientFrameParser::Event::kClose) {
      peer_closed_ = true;
      if (state_ == State::kOpen) {
        // The client ends the connection: echo its code, as RFC 6455 asks.
        const uint16_t code = (out.code == 1005 || out.code < 1000)
                                  ? static_cast<uint16_t>(kCloseNormal)
                                  : out.code;
        Close(code, "", /*flush=*/false);
      } else if (close_sent_) {
        Drain();
        return;
      }
    }
  }
  // Keep the unparsed tail (an incomplete header or control frame).
  std::copy(read_buf_.begin() + pos, read_buf_.begin() + read_have_,
            read_buf_.begin());
  read_have_ -= pos;
  if (state_ != State::kClosed) ReadMore();
}

void Connection::Close(uint16_t code, std::string_view reason, bool flush) {
  if (state_ == State::kHandshake) {
    Teardown();
    return;
  }
  if (state_ != State::kOpen) return;
  Unregister();
  state_ = State::kClosing;
  if (!flush) {
    pending_.clear();
    queued_bytes_ = 0;
  }
  close_queued_ = true;
  QueueRaw(MakeCloseFrame(code, reason));
  ArmTimer(worker_.options().close_timeout);
}

void Connection::PingTick() {
  if (state_ != State::kOpen) return;
  if (ping_outstanding_ && !activity_) {
    Close(kClosePingTimeout, "ping timeout", false);
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
  if (state_ == State::kHandshake || state_ == State::kClosing ||
      state_ == State::kDraining) {
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
}

void Connection::Drain() {
  if (state_ == State::kClosed || state_ == State::kDraining) return;
  Unregister();
  state_ = State::kDraining;
  pending_.clear();
  queued_bytes_ = 0;
  ShutdownSend();
  ArmTimer(worker_.options().close_timeout);
  if (!reading_) ReadMore();
}

void Connection::Teardown() {
  if (state_ == State::kClosed) return;
  Unregister();
  state_ = State::kClosed;
  pending_.clear();
  queued_bytes_ = 0;
  timer_.cancel();
  CloseSocket();
  worker_.RemoveSocket(this);
}

}  // namespace herald::push
