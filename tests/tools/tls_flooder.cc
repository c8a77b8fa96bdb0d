// tls_flooder: a hostile TLS 1.3 client for the integration tests. It
// completes a real handshake with OpenSSL, takes the traffic secrets from
// the key log, and then sends records OpenSSL would never send in bulk:
// KeyUpdate(update_requested), empty application-data records or
// user_canceled warning alerts, or (mixed) 31 empty records and one
// user_canceled in turn, which resets every cap and carries no data, as
// fast as the socket takes them; or one bad record (badtag: a wrong tag,
// overflow: 2^14 + 2 bytes of inner plaintext with its padding), while it
// opens whatever the server sends back. It prints one JSON line: what it
// sent, how the server ended the connection and with which alert.
//
//   tls_flooder --port=P [--mode=keyupdate|empty|alert|mixed|badtag|overflow]
//               [--seconds=S]
//               [--max_records=N] [--presealed=N] [--read=1]
//
// It prints "flooding" once the handshake is done and the flood starts.
//
// Thread: single-threaded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "push/tls13_records.h"
#include "push/tls13_secrets.h"

namespace {

using herald::push::Tls13Records;
using herald::push::Tls13Secrets;
using Clock = std::chrono::steady_clock;

struct Flags {
  int port = 0;
  std::string mode = "keyupdate";
  double seconds = 5;
  long max_records = 1000000;
  bool read = true;
  long presealed = 0;  // records sealed before the flood starts
};

bool ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    const size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) return false;
    const std::string name(arg.substr(2, eq - 2));
    const std::string value(arg.substr(eq + 1));
    if (name == "port") {
      flags.port = std::atoi(value.c_str());
    } else if (name == "mode") {
      flags.mode = value;
    } else if (name == "seconds") {
      flags.seconds = std::atof(value.c_str());
    } else if (name == "max_records") {
      flags.max_records = std::atol(value.c_str());
    } else if (name == "presealed") {
      flags.presealed = std::atol(value.c_str());
    } else if (name == "read") {
      flags.read = value != "0";
    } else {
      return false;
    }
  }
  return flags.port > 0 &&
         (flags.mode == "keyupdate" || flags.mode == "empty" ||
          flags.mode == "alert" || flags.mode == "mixed" ||
          flags.mode == "badtag" || flags.mode == "overflow");
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// herald sends a session ticket right after the handshake, under the key
// the flood's opener starts with: let OpenSSL read it first (up to 1 s;
// none comes from a server without tickets). Returns the tickets read.
int ReadSessionTicket(SSL* ssl, int fd) {
  int got = 0;
  SSL_set_app_data(ssl, &got);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  while (!got && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char byte;
    if (SSL_read(ssl, &byte, 1) <= 0 &&
        SSL_get_error(ssl, -1) != SSL_ERROR_WANT_READ) {
      break;
    }
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  SSL_set_app_data(ssl, nullptr);
  return got;
}

int OnNewSession(SSL* ssl, SSL_SESSION*) {
  if (auto* got = static_cast<int*>(SSL_get_app_data(ssl))) ++*got;
  return 0;  // not kept
}

// The client's records: its own key to seal, the server's to open.
std::unique_ptr<Tls13Records> Handshake(int fd, double& handshake_s) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx, &OnNewSession);
  Tls13Secrets::Install(ctx);
  SSL* ssl = SSL_new(ctx);
  Tls13Secrets secrets;
  Tls13Secrets::Attach(ssl, &secrets);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  const auto start = Clock::now();
  const int r = SSL_connect(ssl);
  handshake_s = std::chrono::duration<double>(Clock::now() - start).count();
  const int tickets = r == 1 ? ReadSessionTicket(ssl, fd) : 0;
  std::unique_ptr<Tls13Records> records;
  if (r == 1 && SSL_version(ssl) == TLS1_3_VERSION &&
      SSL_has_pending(ssl) == 0) {
    Tls13Secrets swapped;  // Tls13Records reads "client" and writes "server"
    swapped.client = secrets.server;
    swapped.client_size = secrets.server_size;
    swapped.server = secrets.client;
    swapped.server_size = secrets.client_size;
    swapped.client_records_read = static_cast<uint64_t>(tickets);
    records = Tls13Records::Create(SSL_get_current_cipher(ssl), swapped);
  }
  Tls13Secrets::Attach(ssl, nullptr);
  SSL_free(ssl);  // the fd stays open: SSL_set_fd's BIO does not own it
  SSL_CTX_free(ctx);
  return records;
}

