// Routing through a Worker's indices, with connections whose I/O is faked:
// the real Connection protocol code runs, the bytes it writes are captured.
#include "push/worker.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "boost/asio/post.hpp"
#include "gtest/gtest.h"
#include "push/close_codes.h"
#include "push/gate.h"

namespace herald::push {
namespace {

class FakeGate : public Gate {
 public:
  std::map<std::string, MainAdmission> tokens;
  std::vector<ConnectionId> voice_closed;
  std::vector<std::pair<ConnectionId, int64_t>> main_closed;

  void AdmitMain(std::string_view token, ConnectionId, MainDone done) override {
    auto it = tokens.find(std::string(token));
    if (it == tokens.end()) {
      std::move(done)(Refusal{4001, "unknown or expired token"});
      return;
    }
    std::move(done)(it->second);
  }
  void AdmitVoice(std::string_view token, int64_t channel, ConnectionId,
                  VoiceDone done) override {
    auto it = tokens.find(std::string(token));
    if (it == tokens.end()) {
      std::move(done)(Refusal{4001, "unknown or expired token"});
      return;
    }
    std::move(done)(VoiceAdmission{it->second.user_id, 1, channel});
  }
  void OnMainClosed(ConnectionId id, int64_t user) override {
    main_closed.emplace_back(id, user);
  }
  void OnVoiceClosed(ConnectionId id) override { voice_closed.push_back(id); }
};

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

  // Everything written since the last call, minus the upgrade response.
  std::string TakeWritten() {
    std::string out;
    out.swap(written_);
    if (out.rfind("HTTP/1.1 101", 0) == 0)
      out.erase(0, out.find("\r\n\r\n") + 4);
    return out;
  }

  bool stalled = false;
  bool complete_inline = false;  // writes finish inside StartWrite
  bool socket_closed = false;
  int writes = 0;

 protected:
  void AsyncTransportHandshake() override {}
  void AsyncReadSome(uint8_t*, size_t) override {}
  WriteStart StartWrite(WriteBuffers buffers, size_t size) override {
    size_t total = 0;
    for (const auto& b : buffers) {
      written_.append(static_cast<const char*>(b.data()), b.size());
      total += b.size();
    }
    EXPECT_EQ(total, size);
    ++writes;
    if (stalled) return WriteStart::kPending;  // never completes
    if (complete_inline) return WriteStart::kDone;
    boost::asio::post(worker_.io_context(), [self = shared_from_this(), size,
                                             this] { OnWrite({}, size); });
    return WriteStart::kPending;
  }
  void ShutdownSend() override {}
  void CloseSocket() override { socket_closed = true; }

 private:
  std::string written_;
};

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() : worker_(0, options_, counters_) {
    options_.max_queue_bytes = 4096;
    worker_.set_gate(&gate_);
    gate_.tokens["a"] = {1, {10, 20}};
    gate_.tokens["b"] = {2, {10}};
    gate_.tokens["c"] = {3, {}};
  }

  std::shared_ptr<FakeConnection> Connect(
      const std::string& token,
      Connection::Kind kind = Connection::Kind::kMain) {
    auto c = std::make_shared<FakeConnection>(worker_, kind);
    c->Start();
    c->Upgrade("/?token=" + token +
               (kind == Connection::Kind::kVoice ? "&channel=5" : ""));
    Poll();
    c->TakeWritten();
    return c;
  }

  uint32_t Deliver(const Delivery& d) {
    uint32_t n = worker_.Deliver(
        d, d.payload.empty() ? nullptr : MakeTextFrame(d.payload));
    Poll();
    return n;
  }

  void Poll() {
    worker_.io_context().restart();
    worker_.io_context().poll();
  }

  static std::string Text(const std::string& payload) {
    return *MakeTextFrame(payload);
  }

  PushOptions options_;
  SharedCounters counters_;
  FakeGate gate_;
  Worker worker_;
};

TEST_F(WorkerTest, ServerAudienceReachesEveryConnectionOfEveryMember) {
  auto a1 = Connect("a"), a2 = Connect("a"), b = Connect("b"), c = Connect("c");
  EXPECT_EQ(Deliver({.payload = "e10", .server_id = 10}), 3u);
  EXPECT_EQ(a1->TakeWritten(), Text("e10"));
  EXPECT_EQ(a2->TakeWritten(), Text("e10"));
  EXPECT_EQ(b->TakeWritten(), Text("e10"));
  EXPECT_EQ(c->TakeWritten(), "");
  EXPECT_EQ(Deliver({.payload = "e20", .server_id = 20}), 2u);
  EXPECT_EQ(b->TakeWritten(), "");
  EXPECT_EQ(Deliver({.payload = "e99", .server_id = 99}), 0u);
}

