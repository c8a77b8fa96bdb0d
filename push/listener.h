#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "push/connection.h"
#include "push/tls_context_store.h"
#include "push/worker.h"

namespace herald::push {

// Accepts TCP connections on one port and hands each to a worker, round
// robin, where a Session is created for it. Before any TLS or HTTP work a
// socket is screened: beyond the descriptor budget (max_connections +
// max_handshaking sockets) or beyond its IP's limits it is closed at once
// (plain: after an HTTP 429 for the per-IP limits), and counted in
// SharedCounters. With max_handshaking sockets not admitted the listener
// stops accepting: new connections wait in the kernel's listen backlog
// (which costs herald nothing) and it looks again every kRoomPoll. While
// some wait, the workers close handshakes older than
// --handshake_evict_after_ms (stalled: a flood of silent or slow sockets),
// oldest first, at most as many as wait; younger handshakes are never
// closed, so a reconnect storm of real clients is only delayed, and a
// flood bounds memory without locking good clients out for long.
//
// Out of descriptors (EMFILE/ENFILE) the listener keeps one spare
// descriptor: it closes it, accepts and closes the pending connection (so
// the client sees an immediate close rather than hanging in the backlog),
// and reopens it; without a spare it pauses accepting for 100 ms. Either
// way it never spins and never loses the listening socket.
//
// Thread: runs on the first worker's I/O thread after Start.
class Listener {
 public:
  // Binds and listens; port 0 picks a free port.
  static absl::StatusOr<std::unique_ptr<Listener>> Create(
      const std::string& address, uint16_t port, Connection::Kind kind,
      std::vector<Worker*> workers, const TlsContextStore* tls,
      SharedCounters& counters);

  ~Listener();

  uint16_t port() const { return port_; }
  void Start();  // any thread: posts the first accept
  void Stop();   // any thread: posts the close

 private:
  Listener(boost::asio::ip::tcp::acceptor acceptor, Connection::Kind kind,
           std::vector<Worker*> workers, const TlsContextStore* tls,
           SharedCounters& counters);
  void DoAccept();
  void OnAccept(boost::system::error_code ec,
                boost::asio::ip::tcp::socket socket, Worker* worker);
  void OnAcceptError(boost::system::error_code ec);
  // Sheds one pending connection with the spare descriptor; false if there
  // was no spare or no pending connection.
  bool ShedWithSpare();
  void ReopenSpare();
  void PauseAccepting(std::chrono::milliseconds pause);
  // At max_handshaking sockets not admitted.
  bool HandshakesFull() const;
  // Connections waiting in the listen backlog.
  size_t Backlog() const;
  // Asks the workers to evict stalled handshakes if connections wait, and
  // looks again after kRoomPoll.
  void WaitForRoom();
  static constexpr std::chrono::milliseconds kRoomPoll{5};
  // What Screen decided for a socket that may go on.
  struct Admission {
    bool peer_counted = false;  // counted in the per-IP table as `peer`
    PeerLimits::Key peer{};
  };
  // Screens a new socket: false if it was refused (and closed).
  bool Screen(boost::asio::ip::tcp::socket& socket, Worker* worker,
              Admission& admission);
  void RefuseAtAccept(boost::asio::ip::tcp::socket& socket, bool tell_http);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  const Connection::Kind kind_;
  const std::vector<Worker*> workers_;
  const TlsContextStore* const tls_;  // null: plain ws://
  SharedCounters& counters_;
  uint16_t port_ = 0;
  size_t next_worker_ = 0;
  int spare_fd_ = -1;
  // Workers that have not yet run the last eviction request.
  std::atomic<size_t> evictions_in_flight_{0};
  std::chrono::steady_clock::time_point last_error_log_{};
};

}  // namespace herald::push
