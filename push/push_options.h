#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace herald::push {

// Settings of the WebSocket data plane. Plain data, read-only once the
// server starts.
struct PushOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t main_port = 444;   // 0: any free port
  uint16_t voice_port = 445;  // 0: any free port
  bool plain = false;         // ws:// instead of wss:// (behind a TLS proxy)
  std::string tls_cert_file;  // PEM chain; required unless plain
  std::string tls_key_file;   // PEM private key; required unless plain
  // After a TLS 1.3 handshake, herald protects the records itself and frees
  // OpenSSL's per-connection state (false: OpenSSL keeps every connection).
  bool tls_own_records = true;
  // Stateless TLS session tickets sealed with the keys in this file (0600,
  // created when missing); empty: no tickets, every handshake is full.
  std::string tls_ticket_key_file;
  // The ticket key is replaced once this old (tickets live two periods).
  std::chrono::seconds tls_ticket_rotation{12 * 3600};
  int threads = 0;  // I/O threads; 0: one per core it may run on
  // A connection for which herald holds more undelivered bytes than this
  // (frames queued, the unsent part of the write in flight, the transport's
  // sealed records) is closed (4008).
  size_t max_queue_bytes = 1 << 20;
  // SO_SNDBUF of each client socket (the kernel doubles it for its own
  // overhead); 0 leaves the kernel's autotuning, which lets a client that
  // never reads take megabytes before herald's queue sees any of it.
  size_t socket_send_buffer_bytes = 32 * 1024;
  // A client message larger than this closes the connection (1009).
  size_t max_client_message_bytes = 4096;
  // Admitted connections, both ports together (4029 beyond). HeraldApp
  // derives it from RLIMIT_NOFILE unless given (FitDescriptorBudget).
  size_t max_connections = 100000;
  // Open sockets not admitted (in the TLS or HTTP handshake, or refused and
  // closing). At this many, new connections wait in the kernel's listen
  // backlog; one that is waiting there takes the place of a handshake older
  // than handshake_evict_after (stalled), never of a younger one.
  size_t max_handshaking = 1024;
  // A handshake this old is stalled: at max_handshaking a waiting
  // connection may evict it. Well above the queueing delay of a full
  // handshake set on one core (1024 x ~0.5 ms), so a reconnect storm of
  // real clients waits its turn instead of being closed.
  std::chrono::milliseconds handshake_evict_after{2000};
  // Descriptors left to gRPC, SQLite, logs (and Redis) below RLIMIT_NOFILE:
  // the WebSocket sockets never take them.
  size_t fd_reserve = 256;
  // Open sockets per client IP, and new sockets per client IP per second
  // (token bucket, one second of burst); beyond either the socket is closed
  // at accept (plain: after an HTTP 429). 0: no limit.
  size_t max_connections_per_ip = 1000;
  size_t max_new_connections_per_ip_per_sec = 100;
  // Admitted main-socket connections per user (4029 beyond). 0: no limit.
  size_t max_connections_per_user = 64;
  // An upgrade request (request line and headers) larger than this is
  // answered 431 and the connection ends.
  size_t max_request_header_bytes = 8192;
  // Origins (scheme://host[:port]) a request carrying an Origin header
  // must name, compared ASCII case-insensitively; others get 403 before
  // the upgrade. Empty: any origin. Requests without Origin always pass.
  std::vector<std::string> allowed_origins;
  std::chrono::milliseconds ping_interval{20000};
  // The TLS and HTTP handshakes together; then, from the upgrade, the
  // gate's admission answer (1013 beyond).
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds close_timeout{5000};
};

}  // namespace herald::push
