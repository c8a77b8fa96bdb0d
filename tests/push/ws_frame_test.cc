#include "push/ws_frame.h"

#include <string>

#include "gtest/gtest.h"

namespace herald::push {
namespace {

TEST(WsFrameTest, SmallTextFrame) {
  Frame f = MakeTextFrame("hi");
  EXPECT_EQ(*f, std::string("\x81\x02hi", 4));
}

TEST(WsFrameTest, MediumTextFrameUses16BitLength) {
  const std::string payload(300, 'a');
  Frame f = MakeTextFrame(payload);
  ASSERT_EQ(f->size(), 4 + payload.size());
  EXPECT_EQ(static_cast<uint8_t>((*f)[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>((*f)[1]), 126);
  EXPECT_EQ(static_cast<uint8_t>((*f)[2]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>((*f)[3]), 0x2C);
  EXPECT_EQ(f->substr(4), payload);
}

TEST(WsFrameTest, LargeTextFrameUses64BitLength) {
  const std::string payload(70000, 'b');
  Frame f = MakeTextFrame(payload);
  ASSERT_EQ(f->size(), 10 + payload.size());
  EXPECT_EQ(static_cast<uint8_t>((*f)[1]), 127);
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i)
    len = (len << 8) | static_cast<uint8_t>((*f)[2 + i]);
  EXPECT_EQ(len, 70000u);
}

TEST(WsFrameTest, BoundaryLengths) {
  EXPECT_EQ(static_cast<uint8_t>((*MakeTextFrame(std::string(125, 'x')))[1]),
            125);
  EXPECT_EQ(static_cast<uint8_t>((*MakeTextFrame(std::string(126, 'x')))[1]),
            126);
  EXPECT_EQ(static_cast<uint8_t>((*MakeTextFrame(std::string(65535, 'x')))[1]),
            126);
  EXPECT_EQ(static_cast<uint8_t>((*MakeTextFrame(std::string(65536, 'x')))[1]),
            127);
}

TEST(WsFrameTest, CloseFrameCarriesCodeAndReason) {
  Frame f = MakeCloseFrame(4001, "unknown or expired token");
  EXPECT_EQ(*f,
            std::string("\x88\x1a\x0f\xa1", 4) + "unknown or expired token");
}

TEST(WsFrameTest, CloseReasonIsCutToFitAControlFrame) {
  Frame f = MakeCloseFrame(1000, std::string(200, 'r'));
  EXPECT_EQ(static_cast<uint8_t>((*f)[1]), 125);
  EXPECT_EQ(f->size(), 127u);
}

TEST(WsFrameTest, PingIsEmptyAndShared) {
  EXPECT_EQ(*PingFrame(), std::string("\x89\x00", 2));
  EXPECT_EQ(PingFrame().get(), PingFrame().get());
}

TEST(WsFrameTest, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(WebSocketAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
}  // namespace herald::push
