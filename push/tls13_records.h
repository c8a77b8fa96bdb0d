#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "boost/asio/buffer.hpp"
#include "push/tls13_secrets.h"

namespace herald::push {

// TLS 1.3 record protection (RFC 8446 §5, §7) for a connection whose
// handshake OpenSSL completed: after it, a connection keeps ~200 bytes of
// traffic keys instead of OpenSSL's ~11 KiB SSL object, and seals each
// write straight into the buffer handed to the socket. It handles what a
// client may send after the handshake: application data, alerts
// (close_notify ends the stream, user_canceled is ignored, anything else
// fails it) and KeyUpdate (answered with our own when requested). It
// rotates its own sending key before the AEAD usage limits (RFC 8446
// §5.5). Any other record, a bad tag, or an oversized record is an error.
//
// AEADs: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
// TLS_CHACHA20_POLY1305_SHA256 (CCM suites are left to OpenSSL).
//
// Thread: owned by one connection, used on its thread only. The cipher
// contexts it runs on are per thread and re-keyed for each record.
class Tls13Records {
 public:
  // Largest protected record a peer may send: header, 2^14 bytes of
  // plaintext, and up to 256 of content type, padding and tag.
  static constexpr size_t kMaxRecordBytes = 5 + (1 << 14) + 256;
  // The sending key is replaced after this many records.
  static constexpr uint64_t kRecordsPerKey = uint64_t{1} << 24;

  // Null if `cipher` is not one of the AEADs above or the secrets are
  // incomplete.
  static std::unique_ptr<Tls13Records> Create(const SSL_CIPHER* cipher,
                                              const Tls13Secrets& secrets);
  ~Tls13Records();
  Tls13Records(const Tls13Records&) = delete;
  Tls13Records& operator=(const Tls13Records&) = delete;

  using Pieces = std::span<const boost::asio::const_buffer>;

  // Appends the records carrying `pieces` (`size` bytes in all, in order)
  // as application data to `out`: full 16 KiB records, the pieces sealed
  // where they lie, with no copy gathering them first. False only if the
  // cipher fails (then `out` may hold a partial record and the connection
  // must end).
  bool SealAppData(Pieces pieces, size_t size, std::string& out);
  bool SealAppData(const char* data, size_t size, std::string& out);
  // The same into `dst`, which has room for MaxSealedBytes(size); returns
  // the bytes written, 0 if the cipher fails.
  size_t SealAppDataInto(Pieces pieces, size_t size, uint8_t* dst);
  static size_t MaxSealedBytes(size_t size);
  // Appends an encrypted close_notify alert.
  bool SealCloseNotify(std::string& out);

  enum class OpenStatus {
    kOk,          // every whole record used; the rest is an incomplete one
    kPeerClosed,  // close_notify: nothing after it is read
    kError,       // bad record: the connection must end
  };
  // Opens the whole records at the front of in[0, size). Application data
  // is appended to `plain`; records to send in answer (a KeyUpdate) are
  // appended to `reply`, which must go out before anything sealed later.
  // `consumed` is set to the bytes used.
  OpenStatus Open(const uint8_t* in, size_t size, size_t& consumed,
                  std::string& plain, std::string& reply);

  uint64_t write_sequence() const { return write_.seq; }
  // Tests: rotate after fewer records.
  void set_records_per_key_for_test(uint64_t n) { records_per_key_ = n; }

 private:
  struct Direction {
    std::array<uint8_t, EVP_MAX_MD_SIZE> secret{};
    std::array<uint8_t, 32> key{};
    std::array<uint8_t, 12> iv{};
    uint64_t seq = 0;
  };

  Tls13Records(int suite, const EVP_MD* md, size_t key_size);

  // key and iv from secret; seq back to 0.
  bool DeriveKeys(Direction& d);
  // secret ← HKDF-Expand-Label(secret, "traffic upd"), then DeriveKeys.
  bool NextGeneration(Direction& d);
  // Seals into dst (room for its records); returns the bytes written, 0 if
  // the cipher fails.
  size_t Seal(uint8_t type, Pieces pieces, size_t size, uint8_t* dst);
  bool SealKeyUpdate(bool request_update, std::string& out);
  size_t SealKeyUpdateInto(bool request_update, uint8_t* dst);
  void Nonce(const Direction& d, uint8_t* nonce) const;

  const int suite_;  // index of the AEAD in the per-thread tables
  const EVP_MD* const md_;
  const size_t hash_size_;
  const size_t key_size_;
  uint64_t records_per_key_ = kRecordsPerKey;
  Direction read_;
  Direction write_;
};

}  // namespace herald::push