TEST_F(WorkerTest, VisibleToNarrowsToMembersListed) {
  auto a = Connect("a"), b = Connect("b"), c = Connect("c");
  EXPECT_EQ(Deliver({.payload = "p", .server_id = 10, .users = {2, 3}}), 1u);
  EXPECT_EQ(a->TakeWritten(), "");
  EXPECT_EQ(b->TakeWritten(), Text("p"));
  EXPECT_EQ(c->TakeWritten(), "");  // listed but not a member
}

TEST_F(WorkerTest, UserAudienceIgnoresMembership) {
  auto a = Connect("a"), c = Connect("c");
  EXPECT_EQ(Deliver({.payload = "owner", .server_id = 0, .users = {3}}), 1u);
  EXPECT_EQ(c->TakeWritten(), Text("owner"));
  EXPECT_EQ(a->TakeWritten(), "");
}

TEST_F(WorkerTest, JoinBeforeAndLeaveAfterDelivery) {
  auto a = Connect("a"), c = Connect("c");
  Delivery joined{.payload = "joined", .server_id = 10};
  joined.before.push_back({MembershipChange::Kind::kAdd, 3, 10});
  EXPECT_EQ(Deliver(joined), 2u);
  EXPECT_EQ(c->TakeWritten(), Text("joined"));
  Delivery left{.payload = "left", .server_id = 10};
  left.after.push_back({MembershipChange::Kind::kRemove, 3, 10});
  EXPECT_EQ(Deliver(left), 2u);
  EXPECT_EQ(c->TakeWritten(), Text("left"));
  EXPECT_EQ(Deliver({.payload = "later", .server_id = 10}), 1u);
  EXPECT_EQ(c->TakeWritten(), "");
  EXPECT_EQ(a->TakeWritten(), Text("joined") + Text("left") + Text("later"));
}

TEST_F(WorkerTest, DropServerAfterDelivery) {
  auto a = Connect("a"), b = Connect("b");
  Delivery deleted{.payload = "deleted", .server_id = 10};
  deleted.after.push_back({MembershipChange::Kind::kDropServer, 0, 10});
  EXPECT_EQ(Deliver(deleted), 2u);
  EXPECT_EQ(Deliver({.payload = "x", .server_id = 10}), 0u);
  EXPECT_EQ(Deliver({.payload = "y", .server_id = 20}), 1u);
}

TEST_F(WorkerTest, VoiceConnectionsGetNoEvents) {
  auto v = Connect("a", Connection::Kind::kVoice);
  EXPECT_EQ(Deliver({.payload = "e", .server_id = 10}), 0u);
  EXPECT_EQ(Deliver({.payload = "e", .server_id = 0, .users = {1}}), 0u);
  EXPECT_EQ(v->TakeWritten(), "");
  worker_.CloseUser(1, "", kCloseSessionClosed, "session closed");
  Poll();
  EXPECT_EQ(v->TakeWritten(), *MakeCloseFrame(4004, "session closed"));
  ASSERT_EQ(gate_.voice_closed.size(), 1u);
  EXPECT_EQ(gate_.voice_closed[0], v->id());
}

TEST_F(WorkerTest, FramesPendingDuringAWriteGoOutTogether) {
  auto a = Connect("a");
  a->stalled = true;
  Deliver({.payload = "1", .server_id = 10});
  Deliver({.payload = "2", .server_id = 10});
  Deliver({.payload = "3", .server_id = 10});
  EXPECT_EQ(a->TakeWritten(), Text("1"));  // only the first is in flight
}

TEST_F(WorkerTest, EventsWaitingTogetherLeaveInOneWrite) {
  auto a = Connect("a"), b = Connect("b");
  const int before = a->writes;
  // Three events reach the worker before it gets to any: one write each
  // connection, all three frames gathered in order.
  for (const char* p : {"1", "2", "3"}) {
    worker_.PostDelivery([this, p] {
      worker_.Deliver({.payload = p, .server_id = 10}, MakeTextFrame(p));
    });
  }
  EXPECT_EQ(a->writes, before);
  Poll();
  EXPECT_EQ(a->writes, before + 1);
  EXPECT_EQ(a->TakeWritten(), Text("1") + Text("2") + Text("3"));
  EXPECT_EQ(b->TakeWritten(), Text("1") + Text("2") + Text("3"));
}

