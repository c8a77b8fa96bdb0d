// libFuzzer target: ClientFrameParser on arbitrary client bytes, fed once
// whole and once cut at arbitrary points, as TCP may deliver them. Checks
// that both see the same events, that the parser never consumes more than
// it was given, never stalls on a buffer that holds a complete frame
// header or control frame, and reports only what the protocol allows.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "push/client_frame_parser.h"

namespace {

using herald::push::ClientFrameParser;

// Longest prefix the parser may wait on: a 14-byte header with a 64-bit
// length and mask, and a whole control frame (125 bytes).
constexpr size_t kMaxStall = 14 + 125;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Event {
  ClientFrameParser::Event event;
  uint16_t code;
  std::string payload;
  bool operator==(const Event&) const = default;
};

void CheckEvent(const ClientFrameParser::Output& out) {
  using E = ClientFrameParser::Event;
  switch (out.event) {
    case E::kPing:
      Check(out.payload.size() <= 125);
      break;
    case E::kPong:
      break;
    case E::kClose:
      Check(out.payload.size() <= 123);
      Check(out.code == 1005 || (out.code >= 1000 && out.code <= 1003) ||
            (out.code >= 1007 && out.code <= 1014) ||
            (out.code >= 3000 && out.code <= 4999));
      Check(out.code != 1005 || out.payload.empty());
      break;
    case E::kError:
      Check(out.code == 1002 || out.code == 1007 || out.code == 1009);
      Check(out.error != nullptr && out.error[0] != '\0');
      break;
    case E::kNone:
      Check(false);
  }
}

// Feeds `data` in pieces whose sizes come from `cuts` (cycled; empty: all
// at once), keeping unconsumed tails as Connection does.
std::vector<Event> Run(const uint8_t* data, size_t size, size_t max_message,
                       const std::vector<size_t>& cuts) {
  ClientFrameParser parser(max_message);
  std::vector<Event> events;
  std::vector<uint8_t> buffer;
  size_t offset = 0;
  size_t next_cut = 0;
  while (offset < size) {
    size_t piece = size - offset;
    if (!cuts.empty()) {
      piece = std::min(piece, cuts[next_cut++ % cuts.size()]);
    }
    buffer.insert(buffer.end(), data + offset, data + offset + piece);
    offset += piece;
    size_t pos = 0;
    while (pos < buffer.size()) {
      ClientFrameParser::Output out;
      const size_t avail = buffer.size() - pos;
      const size_t used = parser.Parse(buffer.data() + pos, avail, &out);
      Check(used <= avail);
      pos += used;
      if (out.event == ClientFrameParser::Event::kNone) {
        if (used == 0) {
          Check(avail < kMaxStall);  // else the connection would deadlock
          break;
        }
        continue;
      }
      CheckEvent(out);
      events.push_back({out.event, out.code, out.payload});
      if (out.event == ClientFrameParser::Event::kError) return events;
    }
    buffer.erase(buffer.begin(), buffer.begin() + pos);
    Check(buffer.size() < kMaxStall);
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: the message limit; second: how the stream is cut.
  const size_t max_message = data[0] < 128 ? data[0] * 37u : 4096;
  const uint8_t seed = data[1];
  data += 2;
  size -= 2;
  const std::vector<Event> whole = Run(data, size, max_message, {});
  std::vector<size_t> cuts;
  for (int i = 0; i < 8; ++i) cuts.push_back(1 + ((seed * (i + 3)) % 17));
  Check(Run(data, size, max_message, cuts) == whole);
  Check(Run(data, size, max_message, {1}) == whole);
  return 0;
}
