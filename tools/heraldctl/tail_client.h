#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "tools/heraldctl/ws_endpoint.h"

namespace herald::tools {

// What `heraldctl tail` was asked to do.
struct TailOptions {
  WsEndpoint endpoint;
  // TLS: skip certificate verification; otherwise verify against `ca_file`
  // or, when that is empty, the system store.
  bool insecure = false;
  std::string ca_file;
  // Frames to print before closing with 1000; 0 means until the server
  // closes.
  int64_t count = 0;
  // Bounds connecting (TCP, TLS, WebSocket handshake) and closing.
  std::chrono::milliseconds timeout{5000};
  // Once connected, close with 1000 after this long; 0 means never.
  std::chrono::milliseconds wait{0};
};

// Connects to one of herald's WebSocket ports as a chat client would and
// prints every text frame exactly as received, one per line, flushed. When
// the server closes it prints `closed code=C reason=R` and returns 0; after
// `count` frames, on --wait_ms expiry and on SIGINT/SIGTERM it closes with 1000
// itself and returns 0 (1 when `wait` expires before `count` frames came).
// Connection, TLS and protocol failures print `error: …` on `err` and
// return 1.
class TailClient {
 public:
  TailClient(TailOptions options, std::ostream& out, std::ostream& err);

  // Runs to the end; returns the process exit status.
  int Run();

 private:
  TailOptions options_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace herald::tools
