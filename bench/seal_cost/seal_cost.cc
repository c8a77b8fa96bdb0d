// herald-seal-cost: nanoseconds per sealed 250-byte record (about a chat
// envelope's WebSocket frame) and bytes per connection, for N connections
// sealed round-robin as a fan-out does:
//   - herald: Tls13Records::SealAppDataInto, which re-keys the worker's one
//     shared EVP_CIPHER_CTX for every record (push/tls13_records.cc);
//   - keyed: one EVP_CIPHER_CTX per connection, keyed once, only the nonce
//     set per record: the usual design, and what it would save and cost.
// Run pinned: taskset -c 0 herald-seal-cost [connections] [rounds]
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "push/tls13_records.h"
#include "push/tls13_secrets.h"

namespace {

using herald::push::Tls13Records;
using Clock = std::chrono::steady_clock;
constexpr size_t kFrameBytes = 250;
constexpr uint16_t kAes256GcmSha384 = 0x1302;  // OpenSSL's first choice
constexpr size_t kSecretBytes = 48;

size_t HeapInUse() { return mallinfo2().uordblks; }

std::unique_ptr<Tls13Records> RandomRecords() {
  herald::push::Tls13Secrets s;
  RAND_bytes(s.client.data(), kSecretBytes);
  RAND_bytes(s.server.data(), kSecretBytes);
  s.client_size = s.server_size = kSecretBytes;
  return Tls13Records::Create(kAes256GcmSha384, s);
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// The record layer's calls for one record on a context already keyed.
bool SealKeyed(EVP_CIPHER_CTX* ctx, const uint8_t* nonce, uint8_t* record) {
  int n = 0;
  return EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce, 1) == 1 &&
         EVP_CipherUpdate(ctx, nullptr, &n, record, 5) == 1 &&
         EVP_CipherUpdate(ctx, record + 5, &n, record + 5, kFrameBytes + 1) ==
             1 &&
         EVP_CipherFinal_ex(ctx, record + 6 + kFrameBytes, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
                             record + 6 + kFrameBytes) == 1;
}

template <typename F>
double NanosPerRecord(size_t conns, int rounds, F&& seal) {
  const auto start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < conns; ++i) {
      if (!seal(i)) {
        std::fprintf(stderr, "seal failed\n");
        std::exit(1);
      }
    }
  }
  const std::chrono::duration<double, std::nano> took = Clock::now() - start;
  return took.count() / (static_cast<double>(conns) * rounds);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t conns = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 20;
  if (conns == 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: herald-seal-cost [connections] [rounds]\n");
    return 2;
  }
  std::vector<uint8_t> frame(kFrameBytes, 'x');
  std::vector<uint8_t> out(Tls13Records::MaxSealedBytes(kFrameBytes));
  const boost::asio::const_buffer piece(frame.data(), frame.size());

  size_t before = HeapInUse();
  std::vector<std::unique_ptr<Tls13Records>> records(conns);
  for (auto& r : records) {
    r = RandomRecords();
    if (!r) {
      std::fprintf(stderr, "herald-seal-cost: Tls13Records::Create failed\n");
      return 1;
    }
  }
  const size_t records_bytes = (HeapInUse() - before) / conns;
  const double herald = NanosPerRecord(conns, rounds, [&](size_t i) {
    return records[i]->SealAppDataInto(Tls13Records::Pieces(&piece, 1),
                                       kFrameBytes, out.data()) > 0;
  });

  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  before = HeapInUse();
  std::vector<Ctx> keyed(conns);
  for (auto& c : keyed) {
    uint8_t key[32];
    RAND_bytes(key, sizeof(key));
    c.reset(EVP_CIPHER_CTX_new());
    if (!c ||
        EVP_CipherInit_ex(c.get(), cipher, nullptr, key, nullptr, 1) != 1) {
      std::fprintf(stderr, "herald-seal-cost: cannot key AES-256-GCM\n");
      return 1;
    }
  }
  const size_t ctx_bytes = (HeapInUse() - before) / conns;
  const uint8_t nonce[12] = {};
  std::vector<uint8_t> record(out.size());
  const double kept = NanosPerRecord(conns, rounds, [&](size_t i) {
    return SealKeyed(keyed[i].get(), nonce, record.data());
  });
  EVP_CIPHER_free(cipher);

  std::printf("connections %zu, rounds %d, %zu-byte records, AES-256-GCM\n",
              conns, rounds, kFrameBytes);
  std::printf(
      "herald (shared context, re-keyed per record): %.0f ns/record, "
      "%zu bytes/connection of record state\n",
      herald, records_bytes);
  std::printf(
      "keyed context per connection: %.0f ns/record, +%zu "
      "bytes/connection\n",
      kept, ctx_bytes);
  return 0;
}
