// The client side of the protocol through a real Connection whose I/O is
// faked: request bytes in, the exact bytes it writes out (upgrade answers,
// close frames for the client's close frames).
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "boost/asio/post.hpp"
#include "gtest/gtest.h"
#include "push/connection.h"
#include "push/gate.h"
#include "push/worker.h"

namespace herald::push {
namespace {

class OneTokenGate : public Gate {
 public:
  void AdmitMain(std::string_view token, ConnectionId, MainDone done) override {
    if (token != "t") {
      std::move(done)(Refusal{4001, "unknown or expired token"});
      return;
    }
    std::move(done)(MainAdmission{7, {}});
  }
  void AdmitVoice(std::string_view, int64_t, ConnectionId,
                  VoiceDone done) override {
    std::move(done)(Refusal{4003, "no voice grant for this channel"});
  }
  void OnMainClosed(ConnectionId, int64_t) override {}
  void OnVoiceClosed(ConnectionId) override {}
};

// A connection whose reads are handed bytes by the test and whose writes
// are captured and complete on the next poll.
class ScriptedConnection final : public Connection {
 public:
  explicit ScriptedConnection(Worker& worker)
      : Connection(worker, Kind::kMain) {}

  // Delivers `bytes` to the pending read, in reads of at most its size.
  void Receive(const std::string& bytes) {
    size_t pos = 0;
    while (pos < bytes.size() && read_data_ != nullptr) {
      const size_t n = std::min(bytes.size() - pos, read_size_);
      std::memcpy(read_data_, bytes.data() + pos, n);
      read_data_ = nullptr;
      pos += n;
      OnRead({}, n);
    }
  }

  std::string TakeWritten() { return std::exchange(written_, {}); }
  bool reading() const { return read_data_ != nullptr; }
  bool shut_down = false;
  bool socket_closed = false;

 protected:
  void AsyncTransportHandshake() override {
    boost::asio::post(worker_.io_context(), [self = shared_from_this(), this] {
      OnTransportReady({});
    });
  }
  void AsyncReadSome(uint8_t* data, size_t size) override {
    read_data_ = data;
    read_size_ = size;
  }
  WriteStart StartWrite(WriteBuffers buffers, size_t size) override {
    for (const auto& b : buffers) {
      written_.append(static_cast<const char*>(b.data()), b.size());
    }
    boost::asio::post(worker_.io_context(), [self = shared_from_this(), size,
                                             this] { OnWrite({}, size); });
    return WriteStart::kPending;
  }
  void ShutdownSend() override { shut_down = true; }
  void CloseSocket() override { socket_closed = true; }

 private:
  uint8_t* read_data_ = nullptr;
  size_t read_size_ = 0;
  std::string written_;
};

std::string ClientClose(const std::string& payload) {
  std::string out = "\x88";
  out.push_back(static_cast<char>(0x80 | payload.size()));
  const char mask[4] = {1, 2, 3, 4};
  out.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  }
  return out;
}

std::string Code(uint16_t code) {
  return std::string{static_cast<char>(code >> 8),
                     static_cast<char>(code & 0xFF)};
}

// The exact server close frame.
std::string ServerClose(uint16_t code, const std::string& reason = "") {
  std::string out = "\x88";
  out.push_back(static_cast<char>(2 + reason.size()));
  return out + Code(code) + reason;
}

constexpr char kRequest[] =
    "GET /?token=t HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
constexpr char k101[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

class ConnectionProtocolTest : public ::testing::Test {
 protected:
  ConnectionProtocolTest() : worker_(0, options_, counters_) {
    worker_.set_gate(&gate_);
  }

  // An admitted connection, its 101 response taken.
  std::shared_ptr<ScriptedConnection> Open() {
    auto c = std::make_shared<ScriptedConnection>(worker_);
    c->Start();
    Poll();
    c->Receive(kRequest);
    Poll();
    EXPECT_EQ(c->TakeWritten(), k101);
    EXPECT_TRUE(c->admitted());
    return c;
  }

  // What the server answers a client close frame with `payload`; checks
  // it then ends the connection gracefully.
  std::string AnswerTo(const std::string& payload) {
    auto c = Open();
    c->Receive(ClientClose(payload));
    Poll();
    EXPECT_FALSE(c->admitted());
    EXPECT_TRUE(c->shut_down) << "no graceful end after the close frames";
    return c->TakeWritten();
  }

  void Poll() {
    worker_.io_context().restart();
    worker_.io_context().poll();
  }

  PushOptions options_;
  SharedCounters counters_;
  OneTokenGate gate_;
  Worker worker_;
};

TEST_F(ConnectionProtocolTest, ValidCloseIsEchoed) {
  EXPECT_EQ(AnswerTo(""), ServerClose(1000));
  EXPECT_EQ(AnswerTo(Code(1000) + "bye"), ServerClose(1000));
  EXPECT_EQ(AnswerTo(Code(1001)), ServerClose(1001));
  EXPECT_EQ(AnswerTo(Code(1014)), ServerClose(1014));
  EXPECT_EQ(AnswerTo(Code(3000) + "\xc3\xa9"), ServerClose(3000));
  EXPECT_EQ(AnswerTo(Code(4999)), ServerClose(4999));
}

TEST_F(ConnectionProtocolTest, CloseCodesAPeerMayNotSendAre1002) {
  for (uint16_t code :
       {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    EXPECT_EQ(AnswerTo(Code(code)), ServerClose(1002, "invalid close code"))
        << code;
  }
}

TEST_F(ConnectionProtocolTest, CloseReasonNotUtf8Is1007) {
  EXPECT_EQ(AnswerTo(Code(1000) + "\xff"),
            ServerClose(1007, "close reason not UTF-8"));
}

TEST_F(ConnectionProtocolTest, AnswerToOurCloseEndsTheConnection) {
  // The server closed first; the client's answer ends the handshake at
  // once, even when its code is one a peer may not send.
  for (uint16_t code : {4004, 1005}) {
    auto c = Open();
    c->Close(4004, "session closed");
    Poll();
    EXPECT_EQ(c->TakeWritten(), ServerClose(4004, "session closed"));
    EXPECT_FALSE(c->shut_down);
    c->Receive(ClientClose(Code(code)));
    Poll();
    EXPECT_TRUE(c->shut_down) << code;
    EXPECT_EQ(c->TakeWritten(), "") << code;
  }
}

TEST_F(ConnectionProtocolTest, MalformedKeyIs400) {
  auto c = std::make_shared<ScriptedConnection>(worker_);
  c->Start();
  Poll();
  std::string request = kRequest;
  request.replace(request.find("dGhl"), 4, "d!hl");
  c->Receive(request);
  Poll();
  EXPECT_EQ(c->TakeWritten(),
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\nContent-Length: 36\r\n\r\n"
            "herald: malformed Sec-WebSocket-Key\n");
  EXPECT_FALSE(c->admitted());
  EXPECT_TRUE(c->shut_down);
}

TEST_F(ConnectionProtocolTest, RequestAndFramesInOneRead) {
  auto c = std::make_shared<ScriptedConnection>(worker_);
  c->Start();
  Poll();
  c->Receive(std::string(kRequest) + ClientClose(Code(1000)));
  Poll();
  EXPECT_EQ(c->TakeWritten(), std::string(k101) + ServerClose(1000));
  EXPECT_TRUE(c->shut_down);
}

}  // namespace
}  // namespace herald::push
