// Asynchronous admission (push/gate.h): a gate that answers later, from
// another thread, or never, through a real Connection whose I/O is faked;
// and connections that end while their admission is pending.
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "boost/asio/error.hpp"
#include "boost/asio/post.hpp"
#include "gtest/gtest.h"
#include "push/close_codes.h"
#include "push/connection.h"
#include "push/gate.h"
#include "push/worker.h"
#include "push/worker_stats.h"
#include "push/ws_frame.h"

namespace herald::push {
namespace {

using std::chrono::milliseconds;

// Keeps every `done` until the test answers it; records the undo calls.
// Thread-safe: the worker's thread calls OnMainClosed / OnVoiceClosed while
// the test reads them.
class DeferredGate : public Gate {
 public:
  struct MainCall {
    std::string token;
    ConnectionId id = 0;
    MainDone done;
  };
  struct VoiceCall {
    std::string token;
    int64_t channel = 0;
    ConnectionId id = 0;
    VoiceDone done;
  };

  void AdmitMain(std::string_view token, ConnectionId id,
                 MainDone done) override {
    std::lock_guard lock(mu_);
    main_.push_back({std::string(token), id, std::move(done)});
  }
  void AdmitVoice(std::string_view token, int64_t channel, ConnectionId id,
                  VoiceDone done) override {
    std::lock_guard lock(mu_);
    voice_.push_back({std::string(token), channel, id, std::move(done)});
  }
  void OnMainClosed(ConnectionId id, int64_t user) override {
    std::lock_guard lock(mu_);
    main_closed_.emplace_back(id, user);
  }
  void OnVoiceClosed(ConnectionId id) override {
    std::lock_guard lock(mu_);
    voice_closed_.push_back(id);
  }

  // The oldest unanswered call (it must exist).
  MainCall TakeMain() {
    std::lock_guard lock(mu_);
    EXPECT_FALSE(main_.empty());
    MainCall call = std::move(main_.front());
    main_.erase(main_.begin());
    return call;
  }
  VoiceCall TakeVoice() {
    std::lock_guard lock(mu_);
    EXPECT_FALSE(voice_.empty());
    VoiceCall call = std::move(voice_.front());
    voice_.erase(voice_.begin());
    return call;
  }
  size_t pending_main() {
    std::lock_guard lock(mu_);
    return main_.size();
  }
  std::vector<std::pair<ConnectionId, int64_t>> main_closed() {
    std::lock_guard lock(mu_);
    return main_closed_;
  }
  std::vector<ConnectionId> voice_closed() {
    std::lock_guard lock(mu_);
    return voice_closed_;
  }

 private:
  std::mutex mu_;
  std::vector<MainCall> main_;
  std::vector<VoiceCall> voice_;
  std::vector<std::pair<ConnectionId, int64_t>> main_closed_;
  std::vector<ConnectionId> voice_closed_;
};

// A connection upgraded directly from a parsed request, fed client bytes by
// the test, its writes captured (each completes on the next poll).
class FakeConnection final : public Connection {
 public:
  FakeConnection(Worker& worker, Kind kind) : Connection(worker, kind) {}

  void Upgrade(const std::string& target) {
    Request req;
    req.method(boost::beast::http::verb::get);
    req.target(target);
    req.set(boost::beast::http::field::upgrade, "websocket");
    req.set(boost::beast::http::field::connection, "Upgrade");
    req.set(boost::beast::http::field::sec_websocket_version, "13");
    req.set(boost::beast::http::field::sec_websocket_key,
            "dGhlIHNhbXBsZSBub25jZQ==");
    OnRequest(req, {});
  }

  // Hands `bytes` to the pending read.
  void Receive(const std::string& bytes) {
    ASSERT_NE(read_data_, nullptr);
    ASSERT_LE(bytes.size(), read_size_);
    std::memcpy(read_data_, bytes.data(), bytes.size());
    read_data_ = nullptr;
    OnRead({}, bytes.size());
  }
  // The peer's end of the stream.
  void ReceiveEof() {
    read_data_ = nullptr;
    OnRead(boost::asio::error::eof, 0);
  }

