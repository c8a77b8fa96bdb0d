#include "push/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "push/connection_log.h"
#include "push/log.h"
#include "push/plain_session.h"
#include "push/tls_session.h"

namespace herald::push {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

absl::StatusOr<std::unique_ptr<Listener>> Listener::Create(
    const std::string& address, uint16_t port, Connection::Kind kind,
    std::vector<Worker*> workers, const TlsContextStore* tls,
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
                   std::vector<Worker*> workers, const TlsContextStore* tls,
                   SharedCounters& counters)
    : acceptor_(std::move(acceptor)),
      retry_timer_(workers.front()->io_context()),
      kind_(kind),
      workers_(std::move(workers)),
      tls_(tls),
      counters_(counters) {
  ReopenSpare();
}

Listener::~Listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void Listener::ReopenSpare() {
  if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

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
  if (HandshakesFull()) {
    WaitForRoom();
    return;
  }
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
    OnAcceptError(ec);
    return;
  }
  Admission admission;
  if (!Screen(socket, worker, admission)) {
    DoAccept();
    return;
  }
  counters_.accepting.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  worker->Post([worker, kind = kind_, tls = tls_, admission,
                &counters = counters_, socket = std::move(socket)]() mutable {
    std::shared_ptr<Connection> session;
    if (tls != nullptr) {
      session = std::make_shared<TlsSession>(*worker, kind, std::move(socket),
                                             tls->Current(),
                                             worker->options().tls_own_records);
    } else {
      session =
          std::make_shared<PlainSession>(*worker, kind, std::move(socket));
    }
    session->Start();  // counts it in `sockets`...
    // ... before it leaves `accepting`, so Screen never sees it in neither
    // (the handshaking cap held one socket too many).
    counters.accepting.fetch_sub(1, std::memory_order_relaxed);
    if (admission.peer_counted)
      worker->TrackPeer(session.get(), admission.peer);
  });
  DoAccept();
}

bool Listener::Screen(tcp::socket& socket, Worker* worker,
                      Admission& admission) {
  const PushOptions& o = worker->options();
  const size_t sockets = counters_.sockets.load(std::memory_order_relaxed) +
                         counters_.accepting.load(std::memory_order_relaxed);
  if (sockets >= o.max_connections + o.max_handshaking) {
    counters_.refused_descriptors.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    LogRefusedAtAccept(kind_, socket.remote_endpoint(ignored),
                       "descriptor budget full (max_connections + "
                       "max_handshaking sockets)");
    RefuseAtAccept(socket, false);
    return false;
  }
  if (o.max_connections_per_ip == 0 &&
      o.max_new_connections_per_ip_per_sec == 0) {
    return true;
  }
  boost::system::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) {
    RefuseAtAccept(socket, false);  // already reset by the peer
    return false;
  }
  admission.peer = PeerLimits::KeyOf(remote.address());
  switch (counters_.peers.TryOpen(admission.peer, o.max_connections_per_ip,
                                  o.max_new_connections_per_ip_per_sec,
                                  std::chrono::steady_clock::now())) {
    case PeerLimits::Verdict::kOk:
      admission.peer_counted = true;
      return true;
    case PeerLimits::Verdict::kTooManyOpen:
      counters_.refused_ip_open.fetch_add(1, std::memory_order_relaxed);
      LogRefusedAtAccept(kind_, remote, "too many connections from this IP");
      break;
    case PeerLimits::Verdict::kTooFast:
      counters_.refused_ip_rate.fetch_add(1, std::memory_order_relaxed);
      LogRefusedAtAccept(kind_, remote,
                         "too many new connections from this IP per second");
      break;
  }
  RefuseAtAccept(socket, tls_ == nullptr);
  return false;
}

void Listener::RefuseAtAccept(tcp::socket& socket, bool tell_http) {
  if (tell_http) {
    // A fresh socket's send buffer is empty: one non-blocking send either
    // takes it all or the client gets the bare close.
    static constexpr char kResponse[] =
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"
        "Connection: close\r\nRetry-After: 1\r\nContent-Length: 41\r\n\r\n"
        "herald: too many connections from this IP";
    (void)::send(socket.native_handle(), kResponse, sizeof(kResponse) - 1,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  boost::system::error_code ignored;
  socket.close(ignored);
}

void Listener::OnAcceptError(boost::system::error_code ec) {
  counters_.accept_failures.fetch_add(1, std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_error_log_ >= std::chrono::seconds(1)) {
    last_error_log_ = now;
    Log(LogLevel::kWarning, "accept_failed",
        {{"port", port_},
         {"error", ec.message()},
         {"note", "counted; logged at most once a second"}});
  }
  const bool out_of_fds = ec.value() == EMFILE || ec.value() == ENFILE;
  if (out_of_fds && ShedWithSpare()) {
    DoAccept();  // one connection less in the backlog: progress, no spin
    return;
  }
  PauseAccepting(std::chrono::milliseconds(100));
}

bool Listener::ShedWithSpare() {
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  spare_fd_ = -1;
  const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr,
                           SOCK_CLOEXEC | SOCK_NONBLOCK);
  const bool shed = fd >= 0;
  if (shed) {
    ::close(fd);
    counters_.refused_descriptors.fetch_add(1, std::memory_order_relaxed);
  }
  ReopenSpare();  // may fail while another thread holds the last fd
  return shed && spare_fd_ >= 0;
}

bool Listener::HandshakesFull() const {
  const PushOptions& o = workers_.front()->options();
  const size_t sockets = counters_.sockets.load(std::memory_order_relaxed) +
                         counters_.accepting.load(std::memory_order_relaxed);
  const size_t admitted = counters_.admitted.load(std::memory_order_relaxed);
  return sockets >= admitted + o.max_handshaking;
}

size_t Listener::Backlog() const {
  // On a listening socket Linux reports its accept queue in tcpi_unacked.
  struct tcp_info info {};
  socklen_t len = sizeof(info);
  if (::getsockopt(const_cast<tcp::acceptor&>(acceptor_).native_handle(),
                   IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return 1;  // unknown: as if one were waiting
  }
  return info.tcpi_unacked;
}

void Listener::WaitForRoom() {
  counters_.handshaking_pauses.fetch_add(1, std::memory_order_relaxed);
  const size_t waiting = Backlog();
  if (waiting > 0 && evictions_in_flight_.load() == 0) {
    // Connections wait: each may take the place of a stalled handshake.
    evictions_in_flight_.store(workers_.size());
    const auto now = std::chrono::steady_clock::now();
    for (Worker* worker : workers_) {
      worker->Post([this, worker, now, waiting] {
        worker->EvictStalledHandshakes(now, waiting);
        evictions_in_flight_.fetch_sub(1);
      });
    }
  }
  PauseAccepting(kRoomPoll);
}

void Listener::PauseAccepting(std::chrono::milliseconds pause) {
  retry_timer_.expires_after(pause);
  retry_timer_.async_wait([this](boost::system::error_code e) {
    if (!e) {
      ReopenSpare();
      DoAccept();
    }
  });
}

}  // namespace herald::push
