#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "push/tls13_records.h"
#include "push/tls13_secrets.h"

namespace herald::bench {

// One subscriber WebSocket: the socket, its TLS state and the few bytes
// that must survive between reads (a partial handshake response or a
// partial frame). Owned and touched only by its Worker's thread.
struct Connection {
  enum class State : uint8_t {
    kIdle,        // not started yet
    kConnecting,  // TCP connect in progress
    kTls,         // TLS handshake
    kUpgrading,   // upgrade request sent, waiting for 101
    kOpen,        // WebSocket open
    kClosed,      // was open, closed (by the server or at the end)
    kFailed,      // never opened
  };

  int fd = -1;
  State state = State::kIdle;
  SSL* ssl = nullptr;
  int64_t index = 0;  // population connection number (MembershipPlan)
  int64_t user = 0;
  int64_t started_ns = 0;  // connect; later: last TCP_QUICKACK=0
  std::string in;   // carried bytes: handshake response or a partial frame
  std::string out;  // bytes the socket did not take yet
  std::unique_ptr<std::string> fragments;  // a fragmented text message
  // wss with own records: the secrets until the takeover (then null), the
  // records OpenSSL read after its handshake, and then our record layer
  // with the bytes of a partial record.
  std::unique_ptr<herald::push::Tls13Secrets> secrets;
  uint64_t records_read = 0;       // record headers OpenSSL read, all
  uint64_t handshake_records = 0;  // of them, up to its handshake's end
  std::unique_ptr<herald::push::Tls13Records> records;
  std::string cipher_in;
};

}  // namespace herald::bench
