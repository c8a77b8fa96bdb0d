#include "push/tls13_records.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace herald::push {
namespace {

constexpr uint8_t kApplicationData = 23;
constexpr uint8_t kAlert = 21;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kKeyUpdate = 24;  // handshake message type
constexpr uint8_t kCloseNotify = 0;
constexpr size_t kHeaderBytes = 5;
constexpr size_t kTagBytes = 16;
constexpr size_t kMaxPlaintext = 1 << 14;

constexpr int kSuites = 3;
constexpr const char* kCipherNames[kSuites] = {"AES-128-GCM", "AES-256-GCM",
                                               "ChaCha20-Poly1305"};

const EVP_CIPHER* Cipher(int suite) {
  // Fetched once: an explicit fetch avoids OpenSSL 3's lookup per use.
  static const std::array<EVP_CIPHER*, kSuites> ciphers = [] {
    std::array<EVP_CIPHER*, kSuites> c{};
    for (int i = 0; i < kSuites; ++i) {
      c[i] = EVP_CIPHER_fetch(nullptr, kCipherNames[i], nullptr);
    }
    return c;
  }();
  return ciphers[suite];
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// One context per AEAD per thread, bound to its cipher once; each record
// only sets key and nonce (passing the cipher again would rebuild it).
EVP_CIPHER_CTX* ThreadContext(int suite) {
  thread_local std::array<std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>,
                          kSuites>
      contexts;
  auto& ctx = contexts[suite];
  if (!ctx) {
    const EVP_CIPHER* cipher = Cipher(suite);
    if (cipher == nullptr) return nullptr;
    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> fresh(EVP_CIPHER_CTX_new());
    if (!fresh || EVP_CipherInit_ex(fresh.get(), cipher, nullptr, nullptr,
                                    nullptr, 1) != 1) {
      return nullptr;
    }
    ctx = std::move(fresh);
  }
  return ctx.get();
}

// HKDF-Expand-Label(secret, label, "", size) for size ≤ the hash size, so
// HKDF-Expand is its first block: HMAC(secret, HkdfLabel || 0x01).
bool ExpandLabel(const EVP_MD* md, const uint8_t* secret, size_t secret_size,
                 std::string_view label, uint8_t* out, size_t size) {
  static constexpr std::string_view kPrefix = "tls13 ";
  uint8_t info[2 + 1 + 32 + 1 + 1];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(size >> 8);
  info[n++] = static_cast<uint8_t>(size);
  info[n++] = static_cast<uint8_t>(kPrefix.size() + label.size());
  std::memcpy(info + n, kPrefix.data(), kPrefix.size());
  n += kPrefix.size();
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // empty context
  info[n++] = 1;  // HKDF-Expand block counter
  uint8_t block[EVP_MAX_MD_SIZE];
  unsigned int block_size = 0;
  if (HMAC(md, secret, static_cast<int>(secret_size), info, n, block,
           &block_size) == nullptr ||
      block_size < size) {
    return false;
  }
  std::memcpy(out, block, size);
  OPENSSL_cleanse(block, sizeof(block));
  return true;
}

// Appends to `out` what `seal_into` writes (at most `room` bytes) and
// returns whether it wrote anything: the std::string form of every *Into.
template <typename SealInto>
bool AppendSealed(std::string& out, size_t room, SealInto seal_into) {
  const size_t at = out.size();
  out.resize(at + room);
  const size_t n = seal_into(reinterpret_cast<uint8_t*>(out.data()) + at);
  out.resize(at + n);
  return n > 0;
}

}  // namespace

std::unique_ptr<Tls13Records> Tls13Records::Create(
    const SSL_CIPHER* cipher, const Tls13Secrets& secrets) {
  if (cipher == nullptr) return nullptr;
  return Create(static_cast<uint16_t>(SSL_CIPHER_get_id(cipher) & 0xffff),
                secrets);
}

std::unique_ptr<Tls13Records> Tls13Records::Create(
    uint16_t suite_id, const Tls13Secrets& secrets) {
  if (!secrets.complete()) return nullptr;
  int suite;
  const EVP_MD* md;
  size_t key_size;
  switch (suite_id) {
    case 0x1301:  // TLS_AES_128_GCM_SHA256
      suite = 0, md = EVP_sha256(), key_size = 16;
      break;
    case 0x1302:  // TLS_AES_256_GCM_SHA384
      suite = 1, md = EVP_sha384(), key_size = 32;
      break;
    case 0x1303:  // TLS_CHACHA20_POLY1305_SHA256
      suite = 2, md = EVP_sha256(), key_size = 32;
      break;
    default:
      return nullptr;
  }
  if (ThreadContext(suite) == nullptr) return nullptr;
  const size_t hash_size = static_cast<size_t>(EVP_MD_get_size(md));
  if (secrets.client_size != hash_size || secrets.server_size != hash_size) {
    return nullptr;
  }
  std::unique_ptr<Tls13Records> records(new Tls13Records(suite, md, key_size));
  std::memcpy(records->read_.secret.data(), secrets.client.data(), hash_size);
  std::memcpy(records->write_.secret.data(), secrets.server.data(), hash_size);
  if (!records->DeriveKeys(records->read_) ||
      !records->DeriveKeys(records->write_)) {
    return nullptr;
  }
  records->read_.seq = secrets.client_records_read;
  records->write_.seq = secrets.server_records_sent;
  return records;
}

Tls13Records::Tls13Records(int suite, const EVP_MD* md, size_t key_size)
    : suite_(suite),
      md_(md),
      hash_size_(static_cast<size_t>(EVP_MD_get_size(md))),
      key_size_(key_size) {}

Tls13Records::~Tls13Records() {
  OPENSSL_cleanse(&read_, sizeof(read_));
  OPENSSL_cleanse(&write_, sizeof(write_));
}

bool Tls13Records::DeriveKeys(Direction& d) {
  d.seq = 0;
  return ExpandLabel(md_, d.secret.data(), hash_size_, "key", d.key.data(),
                     key_size_) &&
         ExpandLabel(md_, d.secret.data(), hash_size_, "iv", d.iv.data(),
                     d.iv.size());
}

bool Tls13Records::NextGeneration(Direction& d) {
  std::array<uint8_t, EVP_MAX_MD_SIZE> next{};
  if (!ExpandLabel(md_, d.secret.data(), hash_size_, "traffic upd", next.data(),
                   hash_size_)) {
    return false;
  }
  d.secret = next;
  OPENSSL_cleanse(next.data(), next.size());
  return DeriveKeys(d);
}

void Tls13Records::Nonce(const Direction& d, uint8_t* nonce) const {
  std::memcpy(nonce, d.iv.data(), d.iv.size());
  for (int i = 0; i < 8; ++i) {
    nonce[11 - i] ^= static_cast<uint8_t>(d.seq >> (8 * i));
  }
}

size_t Tls13Records::MaxSealedBytes(size_t size) {
  const size_t records =
      std::max<size_t>(1, (size + kMaxPlaintext - 1) / kMaxPlaintext);
  const size_t key_update = kHeaderBytes + 5 + 1 + kTagBytes;
  return size + records * (kHeaderBytes + 1 + kTagBytes) + key_update;
}

size_t Tls13Records::SealAppDataInto(Pieces pieces, size_t size, uint8_t* dst) {
  size_t written = 0;
  // One KeyUpdate both answers the peer's requests and rotates our key.
  if (key_update_owed_ || write_.seq >= records_per_key_) {
    written = SealKeyUpdateInto(false, dst);
    if (written == 0) return 0;
  }
  const size_t n = Seal(kApplicationData, pieces, size, dst + written);
  return n == 0 ? 0 : written + n;
}

bool Tls13Records::SealAppData(Pieces pieces, size_t size, std::string& out) {
  return AppendSealed(out, MaxSealedBytes(size), [&](uint8_t* dst) {
    return SealAppDataInto(pieces, size, dst);
  });
}

bool Tls13Records::SealAppData(const char* data, size_t size,
                               std::string& out) {
  const boost::asio::const_buffer piece(data, size);
  return SealAppData(Pieces(&piece, 1), size, out);
}

bool Tls13Records::SealCloseNotify(std::string& out) {
  const uint8_t alert[2] = {1, kCloseNotify};  // level: warning
  const boost::asio::const_buffer piece(alert, sizeof(alert));
  return AppendSealed(out, MaxSealedBytes(sizeof(alert)), [&](uint8_t* dst) {
    return Seal(kAlert, Pieces(&piece, 1), sizeof(alert), dst);
  });
}

bool Tls13Records::SealFatalAlert(Alert alert, std::string& out) {
  const uint8_t message[2] = {2, static_cast<uint8_t>(alert)};  // fatal
  const boost::asio::const_buffer piece(message, sizeof(message));
  return AppendSealed(out, MaxSealedBytes(sizeof(message)), [&](uint8_t* dst) {
    return Seal(kAlert, Pieces(&piece, 1), sizeof(message), dst);
  });
}

bool Tls13Records::AnswerKeyUpdate(std::string& out) {
  return !key_update_owed_ || SealKeyUpdate(false, out);
}

bool Tls13Records::SealInnerForTest(const uint8_t* inner, size_t size,
                                    std::string& out) {
  EVP_CIPHER_CTX* ctx = ThreadContext(suite_);
  if (ctx == nullptr) return false;
  return AppendSealed(out, kHeaderBytes + size + kTagBytes, [&](uint8_t* dst) {
    if (size > 0) std::memcpy(dst + kHeaderBytes, inner, size);
    return EncryptRecord(ctx, dst, size);
  });
}

size_t Tls13Records::SealKeyUpdateInto(bool request_update, uint8_t* dst) {
  const uint8_t message[5] = {kKeyUpdate, 0, 0, 1,
                              static_cast<uint8_t>(request_update ? 1 : 0)};
  const boost::asio::const_buffer piece(message, sizeof(message));
  // The KeyUpdate itself goes under the old key; what follows, the new.
  const size_t n = Seal(kHandshake, Pieces(&piece, 1), sizeof(message), dst);
  if (n == 0 || !NextGeneration(write_)) return 0;
  key_update_owed_ = false;
  return n;
}

bool Tls13Records::SealKeyUpdate(bool request_update, std::string& out) {
  return AppendSealed(out, MaxSealedBytes(5), [&](uint8_t* dst) {
    return SealKeyUpdateInto(request_update, dst);
  });
}

size_t Tls13Records::Seal(uint8_t type, Pieces pieces, size_t size,
                          uint8_t* dst) {
  EVP_CIPHER_CTX* ctx = ThreadContext(suite_);
  if (ctx == nullptr) return 0;
  size_t piece = 0;   // the piece being sealed
  size_t offset = 0;  // within it
  size_t left = size;
  size_t written = 0;
  do {
    const size_t chunk = std::min(left, kMaxPlaintext);
    uint8_t* record = dst + written;
    uint8_t* sealed = record + kHeaderBytes;
    // Gather the chunk and the content type where the ciphertext goes and
    // encrypt in place: one cipher call per record runs the AEAD's fast
    // bulk path, which many small per-frame calls would not.
    for (size_t need = chunk, at_plain = 0; need > 0;) {
      if (piece >= pieces.size()) return 0;  // size exceeds the pieces
      const size_t take = std::min(need, pieces[piece].size() - offset);
      if (take > 0) {
        std::memcpy(sealed + at_plain,
                    static_cast<const uint8_t*>(pieces[piece].data()) + offset,
                    take);
      }
      at_plain += take;
      need -= take;
      offset += take;
      if (offset == pieces[piece].size()) {
        ++piece;
        offset = 0;
      }
    }
    sealed[chunk] = type;
    const size_t n = EncryptRecord(ctx, record, chunk + 1);
    if (n == 0) return 0;
    written += n;
    left -= chunk;
  } while (left > 0);
  return written;
}

size_t Tls13Records::EncryptRecord(EVP_CIPHER_CTX* ctx, uint8_t* record,
                                   size_t inner) {
  const size_t body = inner + kTagBytes;
  record[0] = kApplicationData;  // outer type of every protected record
  record[1] = 3;
  record[2] = 3;
  record[3] = static_cast<uint8_t>(body >> 8);
  record[4] = static_cast<uint8_t>(body);
  uint8_t nonce[12];
  Nonce(write_, nonce);
  uint8_t* sealed = record + kHeaderBytes;
  int n = 0;
  size_t total = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, write_.key.data(), nonce, 1) !=
          1 ||
      EVP_CipherUpdate(ctx, nullptr, &n, record,
                       static_cast<int>(kHeaderBytes)) != 1 ||
      EVP_CipherUpdate(ctx, sealed, &n, sealed, static_cast<int>(inner)) != 1) {
    return 0;
  }
  total += static_cast<size_t>(n);
  if (EVP_CipherFinal_ex(ctx, sealed + total, &n) != 1) return 0;
  total += static_cast<size_t>(n);
  if (total != inner ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
                          static_cast<int>(kTagBytes), sealed + inner) != 1) {
    return 0;
  }
  ++write_.seq;
  return kHeaderBytes + body;
}

