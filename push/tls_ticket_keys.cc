#include "push/tls_ticket_keys.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "push/log.h"

namespace herald::push {
namespace {

constexpr char kMagic[] = "herald-ticket-keys v1";

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool FreshKey(TlsTicketKeys::Key& key) {
  key.created = NowSeconds();
  return RAND_bytes(key.name.data(), key.name.size()) == 1 &&
         RAND_bytes(key.aes.data(), key.aes.size()) == 1 &&
         RAND_bytes(key.hmac.data(), key.hmac.size()) == 1;
}

std::string KeyLine(const TlsTicketKeys::Key& key) {
  const auto hex = [](const auto& bytes) {
    return absl::BytesToHexString(absl::string_view(
        reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  };
  return absl::StrCat(key.created, " ", hex(key.name), " ", hex(key.aes), " ",
                      hex(key.hmac), "\n");
}

template <size_t N>
bool FromHex(const std::string& hex, std::array<uint8_t, N>& out) {
  if (hex.size() != 2 * N) return false;
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  std::memcpy(out.data(), bytes.data(), N);
  return true;
}

bool ParseKeyLine(const std::string& line, TlsTicketKeys::Key& key) {
  std::istringstream in(line);
  std::string name, aes, hmac, extra;
  return static_cast<bool>(in >> key.created >> name >> aes >> hmac) &&
         !(in >> extra) && key.created > 0 && FromHex(name, key.name) &&
         FromHex(aes, key.aes) && FromHex(hmac, key.hmac);
}

bool SetMacKey(EVP_MAC_CTX* mac, const TlsTicketKeys::Key& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                        const_cast<uint8_t*>(key.hmac.data()),
                                        key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

int TicketIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsTicketKeys>> TlsTicketKeys::Load(
    const std::string& path, std::chrono::seconds rotation) {
  std::unique_ptr<TlsTicketKeys> keys(new TlsTicketKeys(path, rotation));
  absl::MutexLock lock(&keys->mu_);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot read TLS ticket keys ", path, ": ", strerror(errno)));
    }
    if (!FreshKey(keys->current_)) {
      return absl::InternalError("cannot generate a TLS ticket key");
    }
    if (auto s = keys->Save(); !s.ok()) return s;
    return keys;
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TLS ticket keys ", path,
        " are readable by other users: chmod 600 it (they decrypt every "
        "session ticket)"));
  }
  std::ifstream in(path);
  std::string magic, current, previous;
  std::getline(in, magic);
  std::getline(in, current);
  const bool has_previous = static_cast<bool>(std::getline(in, previous));
  if (magic != kMagic || !ParseKeyLine(current, keys->current_) ||
      (has_previous && !ParseKeyLine(previous, keys->previous_))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TLS ticket keys ", path,
        " are malformed; remove the file to start with a new key"));
  }
  keys->has_previous_ = has_previous;
  if (NowSeconds() - keys->current_.created >= rotation.count()) {
    if (auto s = keys->RotateLocked(); !s.ok()) return s;
  }
  return keys;
}

bool TlsTicketKeys::Install(SSL_CTX* ctx) {
  if (TicketIndex() < 0 || SSL_CTX_set_ex_data(ctx, TicketIndex(), this) != 1) {
    return false;
  }
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_timeout(ctx, static_cast<long>(2 * rotation_.count()));
  return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &OnTicketKey) == 1;
}

TlsTicketKeys::Key TlsTicketKeys::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

TlsTicketKeys::Key TlsTicketKeys::previous() const {
  absl::MutexLock lock(&mu_);
  return has_previous_ ? previous_ : Key{};
}

absl::Status TlsTicketKeys::Rotate() {
  absl::MutexLock lock(&mu_);
  return RotateLocked();
}

absl::Status TlsTicketKeys::RotateLocked() {
  Key next;
  if (!FreshKey(next)) {
    return absl::InternalError("cannot generate a TLS ticket key");
  }
  previous_ = current_;
  has_previous_ = true;
  current_ = next;
  OPENSSL_cleanse(&next, sizeof(next));
  return Save();
}

absl::Status TlsTicketKeys::Save() const {
  std::string text = absl::StrCat(kMagic, "\n", KeyLine(current_));
  if (has_previous_) text += KeyLine(previous_);
  const std::string tmp = path_ + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const auto fail = [&](const char* what) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    OPENSSL_cleanse(text.data(), text.size());
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot ", what, " TLS ticket keys ", path_, ": ", strerror(err)));
  };
  if (fd < 0) return fail("write");
  if (::fchmod(fd, 0600) != 0) return fail("protect");
  if (::write(fd, text.data(), text.size()) !=
          static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0) {
    return fail("write");
  }
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail("replace");
  return absl::OkStatus();
}

int TlsTicketKeys::OnTicketKey(SSL* ssl, unsigned char* name, unsigned char* iv,
                               EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                               int enc) {
  auto* self = static_cast<TlsTicketKeys*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TicketIndex()));
  if (self == nullptr) return -1;
  return enc ? self->Seal(name, iv, cipher, mac)
             : self->Open(name, cipher, mac, iv);
}

int TlsTicketKeys::Seal(unsigned char* name, unsigned char* iv,
                        EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac) {
  absl::MutexLock lock(&mu_);
  if (NowSeconds() - current_.created >= rotation_.count()) {
    // Rare (once a period); the file write is small.
    if (auto s = RotateLocked(); !s.ok()) {
      LogWarning("TLS ticket key rotation failed: ", s.message());
    }
  }
  const int iv_size = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
  if (RAND_bytes(iv, iv_size) != 1) return -1;
  std::memcpy(name, current_.name.data(), current_.name.size());
  if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr,
                         current_.aes.data(), iv) != 1 ||
      !SetMacKey(mac, current_)) {
    return -1;
  }
  return 1;
}

int TlsTicketKeys::Open(const unsigned char* name, EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac, const unsigned char* iv) {
  absl::MutexLock lock(&mu_);
  const bool is_current =
      CRYPTO_memcmp(name, current_.name.data(), current_.name.size()) == 0;
  const bool is_previous =
      !is_current && has_previous_ &&
      CRYPTO_memcmp(name, previous_.name.data(), previous_.name.size()) == 0;
  if (!is_current && !is_previous) return 0;  // unknown: a full handshake
  const Key& key = is_current ? current_ : previous_;
  if (!SetMacKey(mac, key) ||
      EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(),
                         iv) != 1) {
    return -1;
  }
  return is_current ? 1 : 2;  // 2: valid, but send a ticket under the new key
}

}  // namespace herald::push
