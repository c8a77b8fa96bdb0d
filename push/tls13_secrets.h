#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace herald::push {

// The application traffic secrets of one TLS 1.3 handshake, as OpenSSL
// reports them through its key log callback. Install() hooks an SSL_CTX;
// Attach() points one SSL at the Tls13Secrets that receives its secrets.
// They let Tls13Records take over record protection once OpenSSL has
// finished the handshake (the userspace equivalent of kernel TLS).
//
// Thread: filled during SSL_do_handshake on the connection's thread, read
// there afterwards; Install() once at start-up.
struct Tls13Secrets {
  Tls13Secrets() = default;
  Tls13Secrets(const Tls13Secrets&) = delete;
  Tls13Secrets& operator=(const Tls13Secrets&) = delete;
  ~Tls13Secrets();

  bool complete() const { return client_size > 0 && server_size > 0; }

  // Makes every SSL made from `ctx` report its secrets and the session
  // tickets it sends. False if OpenSSL could not allocate the ex_data index.
  static bool Install(SSL_CTX* ctx);
  // `secrets` must outlive the handshake of `ssl` (or be detached first,
  // with nullptr).
  static void Attach(SSL* ssl, Tls13Secrets* secrets);

  std::array<uint8_t, EVP_MAX_MD_SIZE>
      client{};  // client_application_traffic_secret_0
  std::array<uint8_t, EVP_MAX_MD_SIZE>
      server{};  // server_application_traffic_secret_0
  size_t client_size = 0;
  size_t server_size = 0;
  // Records OpenSSL sent under the server's first application key (its
  // NewSessionTickets): our own records continue from that sequence number.
  uint64_t server_records_sent = 0;
  // Records OpenSSL already opened under the client's first application key
  // (none on a server, which takes over before any; a test client that
  // swaps the roles counts the tickets it read).
  uint64_t client_records_read = 0;
};

}  // namespace herald::push