  // Everything written since the last call, minus the upgrade response.
  std::string TakeWritten() {
    std::string out;
    out.swap(written_);
    if (out.rfind("HTTP/1.1 101", 0) == 0) {
      out.erase(0, out.find("\r\n\r\n") + 4);
    }
    return out;
  }
  // Everything written since the last call, the upgrade response too.
  std::string TakeRaw() {
    std::string out;
    out.swap(written_);
    return out;
  }
  bool wrote_101() const { return wrote_101_; }
  bool socket_closed() const { return socket_closed_; }

 protected:
  void AsyncTransportHandshake() override {}
  void AsyncReadSome(uint8_t* data, size_t size) override {
    read_data_ = data;
    read_size_ = size;
  }
  WriteStart StartWrite(WriteBuffers buffers, size_t size) override {
    for (const auto& b : buffers) {
      written_.append(static_cast<const char*>(b.data()), b.size());
    }
    if (written_.rfind("HTTP/1.1 101", 0) == 0) wrote_101_ = true;
    boost::asio::post(worker_.io_context(), [self = shared_from_this(), size,
                                             this] { OnWrite({}, size); });
    return WriteStart::kPending;
  }
  void ShutdownSend() override {}
  void CloseSocket() override { socket_closed_ = true; }

 private:
  uint8_t* read_data_ = nullptr;
  size_t read_size_ = 0;
  std::string written_;
  bool wrote_101_ = false;
  bool socket_closed_ = false;
};

// A masked client frame (payload under 126 bytes).
std::string ClientFrame(uint8_t opcode, const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>(0x80 | opcode));
  out.push_back(static_cast<char>(0x80 | payload.size()));
  const char mask[4] = {5, 6, 7, 8};
  out.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  }
  return out;
}

std::string ServerFrame(uint8_t opcode, const std::string& payload) {
  std::string out;
  AppendServerFrame(out, opcode, payload);
  return out;
}

std::string Close(uint16_t code, const std::string& reason) {
  return *MakeCloseFrame(code, reason);
}

std::string Text(const std::string& payload) { return *MakeTextFrame(payload); }

// What the client reads: the 101 response, then `frames`.
::testing::AssertionResult Is101Then(const std::string& raw,
                                     const std::string& frames) {
  if (raw.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) != 0) {
    return ::testing::AssertionFailure() << "no 101 first: " << raw;
  }
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos || raw.substr(end + 4) != frames) {
    return ::testing::AssertionFailure() << "after the 101: " << raw;
  }
  return ::testing::AssertionSuccess();
}

// Answers `done` from a thread of its own, as a cluster gate does from its
// bus thread, then runs `after` on that thread.
template <typename Done, typename Answer>
void AnswerFromThread(Done done, Answer answer,
                      std::function<void()> after = {}) {
  std::thread t([&done, &answer, &after] {
    std::move(done)(std::move(answer));
    if (after) after();
  });
  t.join();
}

class AsyncAdmissionTest : public ::testing::Test {
 protected:
  AsyncAdmissionTest() : worker_(0, options_, counters_) {
    options_.handshake_timeout = milliseconds(10000);
    worker_.set_gate(&gate_);
  }

  // A connection whose upgrade request was accepted, its admission
  // pending: nothing written yet, the 101 held until the answer.
  std::shared_ptr<FakeConnection> Connect(
      Connection::Kind kind = Connection::Kind::kMain,
      const std::string& token = "t") {
    auto c = std::make_shared<FakeConnection>(worker_, kind);
    c->Start();
    c->Upgrade("/?token=" + token +
               (kind == Connection::Kind::kVoice ? "&channel=5" : ""));
    Poll();
    EXPECT_FALSE(c->wrote_101());
    EXPECT_EQ(c->TakeRaw(), "");
    EXPECT_FALSE(c->admitted());
    return c;
  }

  uint32_t Deliver(const Delivery& d) {
    const uint32_t n = worker_.Deliver(d, MakeTextFrame(d.payload));
    Poll();
    return n;
  }

  void Poll() {
    worker_.io_context().restart();
    worker_.io_context().poll();
  }

