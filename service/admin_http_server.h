#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "service/admin_limits.h"

namespace herald::service {

// One answer of the admin port.
struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Builds the answer to GET <path>; runs on the admin server's thread (it may
// wait for the I/O workers, never for a client).
using AdminHandler = std::function<AdminResponse()>;

// A small HTTP/1.1 server for /metrics, /healthz, /readyz, /stats.json and
// the status page: GET and HEAD of fixed paths (the query string is
// ignored), 404 for other paths, 405 for other methods, keep-alive.
//
// Thread: Start and Stop from the controlling thread; everything else runs
// on the server's own thread.
class AdminHttpServer {
 public:
  // Listens on `address` (IPV4:PORT, [IPV6]:PORT or localhost:PORT; port 0:
  // any free port) and starts the thread. Errors name the address.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(
      const std::string& address, std::map<std::string, AdminHandler> routes,
      AdminLimits limits = {});
  ~AdminHttpServer();

  uint16_t port() const { return port_; }
  // Closes the listener and every connection, joins the thread.
  void Stop();

 private:
  class Session;
  AdminHttpServer(std::map<std::string, AdminHandler> routes,
                  AdminLimits limits);
  void DoAccept();
  void OnAccept(boost::system::error_code ec,
                boost::asio::ip::tcp::socket socket);
  // The response to one request (status, headers, body).
  AdminResponse Answer(const std::string& method, const std::string& target);

  const std::map<std::string, AdminHandler> routes_;
  const AdminLimits limits_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  size_t open_ = 0;  // sessions alive; admin thread only
  uint16_t port_ = 0;
  std::thread thread_;
  bool stopped_ = false;
};

// Splits "HOST:PORT" / "[V6]:PORT" into host and port; false when malformed.
bool SplitHostPort(const std::string& address, std::string* host,
                   uint16_t* port);

}  // namespace herald::service
