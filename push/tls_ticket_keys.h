#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace herald::push {

// Keys of stateless TLS session tickets (RFC 8446 §4.6.1, §2.2): a client
// that reconnects presents a ticket sealed with one of these keys and skips
// the certificate signature and key exchange, and the server keeps nothing
// per ticket. The keys live in a 0600 file so tickets survive a restart (a
// node restart is when every client reconnects at once). The current key
// seals new tickets; the previous one still opens the tickets it sealed
// (answered with a fresh ticket). The current key is replaced once it is
// `rotation` old, so a stolen key file opens at most two periods of tickets.
//
// Thread: Load() at start-up; the OpenSSL callback runs on any I/O thread
// during handshakes (the keys are guarded by a mutex; rotation, rare, also
// rewrites the file there).
class TlsTicketKeys {
 public:
  // Reads `path` (creating it with a fresh key when missing) and rotates a
  // current key older than `rotation`. Errors name the file.
  static absl::StatusOr<std::unique_ptr<TlsTicketKeys>> Load(
      const std::string& path, std::chrono::seconds rotation);

  // Turns stateless tickets on for `ctx` (one ticket per handshake, lifetime
  // two rotation periods) with these keys; `this` must outlive `ctx`.
  bool Install(SSL_CTX* ctx);

  struct Key {
    std::array<uint8_t, 16> name{};
    std::array<uint8_t, 32> aes{};
    std::array<uint8_t, 32> hmac{};
    int64_t created = 0;  // Unix seconds
  };

  // Tests and the callback: the keys now (current first).
  Key current() const;
  Key previous() const;
  // Replaces the current key (the old one becomes the previous) and saves.
  absl::Status Rotate();

 private:
  TlsTicketKeys(std::string path, std::chrono::seconds rotation)
      : path_(std::move(path)), rotation_(rotation) {}

  static int OnTicketKey(SSL* ssl, unsigned char* name, unsigned char* iv,
                         EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc);
  int Seal(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
           EVP_MAC_CTX* mac);
  int Open(const unsigned char* name, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
           const unsigned char* iv);
  absl::Status Save() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RotateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const std::chrono::seconds rotation_;
  mutable absl::Mutex mu_;
  Key current_ ABSL_GUARDED_BY(mu_);
  Key previous_ ABSL_GUARDED_BY(mu_);
  bool has_previous_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace herald::push
