#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace herald::push {

// A complete server-to-client WebSocket frame (header and payload), built
// once and shared read-only by every connection it is queued for.
using Frame = std::shared_ptr<const std::string>;

inline constexpr uint8_t kOpText = 0x1;
inline constexpr uint8_t kOpClose = 0x8;
inline constexpr uint8_t kOpPing = 0x9;
inline constexpr uint8_t kOpPong = 0xA;

// Longest close reason that fits a control frame (125 - 2 bytes of code).
inline constexpr size_t kMaxCloseReason = 123;

// Appends an unmasked, final server frame of `opcode` carrying `payload`.
void AppendServerFrame(std::string& out, uint8_t opcode,
                       std::string_view payload);

// A text frame carrying `payload`.
Frame MakeTextFrame(std::string_view payload);

// A close frame with `code` and `reason` (cut to kMaxCloseReason bytes).
Frame MakeCloseFrame(uint16_t code, std::string_view reason);

// The ping every connection is sent; payload-less, shared.
const Frame& PingFrame();

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string WebSocketAcceptKey(std::string_view client_key);

}  // namespace herald::push
