// herald-storm: a reconnect storm against herald's wss port, for
// bench/storm/run. `--phase=prime` opens the sessions (users
// first_user..first_user+N-1, all members of server 1), connects every
// client once and saves each client's TLS session (its ticket) to
// --sessions_file (server 2: the load generator's clients, measuring
// delivery latency during the storm, are in server 1). `--phase=storm` connects
// all N clients at once (at most
// --in_flight connects and handshakes outstanding), resuming the saved
// sessions when --sessions_file is given, holds them, and reports as JSON:
// the time until every client had its 101, the handshake rate, how many
// resumed, and the clients herald counts as admitted (the recipients of one
// Publish to server 1, sent once all are connected).
//
// One thread, one epoll loop, non-blocking sockets with OpenSSL on the fd;
// each connection gets a loopback source address from 127.0.0.2.. so the
// storm meets no TIME_WAIT ports of the round before.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "herald/v1/herald.grpc.pb.h"

namespace herald::bench {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Flags {
  std::string phase;
  int port = 0;
  std::string grpc = "127.0.0.1:50051";
  int connections = 1000;
  int64_t first_user = 1;
  int in_flight = 1000;
  std::string sessions_file;
  double timeout_s = 120;
};

bool ParseFlags(int argc, char** argv, Flags* f, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      *error = "flags look like --name=value: " + std::string(arg);
      return false;
    }
    const std::string name(arg.substr(2, eq - 2));
    const std::string value(arg.substr(eq + 1));
    if (name == "phase") {
      f->phase = value;
    } else if (name == "port") {
      f->port = std::stoi(value);
    } else if (name == "grpc") {
      f->grpc = value;
    } else if (name == "connections") {
      f->connections = std::stoi(value);
    } else if (name == "first_user") {
      f->first_user = std::stoll(value);
    } else if (name == "in_flight") {
      f->in_flight = std::stoi(value);
    } else if (name == "sessions_file") {
      f->sessions_file = value;
    } else if (name == "timeout_s") {
      f->timeout_s = std::stod(value);
    } else {
      *error = "unknown flag --" + name;
      return false;
    }
  }
  if (f->phase != "prime" && f->phase != "storm") {
    *error = "--phase=prime|storm is required";
    return false;
  }
  if (f->port <= 0 || f->connections <= 0 || f->in_flight <= 0) {
    *error = "--port, --connections and --in_flight must be positive";
    return false;
  }
  return true;
}

struct Client {
  enum class State { kIdle, kConnecting, kTls, kUpgrade, kOpen, kFailed };
  int fd = -1;
  SSL* ssl = nullptr;
  SSL_SESSION* saved = nullptr;  // to resume, and what prime saves
  State state = State::kIdle;
  int64_t start_ns = 0;
  int64_t open_ns = 0;
  bool resumed = false;
  std::string in;
};

class Storm {
 public:
  Storm(const Flags& flags, SSL_CTX* ctx) : f_(flags), ctx_(ctx) {
    clients_.resize(flags.connections);
  }

  bool LoadSessions(std::string* error);
  bool SaveSessions(std::string* error);
  // Connects every client; false on timeout.
  bool Run();
  void Report(uint32_t admitted) const;

 private:
  void Launch(size_t i);
  void Advance(size_t i);
  void Fail(size_t i);
  void Watch(Client& c, uint32_t events, int op);

  const Flags& f_;
  SSL_CTX* ctx_;
  std::vector<Client> clients_;
  int epoll_ = -1;
  size_t next_ = 0;
  int outstanding_ = 0;
  int open_ = 0;
  int failed_ = 0;
  int64_t start_ns_ = 0;
  int64_t last_open_ns_ = 0;
};

bool Storm::LoadSessions(std::string* error) {
  FILE* in = fopen(f_.sessions_file.c_str(), "r");
  if (in == nullptr) {
    *error = "cannot read " + f_.sessions_file;
    return false;
  }
  for (Client& c : clients_) {
    c.saved = PEM_read_SSL_SESSION(in, nullptr, nullptr, nullptr);
    if (c.saved == nullptr) break;
  }
  fclose(in);
  return true;
}