// Seals the n-th record of the flood.
bool SealOne(Tls13Records& records, const std::string& mode, long n,
             std::string& out) {
  if (mode == "keyupdate") return records.SealKeyUpdate(true, out);
  if (mode == "badtag") {
    if (!records.SealAppData("x", 1, out)) return false;
    out.back() ^= 1;  // the tag's last byte
    return true;
  }
  if (mode == "overflow") {
    std::string inner(1 << 14, 'o');
    inner += '\x17';  // application data, then one zero of padding too many
    inner += '\0';
    return records.SealInnerForTest(
        reinterpret_cast<const uint8_t*>(inner.data()), inner.size(), out);
  }
  if (mode == "empty" || (mode == "mixed" && n % 32 != 31)) {
    return records.SealAppData("", 0, out);
  }
  const uint8_t user_canceled[3] = {1, 90, 21};  // alert, then its type
  return records.SealInnerForTest(user_canceled, sizeof(user_canceled), out);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    std::fprintf(
        stderr,
        "usage: tls_flooder --port=P "
        "[--mode=keyupdate|empty|alert|mixed|badtag|overflow] "
        "[--seconds=S] [--max_records=N] [--presealed=N] [--read=0|1]\n");
    return 2;
  }
  const int fd = Connect(flags.port);
  if (fd < 0) {
    std::perror("connect");
    return 1;
  }
  double handshake_s = 0;
  std::unique_ptr<Tls13Records> records = Handshake(fd, handshake_s);
  if (!records) {
    std::fprintf(stderr, "handshake failed or not TLS 1.3\n");
    return 1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  long sent = 0;            // records sealed for the socket
  long received_bytes = 0;  // from the server
  std::string end = "deadline";
  int alert = -1;
  bool reader_ok = true;  // false once our own opener refuses (e.g. its caps)
  std::string out;        // sealed, not yet sent
  size_t out_off = 0;
  std::string in;  // received, not yet opened
  bool sending = true;
  char buf[65536];
  if (flags.mode == "badtag" || flags.mode == "overflow") {
    flags.max_records = 1;
  }
  if (flags.presealed > 0) {
    // Sealed ahead, the flood then costs this process a send() per socket
    // buffer, while the server still opens every record.
    flags.max_records = flags.presealed;
    for (; sent < flags.presealed; ++sent) {
      if (!SealOne(*records, flags.mode, sent, out)) return 1;
    }
  }
  std::printf("flooding\n");
  std::fflush(stdout);
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(flags.seconds));
  while (Clock::now() < deadline) {
    if (sending && out_off == out.size()) {
      out.clear();
      out_off = 0;
      for (int i = 0; i < 64 && sent < flags.max_records; ++i, ++sent) {
        if (!SealOne(*records, flags.mode, sent, out)) return 1;
      }
      if (out.empty()) sending = false;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    if (poll(&p, 1, 50) < 0 && errno != EINTR) break;
    if (p.revents & POLLOUT) {
      const ssize_t n =
          send(fd, out.data() + out_off, out.size() - out_off, MSG_NOSIGNAL);
      if (n > 0) {
        out_off += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sending = false;  // the server closed: read what it said last
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!flags.read && !(p.revents & (POLLHUP | POLLERR))) continue;
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n == 0) {
        end = "eof";
        break;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        end = errno == ECONNRESET ? "reset" : "error";
        break;
      }
      received_bytes += n;
      if (!reader_ok) continue;
      in.append(buf, static_cast<size_t>(n));
      size_t consumed = 0;
      std::string plain;
      const auto status =
          records->Open(reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                        consumed, plain);
      in.erase(0, consumed);
      if (status == Tls13Records::OpenStatus::kPeerAlert) {
        alert = static_cast<int>(records->alert());
        end = "alert";
        break;
      }
      if (status == Tls13Records::OpenStatus::kPeerClosed) {
        alert = 0;
        end = "close_notify";
        break;
      }
      if (status == Tls13Records::OpenStatus::kError) reader_ok = false;
    }
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"mode\": \"%s\", \"handshake_s\": %.4f, \"sent\": %ld, "
      "\"received_bytes\": %ld, \"end\": \"%s\", \"alert\": %d, "
      "\"elapsed_s\": %.4f}\n",
      flags.mode.c_str(), handshake_s, sent, received_bytes, end.c_str(), alert,
      elapsed);
  close(fd);
  return 0;
}