  // Runs the worker's handlers until `done()` or `limit` passes.
  template <typename Pred>
  bool RunUntil(Pred done, milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      worker_.io_context().restart();
      worker_.io_context().run_one_for(milliseconds(5));
    }
    return true;
  }

  uint64_t Refused(uint16_t code) {
    return worker_.stats().refused[RefusalSlot(code)].Get();
  }

  PushOptions options_;
  SharedCounters counters_;
  DeferredGate gate_;
  Worker worker_;
};

TEST_F(AsyncAdmissionTest, MainAdmittedLaterFromAnotherThread) {
  auto c = Connect();
  EXPECT_EQ(counters_.admitted.load(), 1u);  // counted while pending
  EXPECT_EQ(Deliver({.payload = "early", .server_id = 10}), 0u);
  auto call = gate_.TakeMain();
  EXPECT_EQ(call.token, "t");
  EXPECT_EQ(call.id, c->id());
  Poll();
  EXPECT_FALSE(c->wrote_101());  // no bytes before the answer
  AnswerFromThread(std::move(call.done), MainAdmission{1, {10}, "key"});
  EXPECT_FALSE(c->admitted());  // not before the worker runs the answer
  EXPECT_FALSE(c->wrote_101());
  Poll();
  EXPECT_TRUE(c->admitted());
  EXPECT_TRUE(Is101Then(c->TakeRaw(), ""));
  EXPECT_EQ(c->user_id(), 1);
  EXPECT_EQ(c->token(), "key");
  EXPECT_EQ(Deliver({.payload = "e10", .server_id = 10}), 1u);
  EXPECT_EQ(c->TakeWritten(), Text("e10"));
  EXPECT_EQ(worker_.stats().accepted[0].Get(), 1u);

  c->Close(kCloseNormal, "");
  Poll();
  EXPECT_EQ(gate_.main_closed(),
            (std::vector<std::pair<ConnectionId, int64_t>>{{c->id(), 1}}));
  EXPECT_EQ(counters_.admitted.load(), 0u);
}

TEST_F(AsyncAdmissionTest, MainRefusedLaterFromAnotherThread) {
  auto c = Connect();
  AnswerFromThread(gate_.TakeMain().done,
                   Refusal{kCloseUnknownToken, "unknown or expired token"});
  Poll();
  EXPECT_FALSE(c->admitted());
  // A refusal stays a close frame after a successful handshake.
  EXPECT_TRUE(Is101Then(c->TakeRaw(), Close(4001, "unknown or expired token")));
  EXPECT_EQ(Refused(4001), 1u);
  EXPECT_EQ(counters_.admitted.load(), 0u);
  EXPECT_TRUE(gate_.main_closed().empty());  // nothing was admitted
}

TEST_F(AsyncAdmissionTest, VoiceAdmittedAndRefusedLaterFromAnotherThread) {
  auto v = Connect(Connection::Kind::kVoice);
  auto call = gate_.TakeVoice();
  EXPECT_EQ(call.channel, 5);
  EXPECT_EQ(call.id, v->id());
  AnswerFromThread(std::move(call.done), VoiceAdmission{2, 1, 5, "key"});
  Poll();
  EXPECT_TRUE(v->admitted());
  EXPECT_EQ(v->channel_id(), 5);

  auto refused = Connect(Connection::Kind::kVoice);
  AnswerFromThread(gate_.TakeVoice().done,
                   Refusal{kCloseNoVoiceGrant, "no voice grant"});
  Poll();
  EXPECT_TRUE(Is101Then(refused->TakeRaw(), Close(4003, "no voice grant")));
  EXPECT_TRUE(gate_.voice_closed().empty());

  v->Close(kCloseNormal, "");
  Poll();
  EXPECT_EQ(gate_.voice_closed(), std::vector<ConnectionId>{v->id()});
  EXPECT_TRUE(gate_.main_closed().empty());
}

TEST_F(AsyncAdmissionTest, InlineAnswerIsAppliedBeforeAdmitReturns) {
  // An answer given inside AdmitMain registers the connection before any
  // handler runs, as the synchronous gate did.
  class InlineGate : public DeferredGate {
   public:
    void AdmitMain(std::string_view, ConnectionId, MainDone done) override {
      std::move(done)(MainAdmission{1, {10}, "key"});
    }
  } gate;
  worker_.set_gate(&gate);
  auto c = std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
  c->Start();
  c->Upgrade("/?token=t");
  EXPECT_TRUE(c->admitted());
  EXPECT_TRUE(c->wrote_101());
  EXPECT_EQ(worker_.Deliver({.server_id = 10}, MakeTextFrame("x")), 1u);
  Poll();
  EXPECT_TRUE(Is101Then(c->TakeRaw(), Text("x")));
  worker_.set_gate(&gate_);
}

