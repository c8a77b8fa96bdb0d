#include "push/client_frame_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace herald::push {
namespace {

// Builds a masked client frame.
std::string ClientFrame(uint8_t first_byte, const std::string& payload,
                        bool masked = true) {
  std::string out;
  out.push_back(static_cast<char>(first_byte));
  const size_t n = payload.size();
  const uint8_t mask_bit = masked ? 0x80 : 0;
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int s = 56; s >= 0; s -= 8)
      out.push_back(static_cast<char>((n >> s) & 0xFF));
  }
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) out.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(masked ? static_cast<char>(payload[i] ^ key[i & 3])
                         : payload[i]);
  }
  return out;
}

struct Parsed {
  std::vector<ClientFrameParser::Output> events;
  size_t consumed = 0;
};

// Feeds `bytes` in chunks of `chunk`, keeping unconsumed tails like the
// connection does.
Parsed Feed(ClientFrameParser& parser, const std::string& bytes, size_t chunk) {
  Parsed result;
  std::string buffer;
  size_t offset = 0;
  while (offset < bytes.size()) {
    buffer.append(bytes.substr(offset, chunk));
    offset += chunk;
    size_t pos = 0;
    while (pos < buffer.size()) {
      ClientFrameParser::Output out;
      size_t used =
          parser.Parse(reinterpret_cast<const uint8_t*>(buffer.data()) + pos,
                       buffer.size() - pos, &out);
      pos += used;
      result.consumed += used;
      if (out.event != ClientFrameParser::Event::kNone) {
        result.events.push_back(out);
        if (out.event == ClientFrameParser::Event::kError) return result;
      } else if (used == 0) {
        break;
      }
    }
    buffer.erase(0, pos);
  }
  return result;
}

TEST(ClientFrameParserTest, SmallTextIsIgnored) {
  ClientFrameParser p(4096);
  auto r = Feed(p, ClientFrame(0x81, "hello"), 1000);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.consumed, ClientFrame(0x81, "hello").size());
}

TEST(ClientFrameParserTest, PingSurfacesUnmaskedPayload) {
  for (size_t chunk : {1u, 2u, 3u, 7u, 100u}) {
    ClientFrameParser p(4096);
    auto r = Feed(p, ClientFrame(0x81, "x") + ClientFrame(0x89, "abc"), chunk);
    ASSERT_EQ(r.events.size(), 1u) << chunk;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kPing);
    EXPECT_EQ(r.events[0].payload, "abc");
  }
}

TEST(ClientFrameParserTest, CloseWithCodeAndReason) {
  ClientFrameParser p(4096);
  auto r = Feed(p, ClientFrame(0x88, std::string("\x03\xe8", 2) + "bye"), 5);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kClose);
  EXPECT_EQ(r.events[0].code, 1000);
  EXPECT_EQ(r.events[0].payload, "bye");
}

TEST(ClientFrameParserTest, EmptyCloseMeansNoStatus) {
  ClientFrameParser p(4096);
  auto r = Feed(p, ClientFrame(0x88, ""), 100);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1005);
}

TEST(ClientFrameParserTest, PongIsReported) {
  ClientFrameParser p(4096);
  auto r = Feed(p, ClientFrame(0x8A, ""), 100);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kPong);
}

TEST(ClientFrameParserTest, OversizedMessageIsRefusedBeforeItsPayload) {
  ClientFrameParser p(100);
  auto r = Feed(p, ClientFrame(0x81, std::string(101, 'a')), 1000);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kError);
  EXPECT_EQ(r.events[0].code, 1009);
}

TEST(ClientFrameParserTest, FragmentsCountTowardsTheLimit) {
  ClientFrameParser p(100);
  auto r = Feed(p,
                ClientFrame(0x01, std::string(60, 'a')) +
                    ClientFrame(0x80, std::string(60, 'b')),
                1000);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1009);
}

TEST(ClientFrameParserTest, FragmentsWithinTheLimitPass) {
  ClientFrameParser p(100);
  auto r =
      Feed(p,
           ClientFrame(0x01, std::string(40, 'a')) + ClientFrame(0x89, "p") +
               ClientFrame(0x80, std::string(40, 'b')) +
               ClientFrame(0x81, std::string(90, 'c')),
           3);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kPing);
}

TEST(ClientFrameParserTest, LargeLengthsParse) {
  ClientFrameParser p(1 << 20);
  auto r = Feed(
      p, ClientFrame(0x82, std::string(70000, 'z')) + ClientFrame(0x89, "q"),
      4096);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].payload, "q");
}

TEST(ClientFrameParserTest, ProtocolErrors) {
  struct Case {
    std::string bytes;
    const char* name;
  } cases[] = {
      {ClientFrame(0x81, "a", /*masked=*/false), "unmasked"},
      {ClientFrame(0xC1, "a"), "rsv1"},
      {ClientFrame(0x83, "a"), "reserved data opcode"},
      {ClientFrame(0x8B, "a"), "reserved control opcode"},
      {ClientFrame(0x09, "a"), "fragmented ping"},
      {ClientFrame(0x89, std::string(126, 'a')), "long ping"},
      {ClientFrame(0x80, "a"), "continuation first"},
      {ClientFrame(0x01, "a") + ClientFrame(0x81, "b"),
       "text inside fragments"},
      {ClientFrame(0x88, "\x03"), "one-byte close"},
  };
  for (const auto& c : cases) {
    ClientFrameParser p(4096);
    auto r = Feed(p, c.bytes, 1000);
    ASSERT_EQ(r.events.size(), 1u) << c.name;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kError) << c.name;
    EXPECT_EQ(r.events[0].code, 1002) << c.name;
  }
}

}  // namespace
}  // namespace herald::push
