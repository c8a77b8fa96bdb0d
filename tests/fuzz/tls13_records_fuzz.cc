// libFuzzer target: Tls13Records::Open, the TLS 1.3 record opener, under
// fixed traffic secrets, fed the way Tls13RecordTransport feeds it (bytes
// arrive in pieces, an incomplete record waits in a buffer, a requested
// KeyUpdate is answered).
//
// Input: byte 0 chooses the AEAD (bits 0-1), the mode (bit 2) and the size
// of the pieces the stream arrives in (bits 3-7). In raw mode the rest is
// the stream itself: headers, lengths and tags as an attacker sends them.
// In sealed mode the rest is a list of TLSInnerPlaintexts, each a 16-bit
// big-endian length and its bytes (content, type, padding), which the
// fuzzer seals with the client's key before opening them: random bytes
// almost never carry a valid tag, so this is what reaches the content
// types, padding, alerts, KeyUpdates and caps behind the AEAD. A
// KeyUpdate's plaintext is sealed by a real KeyUpdate, so the client's key
// moves on as the opener's does.
//
// Seeds: tests/fuzz/corpus/tls13_records/, made by
// tests/fuzz/make_tls13_records_seeds.py; with TLS13_RECORDS_FUZZ_RAW_OUT
// set, a run also writes a sealed-mode input's stream as a raw-mode input.
//
// Thread: libFuzzer's.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "push/tls13_records.h"
#include "push/tls13_secrets.h"

namespace {

using herald::push::Tls13Records;
using herald::push::Tls13Secrets;

constexpr uint16_t kSuites[3] = {0x1301, 0x1302, 0x1303};

// The server's opener and the client's sealer for a suite, fixed secrets.
void MakePair(uint16_t suite, std::unique_ptr<Tls13Records>& server,
              std::unique_ptr<Tls13Records>& client) {
  const size_t hash = suite == 0x1302 ? 48 : 32;
  Tls13Secrets secrets;
  Tls13Secrets swapped;
  for (size_t i = 0; i < hash; ++i) {
    secrets.client[i] = swapped.server[i] = static_cast<uint8_t>(0x11 + i);
    secrets.server[i] = swapped.client[i] = static_cast<uint8_t>(0x80 + i);
  }
  secrets.client_size = secrets.server_size = hash;
  swapped.client_size = swapped.server_size = hash;
  server = Tls13Records::Create(suite, secrets);
  client = Tls13Records::Create(suite, swapped);
  if (!server || !client) std::abort();
}

// Seals the list of inner plaintexts in `in` with the client's key.
std::string SealAll(Tls13Records& client, const uint8_t* in, size_t size) {
  std::string stream;
  size_t at = 0;
  while (size - at >= 2) {
    size_t len = size_t{in[at]} << 8 | in[at + 1];
    at += 2;
    if (len > size - at) len = size - at;
    const uint8_t* inner = in + at;
    at += len;
    const bool key_update = len == 6 && inner[0] == 24 && inner[1] == 0 &&
                            inner[2] == 0 && inner[3] == 1 && inner[4] <= 1 &&
                            inner[5] == 22;
    const bool ok = key_update ? client.SealKeyUpdate(inner[4] == 1, stream)
                               : client.SealInnerForTest(inner, len, stream);
    if (!ok) std::abort();
  }
  return stream;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  std::unique_ptr<Tls13Records> server;
  std::unique_ptr<Tls13Records> client;
  MakePair(kSuites[(control & 3) % 3], server, client);
  std::string stream =
      (control & 4) != 0
          ? SealAll(*client, data + 1, size - 1)
          : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
  if (const char* out = std::getenv("TLS13_RECORDS_FUZZ_RAW_OUT");
      out != nullptr && (control & 4) != 0) {
    std::ofstream(out, std::ios::binary)
        << static_cast<char>(control & ~4) << stream;
  }
  const size_t piece = (control >> 3) == 0 ? stream.size() + 1
                                           : size_t{1} << (control >> 3) % 16;
  std::string pending;
  std::string plain;
  std::string answers;
  size_t fed = 0;
  while (fed < stream.size()) {
    const size_t n = std::min(piece, stream.size() - fed);
    pending.append(stream, fed, n);
    fed += n;
    size_t consumed = 0;
    const size_t plain_before = plain.size();
    const Tls13Records::OpenStatus status =
        server->Open(reinterpret_cast<const uint8_t*>(pending.data()),
                     pending.size(), consumed, plain);
    // What the opener promises: it uses no more than it got, yields no
    // more plaintext than ciphertext, and keeps only an incomplete record.
    if (consumed > pending.size() || plain.size() - plain_before > consumed) {
      std::abort();
    }
    if (status != Tls13Records::OpenStatus::kOk) {
      if (status == Tls13Records::OpenStatus::kError &&
          server->alert() == Tls13Records::Alert::kCloseNotify) {
        std::abort();  // an error always names its fatal alert
      }
      break;
    }
    pending.erase(0, consumed);
    if (pending.size() >= Tls13Records::kMaxRecordBytes) std::abort();
    if (server->key_update_owed() && !server->AnswerKeyUpdate(answers)) {
      std::abort();
    }
    if (server->key_update_owed()) std::abort();
  }
  // The opened data can still be answered under the current keys.
  if (!server->SealAppData(plain.data(), plain.size() % 40000, answers)) {
    std::abort();
  }
  return 0;
}
