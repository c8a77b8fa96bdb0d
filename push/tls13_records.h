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
// ends it) and KeyUpdate (answered with our own when requested: one answer,
// sealed before our next record, covers every request received until then,
// as RFC 8446 §4.6.3 allows). It rotates its own sending key before the
// AEAD usage limits (RFC 8446 §5.5). Any other record, a bad tag, or an
// oversized record is an error that names the fatal alert to send (§6).
// Like BoringSSL, it caps what costs work but carries no data: more than
// kMaxKeyUpdates KeyUpdates without application data between them, more
// than kMaxEmptyRecords empty records in a row, or more than
// kMaxWarningAlerts user_canceled alerts in a row end the connection with
// unexpected_message.
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
  // Largest TLSInnerPlaintext (content, type and padding): 2^14 + 1.
  static constexpr size_t kMaxInnerPlaintextBytes = (1 << 14) + 1;
  // The sending key is replaced after this many records.
  static constexpr uint64_t kRecordsPerKey = uint64_t{1} << 24;
  // BoringSSL's limits (ssl/tls_record.cc, ssl/tls13_both.cc).
  static constexpr int kMaxKeyUpdates = 32;    // without application data
  static constexpr int kMaxEmptyRecords = 32;  // in a row
  static constexpr int kMaxWarningAlerts = 4;  // in a row

  // The alerts this layer sends or reports (RFC 8446 §6).
  enum class Alert : uint8_t {
    kCloseNotify = 0,
    kUnexpectedMessage = 10,
    kBadRecordMac = 20,
    kRecordOverflow = 22,
    kIllegalParameter = 47,
    kDecodeError = 50,
    kInternalError = 80,
    kUserCanceled = 90,
  };

  // Null if `cipher` is not one of the AEADs above or the secrets are
  // incomplete.
  static std::unique_ptr<Tls13Records> Create(const SSL_CIPHER* cipher,
                                              const Tls13Secrets& secrets);
  // The same from the suite's IANA id (0x1301, 0x1302, 0x1303). Tests,
  // fuzzers and tools playing the client pass the secrets swapped.
  static std::unique_ptr<Tls13Records> Create(uint16_t suite_id,
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
  // Appends an encrypted fatal alert: nothing may be sealed after it.
  bool SealFatalAlert(Alert alert, std::string& out);
  // Appends a KeyUpdate and moves the sending key on. `request_update` asks
  // the peer to update its own (tools playing a client use it).
  bool SealKeyUpdate(bool request_update, std::string& out);
  // Whether the peer asked for a KeyUpdate not yet sent. The next sealed
  // application data carries it first; AnswerKeyUpdate seals it alone.
  bool key_update_owed() const { return key_update_owed_; }
  bool AnswerKeyUpdate(std::string& out);

  enum class OpenStatus {
    kOk,          // every whole record used; the rest is an incomplete one
    kPeerClosed,  // close_notify: nothing after it is read
    kPeerAlert,   // the peer's fatal alert (alert()): nothing is sent
    kError,       // bad record: send alert() (best effort) and end
  };
  // Opens the whole records at the front of in[0, size). Application data
  // is appended to `plain`; a requested KeyUpdate sets key_update_owed().
  // `consumed` is set to the bytes used.
  OpenStatus Open(const uint8_t* in, size_t size, size_t& consumed,
                  std::string& plain);
  // After kError: the alert to send; after kPeerAlert: the one received.
  Alert alert() const { return alert_; }

  uint64_t write_sequence() const { return write_.seq; }
  // Tests: rotate after fewer records.
  void set_records_per_key_for_test(uint64_t n) { records_per_key_ = n; }
  // Tests and fuzz seeds: seals `inner` as one whole TLSInnerPlaintext
  // (content, type byte and padding, as given) under the sending key.
  bool SealInnerForTest(const uint8_t* inner, size_t size, std::string& out);

 private:
  // What sealing or opening a record reads (key, iv, seq) first, the
  // secret (used only for a key update) after it.
  struct Direction {
    std::array<uint8_t, 32> key{};
    std::array<uint8_t, 12> iv{};
    uint64_t seq = 0;
    std::array<uint8_t, EVP_MAX_MD_SIZE> secret{};
  };

  Tls13Records(int suite, const EVP_MD* md, size_t key_size);

  // key and iv from secret; seq back to 0.
  bool DeriveKeys(Direction& d);
  // secret ← HKDF-Expand-Label(secret, "traffic upd"), then DeriveKeys.
  bool NextGeneration(Direction& d);
  // Seals into dst (room for its records); returns the bytes written, 0 if
  // the cipher fails.
  size_t Seal(uint8_t type, Pieces pieces, size_t size, uint8_t* dst);
  // Writes the header of the record at `record`, whose `inner` bytes of
  // TLSInnerPlaintext already follow it, and encrypts them in place with
  // the tag after them; returns the record's size, 0 if the cipher fails.
  size_t EncryptRecord(EVP_CIPHER_CTX* ctx, uint8_t* record, size_t inner);
  size_t SealKeyUpdateInto(bool request_update, uint8_t* dst);
  // One record at `record` (whole, its header checked): appends its
  // application data to `plain`, or handles an alert or KeyUpdate.
  OpenStatus OpenRecord(EVP_CIPHER_CTX* ctx, const uint8_t* record, size_t body,
                        std::string& plain);
  OpenStatus HandleAlert(const std::string& message);
  OpenStatus HandleHandshake(const std::string& message);
  OpenStatus Fail(Alert alert);
  void Nonce(const Direction& d, uint8_t* nonce) const;

  const int suite_;  // index of the AEAD in the per-thread tables
  const EVP_MD* const md_;
  const size_t hash_size_;
  const size_t key_size_;
  uint64_t records_per_key_ = kRecordsPerKey;
  bool key_update_owed_ = false;
  int key_updates_ = 0;     // received since the last application data
  int empty_records_ = 0;   // received in a row
  int warning_alerts_ = 0;  // received in a row
  Alert alert_ = Alert::kCloseNotify;
  // The sending direction first: a delivery's seal then reads the first
  // 120 bytes of this object only, which a fan-out prefetches
  // (Connection::PrefetchTransport: 256 bytes).
  Direction write_;
  Direction read_;
};

}  // namespace herald::push
