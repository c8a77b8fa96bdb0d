#include "bench/loadgen/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "bench/loadgen/chat_event.h"
#include "bench/loadgen/event_body.h"
#include "bench/loadgen/fd_bio.h"
#include "bench/loadgen/mono_clock.h"
#include "push/tls13_records.h"
#include "push/tls13_secrets.h"

namespace herald::bench {
namespace {

// The key of every upgrade request and the accept value it must yield
// (RFC 6455 section 1.3's example).
constexpr char kWsKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr char kWsAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
constexpr size_t kMaxFrame = 16 << 20;
constexpr size_t kMaxResponseHeader = 16 << 10;

// Total size of the frame starting at p (header and payload), or 0 when
// the header itself is incomplete.
size_t FrameSize(const uint8_t* p, size_t n) {
  if (n < 2) return 0;
  uint64_t len = p[1] & 0x7f;
  size_t hl = 2;
  if (len == 126) {
    if (n < 4) return 0;
    len = (uint64_t{p[2]} << 8) | p[3];
    hl = 4;
  } else if (len == 127) {
    if (n < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    hl = 10;
  }
  if (p[1] & 0x80) hl += 4;
  if (len > kMaxFrame) return kMaxFrame + 1 + hl;
  return hl + static_cast<size_t>(len);
}

}  // namespace

Worker::Worker(WorkerConfig config, RunState* state)
    : config_(std::move(config)),
      state_(state),
      rng_(0x5eed0000ULL + static_cast<uint64_t>(config_.index)),
      buf_(new char[kReadBuffer]),
      plain_(new char[kPlainBuffer]) {
  int mine = config_.connections / config_.threads +
             (config_.index < config_.connections % config_.threads ? 1 : 0);
  conns_.resize(mine);
  for (int j = 0; j < mine; ++j) {
    int64_t i = static_cast<int64_t>(j) * config_.threads + config_.index;
    conns_[j].index = config_.user_offset + i;
    conns_[j].user = config_.plan->UserOfConnection(conns_[j].index);
  }
}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
  CloseAll();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Worker::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  thread_ = std::thread([this] { Loop(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

const UrlTemplate& Worker::UrlOf(const Connection& c) const {
  const std::vector<UrlTemplate>& urls = *config_.urls;
  auto i = static_cast<uint64_t>(c.index - config_.user_offset);
  return urls[i % urls.size()];
}

uint64_t Worker::settled() const {
  return stats_.established.Get() + stats_.connect_errors.Get();
}

void Worker::Loop() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!state_->stopping()) {
    int64_t now = MonoNowNs();
    LaunchConnects(now);
    if (in_flight_ > 0 && now - last_timeout_scan_ns_ > 250'000'000) {
      last_timeout_scan_ns_ = now;
      CheckTimeouts(now);
    }
    int timeout_ms = 100;
    if (next_ < conns_.size() && config_.connect_rate > 0 &&
        in_flight_ < config_.max_in_flight) {
      int64_t wait = (next_connect_ns_ - now) / 1'000'000;
      timeout_ms = static_cast<int>(std::clamp<int64_t>(wait, 0, 100));
    }
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (n <= 0) continue;
    window_start_ = state_->window_start();
    window_end_ = state_->window_end();
    if (!slices_seen_ && window_start_ != kNoWindow) {
      // Published by SetWindow's release store, which window_start() read.
      slices_ = state_->slices();
      slices_seen_ = true;
    }
    for (int k = 0; k < n; ++k) OnEvent(events[k].data.u32, events[k].events);
  }
  CloseAll();
}

void Worker::LaunchConnects(int64_t now) {
  while (next_ < conns_.size() && in_flight_ < config_.max_in_flight) {
    if (config_.connect_rate > 0) {
      if (next_connect_ns_ == 0) next_connect_ns_ = now;
      if (now < next_connect_ns_) break;
      next_connect_ns_ += static_cast<int64_t>(1e9 / config_.connect_rate);
    }
    StartConnect(next_++, now);
  }
}

void Worker::StartConnect(uint32_t j, int64_t now) {
  Connection& c = conns_[j];
  stats_.attempted.Add();
  if (stats_.first_attempt_ns.Get() == 0) stats_.first_attempt_ns.Set(now);
  c.started_ns = now;
  c.state = Connection::State::kConnecting;
  ++in_flight_;
  int64_t i = static_cast<int64_t>(j) * config_.threads + config_.index;
  const sockaddr_in& src = config_.sources[i % config_.sources.size()];
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    Fail(c, stats_.tcp_errors);
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (config_.rcvbuf > 0) {
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &config_.rcvbuf,
               sizeof config_.rcvbuf);
  }
  if (bind(c.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
    Fail(c, stats_.tcp_errors);
    return;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  const UrlTemplate& url = UrlOf(c);
  dst.sin_port = htons(url.port());
  inet_pton(AF_INET, url.host().c_str(), &dst.sin_addr);
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 &&
      errno != EINPROGRESS) {
    Fail(c, stats_.tcp_errors);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = j;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    Fail(c, stats_.tcp_errors);
  }
}

void Worker::OnEvent(uint32_t j, uint32_t events) {
  Connection& c = conns_[j];
  switch (c.state) {
    case Connection::State::kConnecting:
      OnTcpConnected(c);
      return;
    case Connection::State::kTls:
      if (events & EPOLLOUT) {
        FdBio::Feed(SSL_get_rbio(c.ssl), nullptr, 0);
        DriveTls(c);
        if (c.fd < 0) return;
      }
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadAll(c);
      return;
    case Connection::State::kUpgrading:
    case Connection::State::kOpen:
      if (!c.out.empty() && (events & EPOLLOUT)) Flush(c);
      if (c.fd < 0) return;
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadAll(c);
      return;
    default:
      return;
  }
}

void Worker::OnTcpConnected(Connection& c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    Fail(c, stats_.tcp_errors);
    return;
  }
  if (config_.ssl_ctx == nullptr) {
    SendUpgrade(c);
    return;
  }
  c.ssl = SSL_new(config_.ssl_ctx);
  BIO* bio = c.ssl != nullptr ? FdBio::New(c.fd) : nullptr;
  if (bio == nullptr) {
    ERR_clear_error();
    Fail(c, stats_.tls_errors);
    return;
  }
  SSL_set_bio(c.ssl, bio, bio);
  SSL_set_connect_state(c.ssl);
  if (config_.own_records) {
    c.secrets = std::make_unique<herald::push::Tls13Secrets>();
    herald::push::Tls13Secrets::Attach(c.ssl, c.secrets.get());
    SSL_set_msg_callback(c.ssl, &Worker::OnSslMessage);
    SSL_set_msg_callback_arg(c.ssl, &c);
  }
  c.state = Connection::State::kTls;
  FdBio::Feed(bio, nullptr, 0);
  DriveTls(c);
}

// OpenSSL's error queue is kept empty (cleared after every failure), so
// SSL_get_error needs no ERR_clear_error before each call.
void Worker::DriveTls(Connection& c) {
  int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    c.handshake_records = c.records_read;
    SendUpgrade(c);
    return;
  }
  int e = SSL_get_error(c.ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
  ERR_clear_error();
  Fail(c, stats_.tls_errors);
}

void Worker::SendUpgrade(Connection& c) {
  c.state = Connection::State::kUpgrading;
  config_.plan->ServersOf(c.user, &servers_scratch_);
  std::string& r = request_scratch_;
  r.assign("GET ");
  const UrlTemplate& url = UrlOf(c);
  url.Expand(c.user, servers_scratch_, &r);
  r.append(" HTTP/1.1\r\nHost: ");
  r.append(url.host_header());
  r.append(
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: ");
  r.append(kWsKey);
  r.append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
  Send(c, r.data(), r.size());
}

void Worker::ReadAll(Connection& c) {
  // A never-reading subscriber leaves everything in its socket: the server
  // sees a full receive window and a client that never drains it.
  if (config_.never_read && c.state == Connection::State::kOpen) return;
  for (;;) {
    ssize_t n = read(c.fd, buf_.get(), kReadBuffer);
    if (n > 0) {
      now_ns_ = MonoNowNs();
      stats_.reads.Add();
      // Pingpong mode ends whenever the delayed-ACK timer fires; set it
      // again now and then (the ACK decision is made by the next read).
      if (config_.delayed_ack && c.state == Connection::State::kOpen &&
          now_ns_ - c.started_ns > 50'000'000) {
        c.started_ns = now_ns_;
        int zero = 0;
        setsockopt(c.fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
      }
      if (c.ssl != nullptr) {
        OnCipher(c, buf_.get(), static_cast<size_t>(n));
      } else {
        stats_.bytes_received.Add(static_cast<uint64_t>(n));
        Process(c, buf_.get(), static_cast<size_t>(n));
      }
      if (c.fd < 0) return;
      // Edge-triggered: a short read drained the socket, and bytes arriving
      // later raise a new edge.
      if (static_cast<size_t>(n) < kReadBuffer) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // End of stream or error.
    if (c.state == Connection::State::kOpen) {
      Close(c, /*by_server=*/true);
    } else {
      Fail(c, c.state == Connection::State::kTls ? stats_.tls_errors
                                                 : stats_.http_errors);
    }
    return;
  }
}

void Worker::OnCipher(Connection& c, const char* p, size_t n) {
  if (c.records != nullptr) {
    OpenOwnRecords(c, p, n);
    return;
  }
  FdBio::Feed(SSL_get_rbio(c.ssl), p, n);
  if (c.state == Connection::State::kTls) {
    DriveTls(c);
    if (c.fd < 0 || c.state == Connection::State::kTls) return;
  }
  for (;;) {
    int r = SSL_read(c.ssl, plain_.get(), static_cast<int>(kPlainBuffer));
    if (r > 0) {
      stats_.bytes_received.Add(static_cast<uint64_t>(r));
      Process(c, plain_.get(), static_cast<size_t>(r));
      if (c.fd < 0) return;
      continue;
    }
    int e = SSL_get_error(c.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      // Every byte fed is used (the BIO reports "retry" only when empty).
      if (c.secrets != nullptr && c.state == Connection::State::kOpen &&
          SSL_has_pending(c.ssl) == 0) {
        TakeOverRecords(c);
      }
      return;
    }
    ERR_clear_error();
    if (c.state == Connection::State::kOpen) {
      Close(c, /*by_server=*/true);
    } else {
      Fail(c, stats_.tls_errors);
    }
    return;
  }
}

void Worker::OnSslMessage(int write_p, int, int content_type, const void*,
                          size_t, SSL*, void* arg) {
  if (write_p == 0 && content_type == SSL3_RT_HEADER) {
    ++static_cast<Connection*>(arg)->records_read;
  }
}

void Worker::TakeOverRecords(Connection& c) {
  std::unique_ptr<herald::push::Tls13Secrets> s = std::move(c.secrets);
  herald::push::Tls13Secrets::Attach(c.ssl, nullptr);
  SSL_set_msg_callback(c.ssl, nullptr);
  if (SSL_version(c.ssl) != TLS1_3_VERSION || !s->complete()) return;
  // Tls13Records reads with "client" and writes with "server": the roles
  // swapped, as a client. Only its reading side is used (OpenSSL writes).
  herald::push::Tls13Secrets swapped;
  swapped.client = s->server;
  swapped.client_size = s->server_size;
  swapped.server = s->client;
  swapped.server_size = s->client_size;
  swapped.client_records_read = c.records_read - c.handshake_records;
  c.records = herald::push::Tls13Records::Create(SSL_get_current_cipher(c.ssl),
                                                 swapped);
  if (c.records != nullptr) stats_.own_records.Add();
}

void Worker::OpenOwnRecords(Connection& c, const char* p, size_t n) {
  const char* in = p;
  size_t size = n;
  if (!c.cipher_in.empty()) {
    c.cipher_in.append(p, n);
    in = c.cipher_in.data();
    size = c.cipher_in.size();
  }
  size_t used = 0;
  opened_.clear();
  const auto status = c.records->Open(reinterpret_cast<const uint8_t*>(in),
                                      size, used, opened_);
  if (c.cipher_in.empty()) {
    c.cipher_in.assign(in + used, size - used);
  } else {
    c.cipher_in.erase(0, used);
  }
  if (!opened_.empty()) {
    stats_.bytes_received.Add(opened_.size());
    Process(c, opened_.data(), opened_.size());
    if (c.fd < 0) return;
  }
  using Status = herald::push::Tls13Records::OpenStatus;
  if (status == Status::kOk) return;
  if (status == Status::kError) stats_.parse_errors.Add();
  Close(c, /*by_server=*/status != Status::kError);
}

void Worker::Process(Connection& c, const char* p, size_t n) {
  if (c.state == Connection::State::kUpgrading) {
    OnHandshakeBytes(c, p, n);
    return;
  }
  // First complete a frame carried over from earlier reads, taking only
  // the bytes it needs.
  while (!c.in.empty() && n > 0) {
    auto* q = reinterpret_cast<const uint8_t*>(c.in.data());
    size_t total = FrameSize(q, c.in.size());
    size_t take = total == 0
                      ? std::min<size_t>(n, 14)
                      : std::min(n, total - std::min(total, c.in.size()));
    if (total > kMaxFrame) {
      stats_.parse_errors.Add();
      Close(c, false);
      return;
    }
    c.in.append(p, take);
    p += take;
    n -= take;
    size_t used = ParseFrames(c, c.in.data(), c.in.size());
    if (c.fd < 0) return;
    c.in.erase(0, used);
  }
  if (n == 0) return;
  size_t used = ParseFrames(c, p, n);
  if (c.fd < 0) return;
  if (used < n) c.in.assign(p + used, n - used);
}

void Worker::OnHandshakeBytes(Connection& c, const char* p, size_t n) {
  c.in.append(p, n);
  size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.in.size() > kMaxResponseHeader) Fail(c, stats_.http_errors);
    return;
  }
  std::string_view head(c.in.data(), end);
  if (!(head.starts_with("HTTP/1.1 101") || head.starts_with("HTTP/1.0 101")) ||
      head.find(kWsAccept) == std::string_view::npos) {
    Fail(c, stats_.http_errors);
    return;
  }
  Established(c);
  c.in.erase(0, end + 4);
  if (c.in.empty()) return;
  size_t used = ParseFrames(c, c.in.data(), c.in.size());
  if (c.fd < 0) return;
  c.in.erase(0, used);
}

size_t Worker::ParseFrames(Connection& c, const char* p, size_t n) {
  size_t off = 0;
  while (n - off >= 2) {
    auto* q = reinterpret_cast<const uint8_t*>(p + off);
    size_t total = FrameSize(q, n - off);
    if (total == 0) break;
    if (total > kMaxFrame) {
      stats_.parse_errors.Add();
      Close(c, false);
      return off;
    }
    if (n - off < total) break;
    if (q[1] & 0x80) {  // a server must not mask
      stats_.parse_errors.Add();
      Close(c, false);
      return off;
    }
    size_t hl = (q[1] & 0x7f) == 126 ? 4 : (q[1] & 0x7f) == 127 ? 10 : 2;
    OnFrame(c, q[0], p + off + hl, total - hl);
    if (c.fd < 0) return off;
    off += total;
  }
  return off;
}

void Worker::OnFrame(Connection& c, uint8_t b0, const char* payload, size_t n) {
  bool fin = (b0 & 0x80) != 0;
  switch (b0 & 0x0f) {
    case 0x1:  // text
      if (c.fragments != nullptr) {
        stats_.parse_errors.Add();
        c.fragments.reset();
      }
      if (fin) {
        Deliver(payload, n);
      } else {
        c.fragments = std::make_unique<std::string>(payload, n);
      }
      return;
    case 0x0:  // continuation
      if (c.fragments == nullptr) {
        stats_.parse_errors.Add();
        return;
      }
      c.fragments->append(payload, n);
      if (fin) {
        Deliver(c.fragments->data(), c.fragments->size());
        c.fragments.reset();
      }
      return;
    case 0x8:  // close: echo the code, then drop the connection
      ++stats_.close_codes[n >= 2 ? (static_cast<uint8_t>(payload[0]) << 8) |
                                        static_cast<uint8_t>(payload[1])
                                  : 0];
      SendControl(c, 0x8, payload, std::min<size_t>(n, 2));
      Close(c, /*by_server=*/true);
      return;
    case 0x9:  // ping
      stats_.pings.Add();
      SendControl(c, 0xA, payload, std::min<size_t>(n, 125));
      return;
    case 0xA:  // pong
      return;
    default:  // binary or reserved: not a herald event
      stats_.parse_errors.Add();
      return;
  }
}

void Worker::Deliver(const char* p, size_t n) {
  if (config_.chat) {
    DeliverChat(p, n);
    return;
  }
  uint64_t seq = 0;
  int64_t ns = 0;
  int64_t server = 0;
  bool exact = false;
  if (!EventBody::Parse(p, n, &seq, &ns, &server, &exact)) {
    stats_.parse_errors.Add();
    return;
  }
  stats_.deliveries_total.Add();
  stats_.frame_payload_bytes.Set(n);
  state_->ring().OnReceipt(seq);
  // The window holds receipts by arrival; a paired open loop's by their
  // event's publish time (SliceSchedule).
  const int64_t at = slices_.by_publish() ? ns : now_ns_;
  if (at >= window_start_ && at < window_end_ &&
      slices_.CountsReceipt(ns, now_ns_)) {
    stats_.deliveries_measured.Add();
    int64_t lat = now_ns_ - ns;
    stats_.latency_us.Record(lat > 0 ? static_cast<uint64_t>(lat) / 1000 : 0);
  }
  if (!exact) stats_.shape_mismatches.Add();
}

// A chat event: counted for its own step (exactness) and for the step whose
// window it arrived in (throughput, latency). Events without a "T<ns>"
// stamp take their publish time from the ring.
void Worker::DeliverChat(const char* p, size_t n) {
  uint64_t seq = 0;
  int64_t server = 0;
  int64_t ns = 0;
  if (!ChatEvent::Parse(p, n, &seq, &server, &ns)) {
    stats_.parse_errors.Add();
    return;
  }
  stats_.deliveries_total.Add();
  stats_.frame_payload_bytes.Set(n);
  EventRing::Receipt r = state_->ring().OnTaggedReceipt(seq);
  if (r.owned && r.tag < kMaxChatSteps) {
    ChatStepStats& own = stats_.chat_steps[r.tag];
    (r.duplicate ? own.duplicates : own.received).Add();
    if (ns == 0) ns = r.publish_ns;
  } else {
    stats_.chat_late.Add();
  }
  int k = state_->StepAt(now_ns_);
  if (k < 0) return;
  ChatStepStats& in = stats_.chat_steps[k];
  in.deliveries.Add();
  if (ns > 0) {
    int64_t lat = now_ns_ - ns;
    in.latency_us.Record(lat > 0 ? static_cast<uint64_t>(lat) / 1000 : 0);
  }
}

void Worker::SendControl(Connection& c, uint8_t opcode, const char* p,
                         size_t n) {
  char frame[2 + 4 + 125];
  frame[0] = static_cast<char>(0x80 | opcode);
  frame[1] = static_cast<char>(0x80 | n);
  uint32_t key = static_cast<uint32_t>(rng_.Next());
  memcpy(frame + 2, &key, 4);
  for (size_t i = 0; i < n; ++i) frame[6 + i] = p[i] ^ frame[2 + (i & 3)];
  Send(c, frame, 6 + n);
}

void Worker::Send(Connection& c, const char* p, size_t n) {
  if (!c.out.empty()) {
    c.out.append(p, n);
    return;
  }
  ssize_t w = RawWrite(c, p, n);
  if (w == static_cast<ssize_t>(n)) return;
  if (w == kError || w == 0) {
    if (c.state == Connection::State::kOpen) {
      Close(c, /*by_server=*/true);
    } else {
      Fail(c, stats_.tcp_errors);
    }
    return;
  }
  size_t done = w > 0 ? static_cast<size_t>(w) : 0;
  c.out.assign(p + done, n - done);
}

void Worker::Flush(Connection& c) {
  while (!c.out.empty()) {
    ssize_t w = RawWrite(c, c.out.data(), c.out.size());
    if (w > 0) {
      c.out.erase(0, static_cast<size_t>(w));
      continue;
    }
    if (w == kAgain) return;
    if (c.state == Connection::State::kOpen) {
      Close(c, /*by_server=*/true);
    } else {
      Fail(c, stats_.tcp_errors);
    }
    return;
  }
}

void Worker::Established(Connection& c) {
  c.state = Connection::State::kOpen;
  --in_flight_;
  stats_.established.Add();
  stats_.open.Add();
  stats_.last_established_ns.Set(MonoNowNs());
  if (config_.never_read) return;  // expects no receipts from it
  config_.plan->ServersOf(c.user, &servers_scratch_);
  for (int32_t s : servers_scratch_) state_->AddOpen(s, 1);
}

void Worker::Fail(Connection& c, OwnedCounter& reason) {
  reason.Add();
  stats_.connect_errors.Add();
  --in_flight_;
  Release(c);
  c.state = Connection::State::kFailed;
}

void Worker::Close(Connection& c, bool by_server) {
  if (c.state == Connection::State::kOpen) {
    stats_.open.Sub();
    if (by_server) stats_.closed_by_server.Add();
    if (!config_.never_read) {
      config_.plan->ServersOf(c.user, &servers_scratch_);
      for (int32_t s : servers_scratch_) state_->AddOpen(s, -1);
    }
  }
  Release(c);
  c.state = Connection::State::kClosed;
}

void Worker::Release(Connection& c) {
  if (c.ssl != nullptr) {
    SSL_free(c.ssl);
    c.ssl = nullptr;
  }
  if (c.fd >= 0) {
    close(c.fd);
    c.fd = -1;
  }
  std::string().swap(c.in);
  std::string().swap(c.out);
  c.fragments.reset();
  c.secrets.reset();
  c.records.reset();
  std::string().swap(c.cipher_in);
}

void Worker::CheckTimeouts(int64_t now) {
  for (Connection& c : conns_) {
    if ((c.state == Connection::State::kConnecting ||
         c.state == Connection::State::kTls ||
         c.state == Connection::State::kUpgrading) &&
        now - c.started_ns > config_.handshake_timeout_ns) {
      Fail(c, stats_.timeouts);
    }
  }
}

void Worker::CloseAll() {
  for (Connection& c : conns_) {
    if (c.fd >= 0) {
      if (c.state == Connection::State::kOpen) {
        Close(c, /*by_server=*/false);
      } else {
        Release(c);
      }
    }
  }
}

ssize_t Worker::RawWrite(Connection& c, const char* p, size_t n) {
  if (c.ssl == nullptr) {
    ssize_t w = send(c.fd, p, n, MSG_NOSIGNAL);
    if (w >= 0) return w;
    if (errno == EAGAIN || errno == EINTR) return kAgain;
    return kError;
  }
  int w = SSL_write(c.ssl, p, static_cast<int>(n));
  if (w > 0) return w;
  int e = SSL_get_error(c.ssl, w);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return kAgain;
  ERR_clear_error();
  return kError;
}

}  // namespace herald::bench
