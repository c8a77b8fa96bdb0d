#include "push/tls13_secrets.h"

#include <openssl/crypto.h>

#include <cstring>
#include <string_view>

namespace herald::push {
namespace {

int ExIndex() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes `hex` into `out`; returns the byte count, 0 if malformed or
// too long.
size_t DecodeHex(std::string_view hex, uint8_t* out, size_t capacity) {
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() / 2 > capacity) {
    return 0;
  }
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return hex.size() / 2;
}

// OpenSSL's key log line: "<LABEL> <client random hex> <secret hex>".
void OnKeyLogLine(const SSL* ssl, const char* line) {
  auto* secrets = static_cast<Tls13Secrets*>(SSL_get_ex_data(ssl, ExIndex()));
  if (secrets == nullptr) return;
  std::string_view text(line);
  const size_t label_end = text.find(' ');
  if (label_end == std::string_view::npos) return;
  const std::string_view label = text.substr(0, label_end);
  const size_t secret_start = text.rfind(' ');
  const std::string_view hex = text.substr(secret_start + 1);
  if (label == "CLIENT_TRAFFIC_SECRET_0") {
    secrets->client_size =
        DecodeHex(hex, secrets->client.data(), secrets->client.size());
  } else if (label == "SERVER_TRAFFIC_SECRET_0") {
    secrets->server_size =
        DecodeHex(hex, secrets->server.data(), secrets->server.size());
  }
}

// Called as OpenSSL builds each NewSessionTicket, which it sends at the end
// of the handshake, protected by the server's first application key.
int OnTicketGenerated(SSL* ssl, void*) {
  auto* secrets = static_cast<Tls13Secrets*>(SSL_get_ex_data(ssl, ExIndex()));
  if (secrets != nullptr) ++secrets->server_records_sent;
  return 1;
}

}  // namespace

Tls13Secrets::~Tls13Secrets() {
  OPENSSL_cleanse(client.data(), client.size());
  OPENSSL_cleanse(server.data(), server.size());
}

bool Tls13Secrets::Install(SSL_CTX* ctx) {
  if (ExIndex() < 0) return false;
  SSL_CTX_set_keylog_callback(ctx, &OnKeyLogLine);
  return SSL_CTX_set_session_ticket_cb(ctx, &OnTicketGenerated, nullptr,
                                       nullptr) == 1;
}

void Tls13Secrets::Attach(SSL* ssl, Tls13Secrets* secrets) {
  SSL_set_ex_data(ssl, ExIndex(), secrets);
}

}  // namespace herald::push