bool Storm::SaveSessions(std::string* error) {
  FILE* out = fopen(f_.sessions_file.c_str(), "w");
  if (out == nullptr) {
    *error = "cannot write " + f_.sessions_file;
    return false;
  }
  for (const Client& c : clients_) {
    if (c.saved != nullptr) PEM_write_SSL_SESSION(out, c.saved);
  }
  fclose(out);
  return true;
}

void Storm::Watch(Client& c, uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(&c - clients_.data());
  epoll_ctl(epoll_, op, c.fd, &ev);
}

void Storm::Launch(size_t i) {
  Client& c = clients_[i];
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000002 + static_cast<uint32_t>(i % 240));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(f_.port));
  dst.sin_addr.s_addr = htonl(0x7f000001);
  c.start_ns = NowNs();
  ++outstanding_;
  if (c.fd < 0 || bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) ||
      (connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 &&
       errno != EINPROGRESS)) {
    Fail(i);
    return;
  }
  c.state = Client::State::kConnecting;
  Watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

void Storm::Fail(size_t i) {
  Client& c = clients_[i];
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.state = Client::State::kFailed;
  ++failed_;
  --outstanding_;
}

void Storm::Advance(size_t i) {
  Client& c = clients_[i];
  if (c.state == Client::State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(i);
    c.ssl = SSL_new(ctx_);
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_tlsext_host_name(c.ssl, "localhost");
    if (c.saved != nullptr) SSL_set_session(c.ssl, c.saved);
    c.state = Client::State::kTls;
  }
  if (c.state == Client::State::kTls) {
    ERR_clear_error();
    const int r = SSL_connect(c.ssl);
    if (r != 1) {
      const int e = SSL_get_error(c.ssl, r);
      if (e == SSL_ERROR_WANT_READ) return Watch(c, EPOLLIN, EPOLL_CTL_MOD);
      if (e == SSL_ERROR_WANT_WRITE) return Watch(c, EPOLLOUT, EPOLL_CTL_MOD);
      return Fail(i);
    }
    c.resumed = SSL_session_reused(c.ssl) == 1;
    const std::string request =
        "GET /?token=u" + std::to_string(f_.first_user + i) +
        " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    if (SSL_write(c.ssl, request.data(), static_cast<int>(request.size())) !=
        static_cast<int>(request.size())) {
      return Fail(i);
    }
    c.state = Client::State::kUpgrade;
    Watch(c, EPOLLIN, EPOLL_CTL_MOD);
  }
  if (c.state == Client::State::kUpgrade) {
    char buf[4096];
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(c.ssl, buf, sizeof buf);
      if (n <= 0) {
        if (SSL_get_error(c.ssl, n) == SSL_ERROR_WANT_READ) break;
        return Fail(i);
      }
      c.in.append(buf, static_cast<size_t>(n));
    }
    const size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c.in.rfind("HTTP/1.1 101 ", 0) != 0) return Fail(i);
    c.state = Client::State::kOpen;
    c.open_ns = last_open_ns_ = NowNs();
    std::string().swap(c.in);
    // The ticket came before the 101; what prime saves for the storm.
    if (c.saved != nullptr) SSL_SESSION_free(c.saved);
    c.saved = SSL_get1_session(c.ssl);
    ++open_;
    --outstanding_;
    Watch(c, 0, EPOLL_CTL_MOD);  // held open, not read
  }
}

bool Storm::Run() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  start_ns_ = NowNs();
  const int64_t deadline = start_ns_ + static_cast<int64_t>(f_.timeout_s * 1e9);
  epoll_event events[512];
  while (open_ + failed_ < static_cast<int>(clients_.size())) {
    while (next_ < clients_.size() && outstanding_ < f_.in_flight) {
      Launch(next_++);
    }
    if (NowNs() > deadline) return false;
    const int n = epoll_wait(epoll_, events, 512, 100);
    for (int k = 0; k < n; ++k)
      Advance(static_cast<size_t>(events[k].data.u64));
  }
  return true;
}

