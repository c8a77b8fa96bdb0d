#include "push/client_frame_parser.h"

#include <algorithm>
#include <string_view>

#include "push/utf8.h"
#include "push/ws_frame.h"

namespace herald::push {
namespace {

size_t Fail(ClientFrameParser::Output* out, uint16_t code, const char* why,
            size_t consumed) {
  out->event = ClientFrameParser::Event::kError;
  out->code = code;
  out->error = why;
  return consumed;
}

// Close codes a peer may send (RFC 6455 §7.4.1 and the IANA registry):
// 1004-1006 and 1015 are reserved and must never be on the wire, the rest
// below 3000 is unassigned, and 5000 and above do not exist.
bool IsSendableCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

}  // namespace

size_t ClientFrameParser::Parse(const uint8_t* data, size_t size, Output* out) {
  out->event = Event::kNone;
  size_t pos = 0;
  while (pos < size) {
    if (skip_remaining_ > 0) {
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(skip_remaining_, size - pos));
      skip_remaining_ -= n;
      pos += n;
      continue;
    }
    const uint8_t* p = data + pos;
    const size_t avail = size - pos;
    if (avail < 2) return pos;
    const bool fin = p[0] & 0x80;
    const uint8_t rsv = p[0] & 0x70;
    const uint8_t opcode = p[0] & 0x0F;
    const bool masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) return pos;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) return pos;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
      // RFC 6455 §5.2: the most significant bit must be 0.
      if (len >> 63) return Fail(out, 1002, "invalid payload length", pos);
    }
    if (rsv != 0) return Fail(out, 1002, "reserved bits set", pos);
    if (!masked) return Fail(out, 1002, "client frame not masked", pos);
    header += 4;
    const bool control = opcode & 0x8;
    if (control) {
      if (!fin || len > 125) {
        return Fail(out, 1002, "malformed control frame", pos);
      }
      if (opcode != kOpClose && opcode != kOpPing && opcode != kOpPong) {
        return Fail(out, 1002, "unknown opcode", pos);
      }
      if (avail < header + len) return pos;  // wait for the whole frame
      const uint8_t* mask = p + header - 4;
      std::string payload(len, '\0');
      for (size_t i = 0; i < len; ++i) {
        payload[i] = static_cast<char>(p[header + i] ^ mask[i & 3]);
      }
      pos += header + len;
      if (opcode == kOpPing) {
        out->event = Event::kPing;
        out->payload = std::move(payload);
      } else if (opcode == kOpPong) {
        out->event = Event::kPong;
      } else {
        if (payload.size() == 1) {
          return Fail(out, 1002, "malformed close frame", pos);
        }
        out->event = Event::kClose;
        out->code = 1005;
        if (payload.size() >= 2) {
          const auto code =
              static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                    static_cast<uint8_t>(payload[1]));
          if (!IsSendableCloseCode(code)) {
            return Fail(out, 1002, "invalid close code", pos);
          }
          if (!IsValidUtf8(std::string_view(payload).substr(2))) {
            return Fail(out, 1007, "close reason not UTF-8", pos);
          }
          out->code = code;
          out->payload = payload.substr(2);
        }
      }
      return pos;
    }
    // Data frame: text, binary or continuation.
    if (opcode == 0x0) {
      if (!in_fragmented_message_) {
        return Fail(out, 1002, "continuation without a message", pos);
      }
    } else if (opcode == 0x1 || opcode == 0x2) {
      if (in_fragmented_message_) {
        return Fail(out, 1002, "new message inside a fragmented one", pos);
      }
      message_bytes_ = 0;
    } else {
      return Fail(out, 1002, "unknown opcode", pos);
    }
    if (avail < header) return pos;
    // message_bytes_ <= max_message_bytes_ holds here, so the subtraction
    // cannot wrap, and neither can the sum (a 2^64 - 1 length included).
    if (len > max_message_bytes_ - message_bytes_) {
      return Fail(out, 1009, "message too big", pos);
    }
    message_bytes_ += len;
    in_fragmented_message_ = !fin;
    pos += header;
    skip_remaining_ = len;
  }
  return pos;
}

}  // namespace herald::push
