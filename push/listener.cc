#include "push/listener.h"

#include "absl/strings/str_cat.h"
#include "push/log.h"
#include "push/plain_session.h"
#include "push/tls_session.h"

namespace herald::push {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

absl::StatusOr<std::unique_ptr<Listener>> Listener::Create(
    const std::string& address, uint16_t port, Connection::Kind kind,
    std::vector<Worker*> workers, asio::ssl::context* tls,
    SharedCounters& counters) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad bind address '", address, "': ", ec.message()));
  }
  tcp::endpoint endpoint(ip, port);
  tcp::acceptor acceptor(workers.front()->io_context());
  const auto fail = [&](const char* what) {
    return absl::UnavailableError(absl::StrCat("cannot ", what, " ",
                                               endpoint.address().to_string(),
                                               ":", port, ": ", ec.message()));
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  auto listener = std::unique_ptr<Listener>(new Listener(
      std::move(acceptor), kind, std::move(workers), tls, counters));
  listener->port_ = listener->acceptor_.local_endpoint().port();
  return listener;
}

Listener::Listener(tcp::acceptor acceptor, Connection::Kind kind,
                   std::vector<Worker*> workers, asio::ssl::context* tls,
                   SharedCounters& counters)
    : acceptor_(std::move(acceptor)),
      retry_timer_(workers.front()->io_context()),
      kind_(kind),
      workers_(std::move(workers)),
      tls_(tls),
      counters_(counters) {}

void Listener::Start() {
  workers_.front()->Post([this] { DoAccept(); });
}

void Listener::Stop() {
  workers_.front()->Post([this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  });
}

void Listener::DoAccept() {
  if (!acceptor_.is_open()) return;
  Worker* worker = workers_[next_worker_++ % workers_.size()];
  acceptor_.async_accept(
      worker->io_context(),
      [this, worker](boost::system::error_code ec, tcp::socket socket) {
        OnAccept(ec, std::move(socket), worker);
      });
}

void Listener::OnAccept(boost::system::error_code ec, tcp::socket socket,
                        Worker* worker) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of descriptors or similar: back off instead of spinning.
    LogWarning("accept on port ", port_, " failed: ", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this](boost::system::error_code e) {
      if (!e) DoAccept();
    });
    return;
  }
  // Sockets still in their handshake are bounded too: beyond the admitted
  // limit plus a margin, drop new ones at once.
  const size_t limit = worker->options().max_connections + 1024;
  if (counters_.sockets.load(std::memory_order_relaxed) >= limit) {
    boost::system::error_code ignored;
    socket.close(ignored);
    DoAccept();
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  worker->Post([worker, kind = kind_, tls = tls_,
                socket = std::move(socket)]() mutable {
    std::shared_ptr<Connection> session;
    if (tls != nullptr) {
      session = std::make_shared<TlsSession>(*worker, kind, std::move(socket),
                                             tls->native_handle(),
                                             worker->options().tls_own_records);
    } else {
      session =
          std::make_shared<PlainSession>(*worker, kind, std::move(socket));
    }
    session->Start();
  });
  DoAccept();
}

}  // namespace herald::push
