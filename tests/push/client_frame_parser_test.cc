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

// A masked client frame header announcing a 64-bit payload length, with
// no payload after it.
std::string Header64(uint8_t first_byte, uint64_t len) {
  std::string out;
  out.push_back(static_cast<char>(first_byte));
  out.push_back(static_cast<char>(0x80 | 127));
  for (int s = 56; s >= 0; s -= 8)
    out.push_back(static_cast<char>((len >> s) & 0xFF));
  out.append("\x12\x34\x56\x78", 4);
  return out;
}

// A client close frame with `code` and `reason`.
std::string CloseFrame(uint16_t code, const std::string& reason = "") {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  return ClientFrame(0x88, payload + reason);
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

TEST(ClientFrameParserTest, LengthWithTheTopBitSetIsAProtocolError) {
  // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0,
  // whatever the message limit.
  for (uint64_t len : {uint64_t{1} << 63, ~uint64_t{0}}) {
    ClientFrameParser p(SIZE_MAX);
    auto r = Feed(p, Header64(0x82, len) + ClientFrame(0x89, "p"), 1000);
    ASSERT_EQ(r.events.size(), 1u) << len;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kError) << len;
    EXPECT_EQ(r.events[0].code, 1002) << len;
    EXPECT_STREQ(r.events[0].error, "invalid payload length");
    EXPECT_EQ(r.consumed, 0u);
  }
}

TEST(ClientFrameParserTest, ContinuationNearTwoToThe64DoesNotWrapTheCount) {
  // 60 bytes, then a continuation announcing 2^64 - 60: the sum wraps to 0
  // in 64 bits, which must not pass as an empty message.
  for (size_t chunk : {1u, 5u, 1000u}) {
    ClientFrameParser p(100);
    auto r =
        Feed(p,
             ClientFrame(0x01, std::string(60, 'a')) +
                 Header64(0x80, ~uint64_t{0} - 59) + ClientFrame(0x89, "p"),
             chunk);
    ASSERT_EQ(r.events.size(), 1u) << chunk;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kError) << chunk;
    EXPECT_EQ(r.events[0].code, 1002) << chunk;
  }
}

TEST(ClientFrameParserTest, HugeContinuationIsTooBig) {
  // The largest legal length after a fragment: over the limit, not wrapped.
  ClientFrameParser p(100);
  auto r = Feed(p,
                ClientFrame(0x01, std::string(60, 'a')) +
                    Header64(0x80, (uint64_t{1} << 63) - 1),
                1000);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1009);
  EXPECT_STREQ(r.events[0].error, "message too big");
}

TEST(ClientFrameParserTest, MessageExactlyAtTheLimitAcrossFragments) {
  ClientFrameParser p(100);
  auto ok =
      Feed(p,
           ClientFrame(0x01, std::string(60, 'a')) +
               ClientFrame(0x80, std::string(40, 'b')) + ClientFrame(0x89, "p"),
           7);
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].event, ClientFrameParser::Event::kPing);
  ClientFrameParser q(100);
  auto over = Feed(q,
                   ClientFrame(0x01, std::string(60, 'a')) +
                       ClientFrame(0x80, std::string(41, 'b')),
                   7);
  ASSERT_EQ(over.events.size(), 1u);
  EXPECT_EQ(over.events[0].code, 1009);
}

TEST(ClientFrameParserTest, CloseCodesAPeerMaySendAreReported) {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                        1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    ClientFrameParser p(4096);
    auto r = Feed(p, CloseFrame(code, "ok"), 3);
    ASSERT_EQ(r.events.size(), 1u) << code;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kClose) << code;
    EXPECT_EQ(r.events[0].code, code);
    EXPECT_EQ(r.events[0].payload, "ok");
  }
}

TEST(ClientFrameParserTest, ReservedOrUnassignedCloseCodesAreProtocolErrors) {
  // RFC 6455 §7.4.1: 1004-1006 and 1015 never go on the wire; below 1000,
  // 1016-2999 and 5000 and above are not codes a peer may send.
  for (uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000,
                        2999, 5000, 65535}) {
    ClientFrameParser p(4096);
    auto r = Feed(p, CloseFrame(code), 100);
    ASSERT_EQ(r.events.size(), 1u) << code;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kError) << code;
    EXPECT_EQ(r.events[0].code, 1002) << code;
    EXPECT_STREQ(r.events[0].error, "invalid close code");
  }
}

TEST(ClientFrameParserTest, CloseReasonMustBeUtf8) {
  const std::string good[] = {"",
                              "bye",
                              "\xc3\xa9t\xc3\xa9",
                              "\xe2\x82\xac",
                              "\xf0\x9f\x98\x80",
                              "\xf4\x8f\xbf\xbf"};
  for (const std::string& reason : good) {
    ClientFrameParser p(4096);
    auto r = Feed(p, CloseFrame(1000, reason), 100);
    ASSERT_EQ(r.events.size(), 1u) << reason;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kClose) << reason;
    EXPECT_EQ(r.events[0].payload, reason);
  }
  const std::string bad[] = {"\xff",
                             "\x80",
                             "\xc3",              // truncated
                             "\xc0\xaf",          // overlong '/'
                             "\xe0\x80\xaf",      // overlong
                             "\xed\xa0\x80",      // surrogate U+D800
                             "\xf4\x90\x80\x80",  // above U+10FFFF
                             "\xf5\x80\x80\x80",
                             "ok\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"};
  for (const std::string& reason : bad) {
    ClientFrameParser p(4096);
    auto r = Feed(p, CloseFrame(1000, reason), 100);
    ASSERT_EQ(r.events.size(), 1u) << reason;
    EXPECT_EQ(r.events[0].event, ClientFrameParser::Event::kError) << reason;
    EXPECT_EQ(r.events[0].code, 1007) << reason;
    EXPECT_STREQ(r.events[0].error, "close reason not UTF-8");
  }
}

}  // namespace
}  // namespace herald::push
