#include "service/admin_http_server.h"

#include <charconv>
#include <optional>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http.hpp"
#include "push/log.h"

namespace herald::service {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool SplitHostPort(const std::string& address, std::string* host,
                   uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = address.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return false;  // an IPv6 address needs brackets
  }
  const std::string p = address.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() ||
      value > 65535) {
    return false;
  }
  *host = h == "localhost" ? "127.0.0.1" : h;
  *port = static_cast<uint16_t>(value);
  return true;
}

// One client connection: reads requests one at a time and answers each.
class AdminHttpServer::Session
    : public std::enable_shared_from_this<AdminHttpServer::Session> {
 public:
  Session(AdminHttpServer& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    ++server_.open_;
  }
  ~Session() { --server_.open_; }

  void DoRead() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(server_.limits_.max_request_bytes));
    parser_->body_limit(0);
    stream_.expires_after(server_.limits_.timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      Send(AdminResponse{431, "text/plain; charset=utf-8",
                         "request header too large\n"},
           /*keep_alive=*/false, /*head=*/false);
      return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted && ec != asio::error::eof &&
          ec != asio::error::connection_reset) {
        Send(AdminResponse{400, "text/plain; charset=utf-8", "bad request\n"},
             false, false);
        return;
      }
      Close();
      return;
    }
    const auto& req = parser_->get();
    ++requests_;
    const bool keep_alive =
        req.keep_alive() &&
        requests_ < server_.limits_.max_requests_per_connection;
    Send(server_.Answer(std::string(req.method_string()),
                        std::string(req.target())),
         keep_alive, req.method() == http::verb::head);
  }

  void Send(AdminResponse answer, bool keep_alive, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(answer.status));
    res->set(http::field::server, "herald");
    res->set(http::field::content_type, answer.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    if (answer.status == 405) res->set(http::field::allow, "GET, HEAD");
    if (answer.content_type.rfind("text/html", 0) == 0) {
      res->set("Content-Security-Policy",
               "default-src 'none'; script-src 'unsafe-inline'; style-src "
               "'unsafe-inline'; img-src data:; connect-src 'self'");
    }
    res->keep_alive(keep_alive);
    const size_t length = answer.body.size();
    if (!head) res->body() = std::move(answer.body);
    res->content_length(length);
    stream_.expires_after(server_.limits_.timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](
                          beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          self->Close();
                          return;
                        }
                        self->DoRead();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  AdminHttpServer& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  size_t requests_ = 0;
};

AdminHttpServer::AdminHttpServer(std::map<std::string, AdminHandler> routes,
                                 AdminLimits limits)
    : routes_(std::move(routes)), limits_(limits), acceptor_(io_) {}

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(
    const std::string& address, std::map<std::string, AdminHandler> routes,
    AdminLimits limits) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid --admin_address '", address, "': expected HOST:PORT"));
  }
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid --admin_address '", address,
                     "': host must be an IP address or localhost"));
  }
  auto server = std::unique_ptr<AdminHttpServer>(
      new AdminHttpServer(std::move(routes), limits));
  const tcp::endpoint endpoint(ip, port);
  auto& acceptor = server->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(64, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve the admin port on ", address, ": ", ec.message()));
  }
  server->port_ = acceptor.local_endpoint().port();
  server->DoAccept();
  server->thread_ = std::thread([s = server.get()] { s->io_.run(); });
  return server;
}

AdminHttpServer::~AdminHttpServer() { Stop(); }

void AdminHttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void AdminHttpServer::DoAccept() {
  acceptor_.async_accept(
      [this](boost::system::error_code ec, tcp::socket socket) {
        OnAccept(ec, std::move(socket));
      });
}

void AdminHttpServer::OnAccept(boost::system::error_code ec,
                               tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;
  if (!ec) {
    if (open_ >= limits_.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(*this, std::move(socket))->DoRead();
    }
  } else {
    // EMFILE and the like: try again shortly rather than spin.
    auto timer = std::make_shared<asio::steady_timer>(
        io_, std::chrono::milliseconds(100));
    timer->async_wait([this, timer](boost::system::error_code) { DoAccept(); });
    return;
  }
  DoAccept();
}

AdminResponse AdminHttpServer::Answer(const std::string& method,
                                      const std::string& target) {
  if (method != "GET" && method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  const std::string path = target.substr(0, target.find('?'));
  auto it = routes_.find(path);
  if (it == routes_.end()) {
    return {404, "text/plain; charset=utf-8", "not found\n"};
  }
  return it->second();
}

}  // namespace herald::service