Tls13Records::OpenStatus Tls13Records::Open(const uint8_t* in, size_t size,
                                            size_t& consumed,
                                            std::string& plain) {
  consumed = 0;
  EVP_CIPHER_CTX* ctx = ThreadContext(suite_);
  if (ctx == nullptr) return Fail(Alert::kInternalError);
  while (size - consumed >= kHeaderBytes) {
    const uint8_t* record = in + consumed;
    const size_t body = size_t{record[3]} << 8 | record[4];
    // After the handshake every record is protected and looks like
    // application data from outside (legacy_record_version is ignored).
    // Both limits are checked on the header, before the body arrives, so
    // no buffer grows for a record that would be refused.
    if (record[0] != kApplicationData) return Fail(Alert::kUnexpectedMessage);
    if (kHeaderBytes + body > kMaxRecordBytes ||
        body > kMaxInnerPlaintextBytes + kTagBytes) {
      return Fail(Alert::kRecordOverflow);  // RFC 8446 §5.2, §5.4
    }
    if (body < 1 + kTagBytes) return Fail(Alert::kBadRecordMac);
    if (size - consumed < kHeaderBytes + body) break;  // incomplete
    consumed += kHeaderBytes + body;
    const OpenStatus status = OpenRecord(ctx, record, body, plain);
    if (status != OpenStatus::kOk) return status;
  }
  return OpenStatus::kOk;
}

