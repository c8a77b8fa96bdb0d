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
  int threads = 0;  // I/O threads; 0: one per core it may run on
  // A connection whose undelivered frames exceed this is closed (4008).
  size_t max_queue_bytes = 1 << 20;
  // A client message larger than this closes the connection (1009).
  size_t max_client_message_bytes = 4096;
  // Admitted connections, both ports together (4029 beyond).
  size_t max_connections = 100000;
  // An upgrade request (request line and headers) larger than this is
  // answered 431 and the connection ends.
  size_t max_request_header_bytes = 8192;
  // Origins (scheme://host[:port]) a request carrying an Origin header
  // must name, compared ASCII case-insensitively; others get 403 before
  // the upgrade. Empty: any origin. Requests without Origin always pass.
  std::vector<std::string> allowed_origins;
  std::chrono::milliseconds ping_interval{20000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds close_timeout{5000};
};

}  // namespace herald::push
