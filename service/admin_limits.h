#pragma once

#include <chrono>
#include <cstddef>

namespace herald::service {

// Limits of the admin port: it is loopback by default, but whoever reaches
// it must not be able to grow herald without bound or hold its thread.
struct AdminLimits {
  size_t max_connections = 64;      // beyond: accepted and closed at once
  size_t max_request_bytes = 8192;  // request line + headers (431 beyond)
  std::chrono::milliseconds timeout{10000};  // per request, idle keep-alive
  size_t max_requests_per_connection = 1000;
};

}  // namespace herald::service