TEST_F(AsyncAdmissionTest, BytesSentBeforeThe101AreParsedAfterIt) {
  // A client may not send frames before the 101; bytes it sends anyway
  // are kept, not parsed, until the answer (as a request's leftover is).
  auto c = Connect();
  c->Receive(ClientFrame(kOpPing, "hi"));
  Poll();
  c->Receive(ClientFrame(kOpText, "ignored"));
  Poll();
  EXPECT_EQ(c->TakeRaw(), "");
  AnswerFromThread(gate_.TakeMain().done, MainAdmission{1, {10}, "key"});
  Poll();
  EXPECT_TRUE(c->admitted());
  EXPECT_TRUE(Is101Then(c->TakeRaw(), ServerFrame(kOpPong, "hi")));
  c->Receive(ClientFrame(kOpPing, "again"));
  Poll();
  EXPECT_EQ(c->TakeWritten(), ServerFrame(kOpPong, "again"));
  EXPECT_EQ(Deliver({.payload = "e", .server_id = 10}), 1u);
  EXPECT_EQ(c->TakeWritten(), Text("e"));
}

TEST_F(AsyncAdmissionTest, ClientCloseBeforeThe101IsAnsweredAfterIt) {
  auto c = Connect();
  auto call = gate_.TakeMain();
  c->Receive(ClientFrame(kOpClose, std::string("\x03\xe8", 2)));  // 1000
  Poll();
  EXPECT_EQ(c->TakeRaw(), "");
  AnswerFromThread(std::move(call.done), MainAdmission{1, {10}, "key"});
  Poll();
  // Admitted, then the pipelined close ends it: 101, then the echo.
  EXPECT_TRUE(Is101Then(c->TakeRaw(), Close(1000, "")));
  EXPECT_FALSE(c->admitted());
  EXPECT_EQ(counters_.admitted.load(), 0u);
  EXPECT_EQ(Deliver({.payload = "e", .server_id = 10}), 0u);
  EXPECT_EQ(Deliver({.payload = "e", .server_id = 0, .users = {1}}), 0u);
  EXPECT_EQ(c->TakeWritten(), "");
  EXPECT_EQ(gate_.main_closed(),
            (std::vector<std::pair<ConnectionId, int64_t>>{{c->id(), 1}}));
  c->ReceiveEof();
  Poll();
  EXPECT_EQ(gate_.main_closed().size(), 1u);  // exactly once
}

TEST_F(AsyncAdmissionTest, MainAnswerForAConnectionGoneIsUndoneOnce) {
  std::weak_ptr<Connection> weak;
  Gate::MainDone done;
  ConnectionId id = 0;
  {
    auto c = Connect();
    id = c->id();
    weak = c;
    done = gate_.TakeMain().done;
    c->ReceiveEof();  // the peer vanished: torn down at once
    Poll();
    EXPECT_TRUE(c->socket_closed());
    EXPECT_FALSE(c->wrote_101());
  }
  Poll();
  // The pending gate call keeps nothing alive.
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(counters_.sockets.load(), 0u);
  EXPECT_EQ(counters_.admitted.load(), 0u);
  AnswerFromThread(std::move(done), MainAdmission{1, {10}, "key"});
  Poll();
  EXPECT_EQ(gate_.main_closed(),
            (std::vector<std::pair<ConnectionId, int64_t>>{{id, 1}}));
  EXPECT_EQ(Deliver({.payload = "e", .server_id = 10}), 0u);
}

