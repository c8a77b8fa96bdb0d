// A real PlainSession on a loopback socket whose peer never reads: every
// byte the connection holds beyond what the kernel took counts against
// max_queue_bytes, and the connection ends with 4008 when it would not fit.
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "boost/asio/ip/tcp.hpp"
#include "gtest/gtest.h"
#include "push/close_codes.h"
#include "push/gate.h"
#include "push/plain_session.h"
#include "push/worker.h"
#include "push/ws_frame.h"

namespace herald::push {
namespace {

class OneUserGate : public Gate {
 public:
  void AdmitMain(std::string_view, ConnectionId, MainDone done) override {
    std::move(done)(MainAdmission{1, {10}});
  }
  void AdmitVoice(std::string_view, int64_t, ConnectionId,
                  VoiceDone done) override {
    std::move(done)(Refusal{4001, "no voice"});
  }
  void OnMainClosed(ConnectionId, int64_t) override {}
  void OnVoiceClosed(ConnectionId) override {}
};

// Bytes queued in the kernel for one socket: `outq` on the sending side,
// `inq` on the receiving side.
size_t Ioctl(int fd, unsigned long request) {
  int n = 0;
  EXPECT_EQ(ioctl(fd, request, &n), 0);
  return static_cast<size_t>(n);
}

class SlowConsumerTest : public ::testing::Test {
 protected:
  static constexpr size_t kMaxQueue = 64 * 1024;
  static constexpr size_t kPayload = 4 * 1024;

  SlowConsumerTest() : worker_(0, options_, counters_) {
    options_.max_queue_bytes = kMaxQueue;
    options_.close_timeout = std::chrono::milliseconds(60000);
    worker_.set_gate(&gate_);
  }
  ~SlowConsumerTest() override {
    if (client_ >= 0) close(client_);
    if (server_fd_ >= 0) close(server_fd_);
  }

  void Poll() {
    worker_.io_context().restart();
    worker_.io_context().poll();
  }

  // A client with a tiny receive buffer, upgraded; returns its session.
  std::shared_ptr<PlainSession> ConnectNonReader() {
    namespace ip = boost::asio::ip;
    ip::tcp::acceptor acceptor(worker_.io_context(),
                               {ip::make_address("127.0.0.1"), 0});
    client_ = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(client_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(acceptor.local_endpoint().port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        connect(client_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ip::tcp::socket socket = acceptor.accept();
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &small,
               sizeof(small));
    server_fd_ = dup(socket.native_handle());  // for SIOCOUTQNSD
    auto session = std::make_shared<PlainSession>(
        worker_, Connection::Kind::kMain, std::move(socket));
    session->Start();
    const std::string request =
        "GET /?token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    EXPECT_EQ(write(client_, request.data(), request.size()),
              static_cast<ssize_t>(request.size()));
    std::string response;
    for (int i = 0; i < 1000 && response.find("\r\n\r\n") == response.npos;
         ++i) {
      Poll();
      char c;
      // One byte at a time: nothing after the response is consumed.
      if (recv(client_, &c, 1, MSG_DONTWAIT) == 1) response.push_back(c);
    }
    EXPECT_EQ(response.rfind("HTTP/1.1 101", 0), 0u) << response;
    EXPECT_TRUE(session->admitted());
    return session;
  }

  // Reads what the server sends until `want` bytes arrived (bounded).
  std::string ReadAll(size_t want) {
    std::string got;
    char buf[16384];
    for (int i = 0; i < 100000 && got.size() < want; ++i) {
      Poll();
      const ssize_t n = recv(client_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) got.append(buf, n);
      if (n == 0) break;
    }
    return got;
  }

  PushOptions options_;
  SharedCounters counters_;
  OneUserGate gate_;
  Worker worker_;
  int client_ = -1;
  int server_fd_ = -1;
};

TEST_F(SlowConsumerTest, HeldBytesStayWithinTheQueueBoundThenClose4008) {
  auto session = ConnectNonReader();
  const Frame frame = MakeTextFrame(std::string(kPayload, 'x'));
  size_t accepted = 0;
  size_t max_held = 0;
  // A burst that fits the bound, written as one batch (most of which the
  // kernel refuses), then one frame at a time.
  const size_t burst = kMaxQueue / frame->size();
  for (int i = 0; i < 1000 && session->admitted(); ++i) {
    const size_t n = i == 0 ? burst : 1;
    for (size_t k = 0; k < n; ++k) {
      worker_.Deliver({.payload = "x", .server_id = 10}, frame);
    }
    Poll();
    if (!session->admitted()) break;  // refused: closed as too slow
    accepted += n;
    // Everything written so far is held by herald or in the kernel: not
    // yet transmitted by the server's side (SIOCOUTQNSD; SIOCOUTQ would
    // also count bytes received but not yet acknowledged) or unread at the
    // client's (loopback drops nothing).
    const size_t in_kernel =
        Ioctl(server_fd_, SIOCOUTQNSD) + Ioctl(client_, SIOCINQ);
    const size_t held = accepted * frame->size() - in_kernel;
    max_held = std::max(max_held, held);
    ASSERT_LE(held, kMaxQueue) << "after " << accepted << " frames";
  }
  EXPECT_FALSE(session->admitted());
  EXPECT_GT(max_held, kMaxQueue - 2 * frame->size());  // the bound was hit

  // The client reads at last: whole text frames, then the 4008 close.
  const Frame close =
      MakeCloseFrame(kCloseTooSlow, "too slow: send queue full");
  const std::string got = ReadAll(accepted * frame->size() + close->size());
  ASSERT_GE(got.size(), close->size());
  const size_t frames = (got.size() - close->size()) / frame->size();
  EXPECT_EQ(got.size(), frames * frame->size() + close->size());
  EXPECT_LE(frames, accepted);
  for (size_t i = 0; i < frames; ++i) {
    ASSERT_EQ(got.compare(i * frame->size(), frame->size(), *frame), 0) << i;
  }
  EXPECT_EQ(got.substr(frames * frame->size()), *close);
}

}  // namespace
}  // namespace herald::push