Tls13Records::OpenStatus Tls13Records::OpenRecord(EVP_CIPHER_CTX* ctx,
                                                  const uint8_t* record,
                                                  size_t body,
                                                  std::string& plain) {
  const size_t sealed_size = body - kTagBytes;
  const size_t at = plain.size();
  plain.resize(at + sealed_size);
  auto* opened = reinterpret_cast<uint8_t*>(plain.data() + at);
  uint8_t nonce[12];
  Nonce(read_, nonce);
  int n = 0;
  int total = 0;
  bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, read_.key.data(), nonce,
                              0) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &n, record,
                             static_cast<int>(kHeaderBytes)) == 1 &&
            EVP_CipherUpdate(ctx, opened, &n, record + kHeaderBytes,
                             static_cast<int>(sealed_size)) == 1;
  total += n;
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(
           ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes),
           const_cast<uint8_t*>(record + kHeaderBytes + sealed_size)) == 1 &&
       EVP_CipherFinal_ex(ctx, opened + total, &n) == 1;
  if (!ok) {
    plain.resize(at);
    return Fail(Alert::kBadRecordMac);
  }
  ++read_.seq;
  // TLSInnerPlaintext: content, then the real type, then zero padding.
  size_t end = plain.size();
  while (end > at && plain[end - 1] == 0) --end;
  if (end == at) {  // no type byte (RFC 8446 §5.4)
    plain.resize(at);
    return Fail(Alert::kUnexpectedMessage);
  }
  const auto type = static_cast<uint8_t>(plain[end - 1]);
  const size_t content = end - 1 - at;
  if (content == 0) {
    if (++empty_records_ > kMaxEmptyRecords) {
      plain.resize(at);
      return Fail(Alert::kUnexpectedMessage);
    }
  } else {
    empty_records_ = 0;
  }
  if (type != kAlert) warning_alerts_ = 0;
  if (type == kApplicationData) {
    if (content > 0) key_updates_ = 0;
    plain.resize(end - 1);
    return OpenStatus::kOk;
  }
  const std::string message = plain.substr(at, content);
  plain.resize(at);
  if (type == kAlert) return HandleAlert(message);
  if (type == kHandshake) return HandleHandshake(message);
  return Fail(Alert::kUnexpectedMessage);
}