TEST_F(AsyncAdmissionTest, VoiceAnswerForAConnectionGoneIsUndoneOnce) {
  std::weak_ptr<Connection> weak;
  Gate::VoiceDone done;
  ConnectionId id = 0;
  {
    auto v = Connect(Connection::Kind::kVoice);
    id = v->id();
    weak = v;
    done = gate_.TakeVoice().done;
    v->ReceiveEof();
    Poll();
  }
  Poll();
  EXPECT_TRUE(weak.expired());
  AnswerFromThread(std::move(done), VoiceAdmission{2, 1, 5, "key"});
  Poll();
  EXPECT_EQ(gate_.voice_closed(), std::vector<ConnectionId>{id});
  EXPECT_TRUE(gate_.main_closed().empty());
}

TEST_F(AsyncAdmissionTest, VoiceClosedByTheServerWhilePendingIsUndoneOnce) {
  auto v = Connect(Connection::Kind::kVoice);
  auto call = gate_.TakeVoice();
  v->Close(kCloseGoingAway, "server shutting down");
  Poll();
  EXPECT_TRUE(Is101Then(v->TakeRaw(), Close(1001, "server shutting down")));
  AnswerFromThread(std::move(call.done), VoiceAdmission{2, 1, 5, "key"});
  Poll();
  EXPECT_FALSE(v->admitted());
  EXPECT_EQ(gate_.voice_closed(), std::vector<ConnectionId>{v->id()});
  v->ReceiveEof();
  Poll();
  EXPECT_EQ(gate_.voice_closed().size(), 1u);
}

TEST_F(AsyncAdmissionTest, RefusalForAConnectionGoneNeedsNoUndo) {
  auto c = Connect();
  auto call = gate_.TakeMain();
  c->ReceiveEof();
  Poll();
  AnswerFromThread(std::move(call.done), Refusal{4001, "unknown"});
  Poll();
  EXPECT_TRUE(gate_.main_closed().empty());
  EXPECT_EQ(Refused(4001), 0u);
}

TEST_F(AsyncAdmissionTest, GateThatNeverAnswersIsClosedWith1013) {
  options_.handshake_timeout = milliseconds(50);
  std::weak_ptr<Connection> weak;
  Gate::MainDone done;
  ConnectionId id = 0;
  {
    auto c = Connect();
    id = c->id();
    weak = c;
    done = gate_.TakeMain().done;
    const auto start = std::chrono::steady_clock::now();
    std::string written;
    ASSERT_TRUE(RunUntil(
        [&] {
          written += c->TakeRaw();
          return !written.empty();
        },
        milliseconds(5000)));
    EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(50));
    // Nothing until the timeout, then the 101 and the 1013 close.
    Poll();
    written += c->TakeRaw();
    EXPECT_TRUE(
        Is101Then(written, Close(kCloseTryAgainLater, "try again later")));
    EXPECT_EQ(Refused(1013), 1u);
    EXPECT_EQ(counters_.admitted.load(), 0u);
    c->Receive(ClientFrame(kOpClose, std::string("\x03\xf5", 2)));  // 1013
    Poll();
    c->ReceiveEof();
    Poll();
    EXPECT_TRUE(c->socket_closed());
  }
  Poll();
  EXPECT_TRUE(weak.expired());
  // A late answer is undone; one never given leaks nothing either.
  AnswerFromThread(std::move(done), MainAdmission{1, {10}, "key"});
  Poll();
  EXPECT_EQ(gate_.main_closed(),
            (std::vector<std::pair<ConnectionId, int64_t>>{{id, 1}}));
}

TEST_F(AsyncAdmissionTest, AnswerInTimeCancelsTheAdmissionTimeout) {
  options_.handshake_timeout = milliseconds(30);
  auto c = Connect();
  AnswerFromThread(gate_.TakeMain().done, MainAdmission{1, {}, "key"});
  Poll();
  ASSERT_TRUE(c->admitted());
  RunUntil([] { return false; }, milliseconds(100));
  EXPECT_TRUE(c->admitted());
  EXPECT_EQ(c->TakeWritten(), "");
}

