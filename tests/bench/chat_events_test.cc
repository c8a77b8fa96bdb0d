#include "bench/loadgen/chat_events.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "bench/loadgen/chat_event.h"
#include "bench/loadgen/chat_text.h"
#include "push/utf8.h"
#include "service/translator.h"
#include "service/validator.h"

namespace herald::bench {
namespace {

using Kind = ChatEvent::Kind;

std::vector<int64_t> Activity() {
  // Server 1 is ten times as busy as each of servers 2..11.
  std::vector<int64_t> a(12, 10);
  a[0] = 0;
  a[1] = 100;
  return a;
}

TEST(ChatEventsTest, MixFollowsTheShares) {
  ChatEvents events(Activity(), 1000, 1);
  ChatEvent e;
  std::array<int, ChatEvent::kKinds> counts{};
  constexpr int kN = 200000;
  int on_first = 0;
  for (int i = 1; i <= kN; ++i) {
    events.Next(static_cast<uint64_t>(i), &e);
    ++counts[static_cast<int>(e.kind)];
    on_first += e.server == 1;
  }
  for (int k = 0; k < ChatEvent::kKinds; ++k) {
    double share = counts[k] * 1000.0 / kN;
    EXPECT_NEAR(share, ChatEvents::kMix[k], 0.1 * ChatEvents::kMix[k] + 2)
        << ChatEvent::Name(static_cast<Kind>(k));
  }
  EXPECT_NEAR(on_first * 1.0 / kN, 0.5, 0.01);  // 100 of 200
}

TEST(ChatEventsTest, EveryJoinIsFollowedByItsLeave) {
  ChatEvents events(Activity(), 1000, 3);
  ChatEvent e;
  ChatEvent prev;
  for (int i = 1; i <= 20000; ++i) {
    events.Next(static_cast<uint64_t>(i), &e);
    if (e.kind == Kind::kUserLeft) {
      ASSERT_EQ(prev.kind, Kind::kUserJoined);
      EXPECT_EQ(prev.server, e.server);
      EXPECT_EQ(prev.Id(), e.Id());  // the same spare user
    }
    if (prev.kind == Kind::kUserJoined) {
      EXPECT_EQ(e.kind, Kind::kUserLeft);
    }
    prev = e;
  }
}

TEST(ChatEventsTest, TextsAreUtf8WithRealisticLengths) {
  SplitMix rng(7);
  std::vector<int> lengths;
  bool cyrillic = false;
  bool emoji = false;
  for (int i = 0; i < 20000; ++i) {
    int n = ChatText::DrawLength(rng);
    std::string t;
    ChatText::Append(rng, n, &t);
    ASSERT_TRUE(IsValidUtf8(t)) << t;
    ASSERT_EQ(t.find_first_of("\"\\"), std::string::npos);
    int chars = ChatText::CountChars(t);
    ASSERT_GE(chars, n);
    ASSERT_LE(chars, n + 12);
    lengths.push_back(chars);
    cyrillic |= t.find("\xD0") != std::string::npos;
    emoji |= t.find("\xF0\x9F") != std::string::npos;
  }
  std::sort(lengths.begin(), lengths.end());
  int in_range = 0;
  for (int l : lengths) in_range += l >= 10 && l <= 200;
  EXPECT_GT(in_range, 20000 * 80 / 100);
  EXPECT_LE(lengths.back(), ChatText::kMaxChars + 12);
  EXPECT_GT(lengths.back(), 1000);
  EXPECT_TRUE(cyrillic);
  EXPECT_TRUE(emoji);
}

// The HTTP peers get byte for byte what herald's translator makes of the
// proto herald gets; voice presence is what herald itself would emit.
TEST(ChatEventsTest, JsonEqualsHeraldsTranslation) {
  ChatEvents events(Activity(), 1000, 5);
  service::Validator validator;
  ChatEvent e;
  v1::PublishRequest req;
  std::string json;
  std::array<int, ChatEvent::kKinds> seen{};
  for (int i = 1; i <= 5000; ++i) {
    events.Next(static_cast<uint64_t>(i), &e);
    const int64_t ns = 1234567890123 + i;
    e.WriteJson(ns, &json);
    e.ToProto(ns, &req);
    ++seen[static_cast<int>(e.kind)];
    ASSERT_TRUE(validator.ValidatePublish(req).ok())
        << validator.ValidatePublish(req).message();
    if (e.kind == Kind::kVoiceJoined) {
      EXPECT_EQ(json,
                service::Translator::UserJoinedVc(e.Id(), e.channel, e.server));
    } else if (e.kind == Kind::kVoiceLeft) {
      EXPECT_EQ(json,
                service::Translator::UserLeftVc(e.Id(), e.channel, e.server));
    } else {
      EXPECT_EQ(json, service::Translator::ToJson(req));
    }
    uint64_t seq = 0;
    int64_t server = 0;
    int64_t stamp = 0;
    ASSERT_TRUE(
        ChatEvent::Parse(json.data(), json.size(), &seq, &server, &stamp))
        << json;
    EXPECT_EQ(seq, static_cast<uint64_t>(i)) << json;
    EXPECT_EQ(server, e.server);
    EXPECT_EQ(stamp, e.Stamped() ? ns : 0) << json;
  }
  for (int k = 0; k < ChatEvent::kKinds; ++k) EXPECT_GT(seen[k], 0) << k;
}

}  // namespace
}  // namespace herald::bench
