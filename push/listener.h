#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "push/connection.h"
#include "push/worker.h"

namespace herald::push {

// Accepts TCP connections on one port and hands each to a worker, round
// robin, where a Session is created for it.
//
// Thread: runs on the first worker's I/O thread after Start.
class Listener {
 public:
  // Binds and listens; port 0 picks a free port.
  static absl::StatusOr<std::unique_ptr<Listener>> Create(
      const std::string& address, uint16_t port, Connection::Kind kind,
      std::vector<Worker*> workers, boost::asio::ssl::context* tls,
      SharedCounters& counters);

  uint16_t port() const { return port_; }
  void Start();  // any thread: posts the first accept
  void Stop();   // any thread: posts the close

 private:
  Listener(boost::asio::ip::tcp::acceptor acceptor, Connection::Kind kind,
           std::vector<Worker*> workers, boost::asio::ssl::context* tls,
           SharedCounters& counters);
  void DoAccept();
  void OnAccept(boost::system::error_code ec,
                boost::asio::ip::tcp::socket socket, Worker* worker);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  const Connection::Kind kind_;
  const std::vector<Worker*> workers_;
  boost::asio::ssl::context* const tls_;
  SharedCounters& counters_;
  uint16_t port_ = 0;
  size_t next_worker_ = 0;
};

}  // namespace herald::push