TEST_F(AsyncAdmissionTest, AnswerThenRouteFromTheSameThreadArriveInOrder) {
  // The gate read the user's servers before user_joined added server 10;
  // its answer and that event leave the answering thread in this order.
  auto c = Connect();
  auto call = gate_.TakeMain();
  AnswerFromThread(std::move(call.done), MainAdmission{1, {}, "key"}, [&] {
    worker_.Post([this] {
      Delivery joined{.payload = "joined", .server_id = 10};
      joined.before.push_back({MembershipChange::Kind::kAdd, 1, 10});
      worker_.Deliver(joined, MakeTextFrame(joined.payload));
    });
    worker_.Post([this] {
      Delivery d{.payload = "after", .server_id = 10};
      worker_.Deliver(d, MakeTextFrame(d.payload));
    });
  });
  Poll();
  EXPECT_TRUE(c->admitted());
  // The client sees its 101 only with the answer, and the events the
  // answering thread routed right after it follow the 101.
  EXPECT_TRUE(Is101Then(c->TakeRaw(), Text("joined") + Text("after")));
}

TEST_F(AsyncAdmissionTest, PerUserLimitAppliesToTheAnswerAndUndoes) {
  options_.max_connections_per_user = 1;
  auto a1 = Connect(), a2 = Connect();
  AnswerFromThread(gate_.TakeMain().done, MainAdmission{1, {}, "k1"});
  AnswerFromThread(gate_.TakeMain().done, MainAdmission{1, {}, "k2"});
  Poll();
  EXPECT_TRUE(a1->admitted());
  EXPECT_FALSE(a2->admitted());
  EXPECT_TRUE(Is101Then(a2->TakeRaw(),
                        Close(4029, "too many connections for this user")));
  EXPECT_EQ(counters_.refused_user.load(), 1u);
  EXPECT_EQ(gate_.main_closed(),
            (std::vector<std::pair<ConnectionId, int64_t>>{{a2->id(), 1}}));
  a1->Close(kCloseNormal, "");
  Poll();
  EXPECT_EQ(gate_.main_closed().size(), 2u);
  EXPECT_EQ(counters_.admitted.load(), 0u);
}

// The worker on its own thread, answers racing closes from another: every
// admitted connection's gate hears OnMainClosed exactly once, whichever
// came first (run under ASan/TSan by tools/sanitize).
TEST(AsyncAdmissionThreadsTest, AnswersRacingClosesUndoExactlyOnce) {
  constexpr int kConnections = 200;
  PushOptions options;
  SharedCounters counters;
  DeferredGate gate;
  Worker worker(0, options, counters);
  worker.Start(&gate);

  std::vector<std::shared_ptr<FakeConnection>> connections;
  std::promise<void> created;
  worker.Post([&] {
    for (int i = 0; i < kConnections; ++i) {
      auto c =
          std::make_shared<FakeConnection>(worker, Connection::Kind::kMain);
      c->Start();
      c->Upgrade("/?token=t");
      connections.push_back(c);
    }
    created.set_value();
  });
  created.get_future().wait();
  ASSERT_EQ(gate.pending_main(), static_cast<size_t>(kConnections));

  std::set<ConnectionId> ids;
  std::thread answers([&] {
    for (int i = 0; i < kConnections; ++i) {
      auto call = gate.TakeMain();
      ids.insert(call.id);
      std::move(call.done)(MainAdmission{i, {1}, "k"});
    }
  });
  // Meanwhile the worker closes every other connection, some before their
  // answer, some after.
  for (int i = 0; i < kConnections; i += 2) {
    worker.Post([&, i] { connections[i]->Close(kCloseNormal, ""); });
  }
  answers.join();
  std::promise<void> closed;
  worker.Post([&] {
    worker.CloseAll(kCloseGoingAway, "server shutting down");
    for (auto& c : connections) c->ReceiveEof();
    connections.clear();
    closed.set_value();
  });
  closed.get_future().wait();
  std::promise<void> flushed;
  worker.Post([&] { flushed.set_value(); });
  flushed.get_future().wait();
  worker.Stop();
  worker.Join();

  std::map<ConnectionId, int> undone;
  for (const auto& [id, user] : gate.main_closed()) ++undone[id];
  EXPECT_EQ(undone.size(), ids.size());
  for (const auto& [id, count] : undone) {
    EXPECT_TRUE(ids.contains(id));
    EXPECT_EQ(count, 1) << id;
  }
  EXPECT_EQ(counters.admitted.load(), 0u);
  EXPECT_EQ(counters.sockets.load(), 0u);
}

}  // namespace
}  // namespace herald::push