TEST_F(WorkerTest, LoneEventIsWrittenInTheDeliveryPass) {
  auto a = Connect("a"), b = Connect("b");
  // Nothing waits behind it, nor behind the ones before it: each
  // recipient's write starts in Deliver itself, not from a flush handler
  // run afterwards.
  for (const char* p : {"w1", "w2"}) {
    worker_.PostDelivery([this, p] {
      worker_.Deliver({.payload = p, .server_id = 10}, MakeTextFrame(p));
    });
    Poll();
  }
  a->TakeWritten();
  b->TakeWritten();
  const int before = a->writes;
  bool written_in_pass = false;
  worker_.PostDelivery([&] {
    worker_.Deliver({.payload = "1", .server_id = 10}, MakeTextFrame("1"));
    written_in_pass = a->writes == before + 1 && b->writes == before + 1;
  });
  Poll();
  EXPECT_TRUE(written_in_pass);
  EXPECT_EQ(a->TakeWritten(), Text("1"));
  EXPECT_EQ(b->TakeWritten(), Text("1"));
}

TEST_F(WorkerTest, LoneEventRightAfterABatchWaitsForTheFlush) {
  auto a = Connect("a");
  for (const char* p : {"1", "2"}) {
    worker_.PostDelivery([this, p] {
      worker_.Deliver({.payload = p, .server_id = 10}, MakeTextFrame(p));
    });
  }
  Poll();
  a->TakeWritten();
  const int before = a->writes;
  bool written_in_pass = true;
  worker_.PostDelivery([&] {
    worker_.Deliver({.payload = "3", .server_id = 10}, MakeTextFrame("3"));
    written_in_pass = a->writes != before;
  });
  Poll();
  EXPECT_FALSE(written_in_pass);  // deferred: more may follow the batch
  EXPECT_EQ(a->TakeWritten(), Text("3"));
}

TEST_F(WorkerTest, EventBehindAWriteInFlightWaitsForIt) {
  auto a = Connect("a");
  a->stalled = true;  // the first write never completes by itself
  const int before = a->writes;
  worker_.PostDelivery([this] {
    worker_.Deliver({.payload = "1", .server_id = 10}, MakeTextFrame("1"));
  });
  Poll();
  worker_.PostDelivery([this] {
    worker_.Deliver({.payload = "2", .server_id = 10}, MakeTextFrame("2"));
  });
  Poll();
  EXPECT_EQ(a->writes, before + 1);  // "2" waits behind "1"
  EXPECT_EQ(a->TakeWritten(), Text("1"));
}

TEST_F(WorkerTest, WritesCompletedAtOnceKeepTheStreamInOrder) {
  auto a = Connect("a");
  a->complete_inline = true;
  const int before = a->writes;
  for (const char* p : {"1", "2", "3"})
    Deliver({.payload = p, .server_id = 10});
  EXPECT_EQ(a->writes, before + 3);
  EXPECT_EQ(a->TakeWritten(), Text("1") + Text("2") + Text("3"));
  a->Close(4001, "bye");
  Poll();
  EXPECT_EQ(a->TakeWritten(), *MakeCloseFrame(4001, "bye"));
  EXPECT_FALSE(a->admitted());
}

TEST_F(WorkerTest, SlowConsumerIsClosedWith4008AndOthersUnaffected) {
  auto slow = Connect("a"), fast = Connect("b");
  slow->stalled = true;
  const std::string big(1000, 'x');
  for (int i = 0; i < 10; ++i) Deliver({.payload = big, .server_id = 10});
  EXPECT_FALSE(slow->admitted());
  EXPECT_EQ(Deliver({.payload = "after", .server_id = 10}), 1u);
  std::string got = fast->TakeWritten();
  EXPECT_EQ(got.size(), 10 * Text(big).size() + Text("after").size());
  // The first frame was in flight; the queued ones were dropped and the
  // close frame follows once the stalled write completes.
  EXPECT_EQ(slow->TakeWritten(), Text(big));
}

TEST_F(WorkerTest, RefusalSendsCloseFrameAfterUpgrade) {
  auto c = std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
  c->Start();
  c->Upgrade("/?token=nope");
  Poll();
  EXPECT_EQ(c->TakeWritten(),
            *MakeCloseFrame(4001, "unknown or expired token"));
  EXPECT_FALSE(c->admitted());
}

TEST_F(WorkerTest, BadTargetsAreRefusedWith4000) {
  const std::pair<std::string, std::string> cases[] = {
      {"/", "missing token"},
      {"/?token=", "missing token"},
      {"/?x=1", "missing token"}};
  for (const auto& [target, reason] : cases) {
    auto c = std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
    c->Start();
    c->Upgrade(target);
    Poll();
    EXPECT_EQ(c->TakeWritten(), *MakeCloseFrame(4000, reason)) << target;
  }
  const std::pair<std::string, std::string> voice[] = {
      {"/?token=a", "missing channel"},
      {"/?token=a&channel=", "missing channel"},
      {"/?token=a&channel=x", "malformed channel"},
      {"/?token=a&channel=-1", "malformed channel"},
      {"/?token=a&channel=0", "malformed channel"},
      {"/?token=a&channel=99999999999999999999", "malformed channel"}};
  for (const auto& [target, reason] : voice) {
    auto c =
        std::make_shared<FakeConnection>(worker_, Connection::Kind::kVoice);
    c->Start();
    c->Upgrade(target);
    Poll();
    EXPECT_EQ(c->TakeWritten(), *MakeCloseFrame(4000, reason)) << target;
  }
}

