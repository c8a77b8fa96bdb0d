#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

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
  // Admitted connections, both ports together (4029 beyond).
  size_t max_connections = 100000;
  // HTTP request headers larger than this end the connection.
  size_t max_request_header_bytes = 8192;
  std::chrono::milliseconds ping_interval{20000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds close_timeout{5000};
};

}  // namespace herald::push