void Storm::Report(uint32_t admitted) const {
  std::vector<double> ms;
  int resumed = 0;
  for (const Client& c : clients_) {
    if (c.state != Client::State::kOpen) continue;
    ms.push_back((c.open_ns - c.start_ns) / 1e6);
    resumed += c.resumed ? 1 : 0;
  }
  std::sort(ms.begin(), ms.end());
  const auto pct = [&](double p) {
    return ms.empty() ? 0.0
                      : ms[std::min(ms.size() - 1, size_t(p * ms.size()))];
  };
  const double seconds = (last_open_ns_ - start_ns_) / 1e9;
  printf(
      "{\"phase\":\"%s\",\"connections\":%zu,\"open\":%d,\"failed\":%d,"
      "\"resumed\":%d,\"admitted\":%u,\"seconds_to_all\":%.3f,"
      "\"handshakes_per_s\":%.0f,\"connect_ms_p50\":%.1f,"
      "\"connect_ms_p99\":%.1f}\n",
      f_.phase.c_str(), clients_.size(), open_, failed_, resumed, admitted,
      seconds, seconds > 0 ? open_ / seconds : 0.0, pct(0.5), pct(0.99));
}

constexpr int64_t kStormServer = 2;

std::unique_ptr<herald::v1::Herald::Stub> Stub(const std::string& address) {
  return herald::v1::Herald::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

// Sessions "u<user>" and membership of kStormServer for every client.
bool Setup(const Flags& f, std::string* error) {
  auto stub = Stub(f.grpc);
  for (int i = 0; i < f.connections; ++i) {
    const int64_t user = f.first_user + i;
    herald::v1::OpenSessionRequest open;
    open.set_token("u" + std::to_string(user));
    open.set_user_id(user);
    herald::v1::SetMembershipsRequest members;
    members.set_user_id(user);
    members.add_server_ids(kStormServer);
    grpc::ClientContext c1, c2;
    herald::v1::OpenSessionResponse r1;
    herald::v1::SetMembershipsResponse r2;
    grpc::Status s = stub->OpenSession(&c1, open, &r1);
    if (s.ok()) s = stub->SetMemberships(&c2, members, &r2);
    if (!s.ok()) {
      *error = s.error_message();
      return false;
    }
  }
  return true;
}

// Recipients of one message_created to kStormServer: the admitted clients.
uint32_t CountAdmitted(const std::string& address) {
  auto stub = Stub(address);
  herald::v1::PublishRequest request;
  auto* m = request.mutable_message_created();
  m->set_id(1);
  m->set_server_id(kStormServer);
  m->set_channel_id(1);
  m->set_author_id(1);
  m->set_text("storm");
  m->mutable_sent()->set_seconds(1733337374);
  *m->mutable_edited() = m->sent();
  herald::v1::PublishResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  const grpc::Status status = stub->Publish(&context, request, &response);
  if (!status.ok()) {
    fprintf(stderr, "herald-storm: Publish: %s\n",
            status.error_message().c_str());
    return 0;
  }
  return response.recipients();
}

int Main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a socket herald closed fails its write instead
  Flags flags;
  std::string error;
  if (!ParseFlags(argc, argv, &flags, &error)) {
    fprintf(stderr, "herald-storm: %s\n", error.c_str());
    return 2;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  Storm storm(flags, ctx);
  if (flags.phase == "prime") {
    if (!Setup(flags, &error)) {
      fprintf(stderr, "herald-storm: setup: %s\n", error.c_str());
      return 1;
    }
  } else if (!flags.sessions_file.empty() && !storm.LoadSessions(&error)) {
    fprintf(stderr, "herald-storm: %s\n", error.c_str());
    return 1;
  }
  if (!storm.Run()) {
    fprintf(stderr, "herald-storm: not every client connected in %.0f s\n",
            flags.timeout_s);
  }
  const uint32_t admitted = CountAdmitted(flags.grpc);
  storm.Report(admitted);
  if (flags.phase == "prime" && !storm.SaveSessions(&error)) {
    fprintf(stderr, "herald-storm: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace herald::bench

int main(int argc, char** argv) { return herald::bench::Main(argc, argv); }