Tls13Records::OpenStatus Tls13Records::HandleAlert(const std::string& message) {
  if (message.size() != 2) return Fail(Alert::kDecodeError);
  const auto description = static_cast<Alert>(message[1]);
  if (description == Alert::kCloseNotify) return OpenStatus::kPeerClosed;
  if (description == Alert::kUserCanceled) {  // close_notify follows
    if (++warning_alerts_ > kMaxWarningAlerts) {
      return Fail(Alert::kUnexpectedMessage);
    }
    return OpenStatus::kOk;
  }
  // Every other alert is fatal in TLS 1.3 whatever its level (§6.2).
  alert_ = description;
  return OpenStatus::kPeerAlert;
}

Tls13Records::OpenStatus Tls13Records::HandleHandshake(
    const std::string& message) {
  // The only handshake message a client sends now is KeyUpdate, whole
  // and last in its record (RFC 8446 §5.1: it may not span a key change).
  if (message.size() < 4) return Fail(Alert::kDecodeError);
  if (static_cast<uint8_t>(message[0]) != kKeyUpdate) {
    return Fail(Alert::kUnexpectedMessage);
  }
  if (message.size() != 5 || message[1] != 0 || message[2] != 0 ||
      message[3] != 1) {
    return Fail(Alert::kDecodeError);
  }
  if (++key_updates_ > kMaxKeyUpdates) return Fail(Alert::kUnexpectedMessage);
  const auto request = static_cast<uint8_t>(message[4]);
  if (request > 1) return Fail(Alert::kIllegalParameter);  // §4.6.3
  if (!NextGeneration(read_)) return Fail(Alert::kInternalError);
  // Requests received before our answer goes out share that one answer.
  if (request == 1) key_update_owed_ = true;
  return OpenStatus::kOk;
}

Tls13Records::OpenStatus Tls13Records::Fail(Alert alert) {
  alert_ = alert;
  return OpenStatus::kError;
}

}  // namespace herald::push
