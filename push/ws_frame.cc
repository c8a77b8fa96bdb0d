#include "push/ws_frame.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace herald::push {

void AppendServerFrame(std::string& out, uint8_t opcode,
                       std::string_view payload) {
  const size_t n = payload.size();
  out.push_back(static_cast<char>(0x80 | opcode));
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(
          static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xFF));
    }
  }
  out.append(payload);
}

Frame MakeTextFrame(std::string_view payload) {
  auto frame = std::make_shared<std::string>();
  frame->reserve(payload.size() + 10);
  AppendServerFrame(*frame, kOpText, payload);
  return frame;
}

Frame MakeCloseFrame(uint16_t code, std::string_view reason) {
  if (reason.size() > kMaxCloseReason)
    reason = reason.substr(0, kMaxCloseReason);
  std::string body;
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xFF));
  body.append(reason);
  auto frame = std::make_shared<std::string>();
  AppendServerFrame(*frame, kOpClose, body);
  return frame;
}

const Frame& PingFrame() {
  static const Frame* ping = [] {
    auto* f = new Frame(std::make_shared<std::string>());
    AppendServerFrame(const_cast<std::string&>(**f), kOpPing, {});
    return f;
  }();
  return *ping;
}

std::string WebSocketAcceptKey(std::string_view client_key) {
  static constexpr std::string_view kGuid =
      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input;
  input.reserve(client_key.size() + kGuid.size());
  input.append(client_key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
       digest);
  unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded), n);
}

}  // namespace herald::push
