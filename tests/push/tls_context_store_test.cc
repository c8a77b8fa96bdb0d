#include "push/tls_context_store.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace herald::push {
namespace {

// Writes a self-signed P-256 certificate with CN=`cn` and its key.
void WritePair(const std::string& cert_path, const std::string& key_path,
               const char* cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* f = fopen(key_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  f = fopen(cert_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

std::string SubjectOf(SSL_CTX* ctx) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(SSL_CTX_get0_certificate(ctx)), buf,
                    sizeof buf);
  return buf;
}

class TlsContextStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/herald-tls-store-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    options_.tls_cert_file = dir_ + "/cert.pem";
    options_.tls_key_file = dir_ + "/key.pem";
    WritePair(dir_ + "/one.crt", dir_ + "/one.key", "one");
    WritePair(dir_ + "/two.crt", dir_ + "/two.key", "two");
    Install("one", "one");
  }
  void TearDown() override {
    for (const char* f : {"/cert.pem", "/key.pem", "/one.crt", "/one.key",
                          "/two.crt", "/two.key", "/tickets"}) {
      unlink((dir_ + f).c_str());
    }
    rmdir(dir_.c_str());
  }
  // Copies the certificate of pair `cert` and the key of pair `key` into
  // the served files.
  void Install(const std::string& cert, const std::string& key) {
    Copy(dir_ + "/" + cert + ".crt", options_.tls_cert_file);
    Copy(dir_ + "/" + key + ".key", options_.tls_key_file);
  }
  static void Copy(const std::string& from, const std::string& to) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
  }
  std::unique_ptr<TlsContextStore> Create(TlsTicketKeys* keys = nullptr) {
    auto store = TlsContextStore::Create(options_, keys);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string dir_;
  PushOptions options_;
};

TEST_F(TlsContextStoreTest, ReloadServesTheNewPairAndKeepsTheOldAlive) {
  auto store = Create();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Describe().rfind("subject /CN=one, not after ", 0), 0u)
      << store->Describe();
  std::shared_ptr<SSL_CTX> old = store->Current();
  Install("two", "two");
  auto reloaded = store->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->rfind("subject /CN=two, not after ", 0), 0u) << *reloaded;
  EXPECT_NE(store->Current(), old);
  EXPECT_EQ(SubjectOf(store->Current().get()), "/CN=two");
  // A handshake that took the old context still has all of it.
  EXPECT_EQ(SubjectOf(old.get()), "/CN=one");
  SSL* ssl = SSL_new(old.get());
  ASSERT_NE(ssl, nullptr);
  old.reset();
  EXPECT_EQ(SubjectOf(SSL_get_SSL_CTX(ssl)), "/CN=one");
  SSL_free(ssl);
}

TEST_F(TlsContextStoreTest, BadFilesKeepTheCurrentContext) {
  auto store = Create();
  ASSERT_TRUE(store);
  const std::shared_ptr<SSL_CTX> before = store->Current();
  const std::string cert = options_.tls_cert_file;
  const std::string key = options_.tls_key_file;

  Install("two", "one");
  auto r = store->Reload();
  EXPECT_EQ(r.status().message(),
            "TLS key " + key + " does not match certificate " + cert);
  EXPECT_EQ(store->Current(), before);

  { std::ofstream(cert, std::ios::trunc) << "-----BEGIN CERTIFICATE-----\n"; }
  r = store->Reload();
  EXPECT_EQ(r.status().message().rfind(
                "cannot load TLS certificate " + cert + ": ", 0),
            0u)
      << r.status();
  EXPECT_EQ(store->Current(), before);

  Install("two", "two");
  unlink(key.c_str());
  r = store->Reload();
  EXPECT_EQ(r.status().message(),
            "cannot load TLS key " + key + ": No such file or directory");
  EXPECT_EQ(store->Current(), before);

  Install("two", "two");
  {
    std::ofstream out(cert, std::ios::app);
    out << std::string(TlsContextStore::kMaxPemBytes, '\n');
  }
  r = store->Reload();
  EXPECT_EQ(r.status().message(),
            "cannot load TLS certificate " + cert + ": larger than " +
                std::to_string(TlsContextStore::kMaxPemBytes) + " bytes");
  EXPECT_EQ(store->Current(), before);
  EXPECT_EQ(SubjectOf(store->Current().get()), "/CN=one");
}

TEST_F(TlsContextStoreTest, EveryContextGetsTheTicketKeys) {
  auto keys = TlsTicketKeys::Load(dir_ + "/tickets", std::chrono::hours(12));
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto store = Create(keys->get());
  ASSERT_TRUE(store);
  EXPECT_EQ(SSL_CTX_get_num_tickets(store->Current().get()), 1u);
  Install("two", "two");
  ASSERT_TRUE(store->Reload().ok());
  EXPECT_EQ(SSL_CTX_get_num_tickets(store->Current().get()), 1u);
  EXPECT_EQ(SSL_CTX_get_options(store->Current().get()) & SSL_OP_NO_TICKET, 0u);
}

// Workers take contexts and start SSL objects while the main thread
// reloads (run under TSan by tools/sanitize).
TEST_F(TlsContextStoreTest, TakersRaceReloads) {
  auto store = Create();
  ASSERT_TRUE(store);
  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::vector<std::thread> takers;
  for (int i = 0; i < 3; ++i) {
    takers.emplace_back([&] {
      while (!stop.load()) {
        std::shared_ptr<SSL_CTX> ctx = store->Current();
        SSL* ssl = SSL_new(ctx.get());
        ctx.reset();
        if (ssl != nullptr) SSL_free(ssl);
        taken.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    Install(i % 2 ? "one" : "two", i % 2 ? "one" : "two");
    EXPECT_TRUE(store->Reload().ok());
  }
  stop.store(true);
  for (auto& t : takers) t.join();
  EXPECT_GT(taken.load(), 0);
  EXPECT_EQ(SubjectOf(store->Current().get()), "/CN=one");
}

}  // namespace
}  // namespace herald::push
