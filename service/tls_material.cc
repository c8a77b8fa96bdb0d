#include "service/tls_material.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"

namespace herald::service {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

struct FileCloser {
  void operator()(FILE* f) const { fclose(f); }
};

}  // namespace

absl::Status EnsureSelfSignedCertificate(const std::string& cert_path,
                                         const std::string& key_path) {
  const bool have_cert = Exists(cert_path);
  const bool have_key = Exists(key_path);
  if (have_cert && have_key) return absl::OkStatus();
  if (have_cert != have_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("found ", have_cert ? cert_path : key_path, " but not ",
                     have_cert ? key_path : cert_path,
                     "; remove it or give --tls_cert and --tls_key"));
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                          EVP_PKEY_free);
  if (!key) return absl::InternalError("key generation: " + OpenSslError());
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  FILE* urandom = fopen("/dev/urandom", "rb");
  if (urandom == nullptr ||
      fread(serial, 1, sizeof serial, urandom) != sizeof serial) {
    if (urandom) fclose(urandom);
    return absl::InternalError("cannot read /dev/urandom");
  }
  fclose(urandom);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("herald"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) {
      return absl::InternalError("certificate extension: " + OpenSslError());
    }
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return absl::InternalError("certificate signing: " + OpenSslError());
  }

  const mode_t old_mask = umask(077);
  std::unique_ptr<FILE, FileCloser> key_file(fopen(key_path.c_str(), "wx"));
  umask(old_mask);
  if (!key_file) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write TLS key ", key_path, ": ", strerror(errno)));
  }
  if (PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0,
                           nullptr, nullptr) != 1) {
    return absl::InternalError("writing the key: " + OpenSslError());
  }
  std::unique_ptr<FILE, FileCloser> cert_file(fopen(cert_path.c_str(), "wx"));
  if (!cert_file) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot write TLS certificate ", cert_path, ": ", strerror(errno)));
  }
  if (PEM_write_X509(cert_file.get(), cert.get()) != 1) {
    return absl::InternalError("writing the certificate: " + OpenSslError());
  }
  return absl::OkStatus();
}

}  // namespace herald::service