TEST_F(WorkerTest, PercentEncodedTokenIsDecoded) {
  gate_.tokens["a b"] = {7, {10}};
  auto c = Connect("a%20b");
  EXPECT_TRUE(c->admitted());
}

TEST_F(WorkerTest, ConnectionLimitRefusesWith4029) {
  options_.max_connections = 1;
  auto a = Connect("a");
  auto c = std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
  c->Start();
  c->Upgrade("/?token=b");
  Poll();
  EXPECT_EQ(c->TakeWritten(), *MakeCloseFrame(4029, "too many connections"));
}

TEST_F(WorkerTest, PerUserLimitRefusesWith4029AndFreesOnClose) {
  options_.max_connections_per_user = 2;
  auto a1 = Connect("a"), a2 = Connect("a");
  auto a3 = std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
  a3->Start();
  a3->Upgrade("/?token=a");
  Poll();
  EXPECT_EQ(a3->TakeWritten(),
            *MakeCloseFrame(4029, "too many connections for this user"));
  EXPECT_FALSE(a3->admitted());
  EXPECT_EQ(counters_.refused_user.load(), 1u);
  EXPECT_TRUE(Connect("b")->admitted());  // another user is not affected
  a1->Close(1000, "");
  Poll();
  EXPECT_TRUE(Connect("a")->admitted());
}

TEST_F(WorkerTest, EvictionClosesOnlyStalledHandshakesOldestFirst) {
  options_.handshake_evict_after = std::chrono::milliseconds(1000);
  auto admitted = Connect("a");
  auto old = std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
  auto young =
      std::make_shared<FakeConnection>(worker_, Connection::Kind::kMain);
  old->Start();
  young->Start();
  const auto now = std::chrono::steady_clock::now();
  // Younger than handshake_evict_after: waiting for CPU, never evicted.
  EXPECT_EQ(worker_.EvictStalledHandshakes(now, 10), 0u);
  EXPECT_TRUE(old->handshaking());
  EXPECT_TRUE(young->handshaking());
  const auto later = now + std::chrono::seconds(2);
  EXPECT_EQ(worker_.EvictStalledHandshakes(later, 1), 1u);
  Poll();
  EXPECT_FALSE(old->handshaking());
  EXPECT_TRUE(young->handshaking());
  EXPECT_TRUE(admitted->admitted());
  EXPECT_EQ(worker_.EvictStalledHandshakes(later, 10), 1u);
  EXPECT_EQ(worker_.EvictStalledHandshakes(later, 10), 0u);  // admitted left
  EXPECT_TRUE(admitted->admitted());
  EXPECT_EQ(counters_.evicted_handshakes.load(), 2u);
}

TEST_F(WorkerTest, PingRoundsEachReachOneSliceAndAllReachEveryoneOnce) {
  std::vector<std::shared_ptr<FakeConnection>> all;
  for (int i = 0; i < 48; ++i) {
    const std::string token = "p" + std::to_string(i);
    gate_.tokens[token] = {100 + i, {}};
    all.push_back(Connect(token));
  }
  auto pinged = [&] {
    size_t n = 0;
    for (auto& c : all) n += c->TakeWritten() == *PingFrame() ? 1 : 0;
    return n;
  };
  worker_.PingRound();
  Poll();
  EXPECT_EQ(pinged(), 48 / Worker::kPingSlices);  // not all 48 at once
  size_t total = 48 / Worker::kPingSlices;
  for (uint64_t i = 1; i < Worker::kPingSlices; ++i) {
    worker_.PingRound();
    Poll();
    total += pinged();
  }
  EXPECT_EQ(total, 48u);  // one interval: each exactly once
  for (auto& c : all) EXPECT_TRUE(c->admitted());
}

TEST_F(WorkerTest, SilentConnectionIsClosedOnSecondPingTick) {
  auto a = Connect("a");
  a->PingTick();
  Poll();
  EXPECT_EQ(a->TakeWritten(), *PingFrame());
  a->PingTick();
  Poll();
  EXPECT_EQ(a->TakeWritten(), *MakeCloseFrame(4009, "ping timeout"));
}

}  // namespace
}  // namespace herald::push
