#include "push/log.h"

#include <string>
#include <vector>

#include "boost/asio/ip/tcp.hpp"
#include "gtest/gtest.h"
#include "push/connection_log.h"
#include "push/log_rate_limiter.h"

namespace herald {
namespace {

// 2026-12-01T23:40:00.123456Z
const timespec kTs{1796168400, 123456789};

std::string Text(std::string_view event, LogFields fields,
                 LogLevel level = LogLevel::kInfo) {
  return FormatLogRecord(
      LogFormat::kText, kTs, level, event,
      std::span<const LogField>(fields.begin(), fields.size()));
}

std::string Json(std::string_view event, LogFields fields,
                 LogLevel level = LogLevel::kInfo) {
  return FormatLogRecord(
      LogFormat::kJson, kTs, level, event,
      std::span<const LogField>(fields.begin(), fields.size()));
}

TEST(LogFormatTest, TextRecord) {
  EXPECT_EQ(Text("refused", {{"peer", "1.2.3.4:5678"},
                             {"code", 4001},
                             {"reason", "unknown or expired token"}}),
            "2026-12-01T23:40:00.123456Z info  refused peer=1.2.3.4:5678 "
            "code=4001 reason=\"unknown or expired token\"\n");
}

TEST(LogFormatTest, TextLevelsAreFiveColumns) {
  EXPECT_EQ(Text("e", {}, LogLevel::kDebug),
            "2026-12-01T23:40:00.123456Z debug e\n");
  EXPECT_EQ(Text("e", {}, LogLevel::kWarning),
            "2026-12-01T23:40:00.123456Z warn  e\n");
  EXPECT_EQ(Text("e", {}, LogLevel::kError),
            "2026-12-01T23:40:00.123456Z error e\n");
}

TEST(LogFormatTest, TextTypes) {
  EXPECT_EQ(Text("e", {{"neg", -5},
                       {"big", uint64_t{18446744073709551615u}},
                       {"yes", true},
                       {"half", 0.5},
                       {"empty", ""}}),
            "2026-12-01T23:40:00.123456Z info  e neg=-5 "
            "big=18446744073709551615 yes=true half=0.5 empty=\"\"\n");
}

TEST(LogFormatTest, TextQuotesAndEscapesHostileBytes) {
  // A newline and a forged record, quotes, '=', a backslash, a control
  // byte, invalid UTF-8, valid UTF-8, a C1 control and a bidi override.
  const std::string hostile =
      "a\n2026-12-01T00:00:00.000000Z info  forged x=1\r\"q\" k=v \\ \x01"
      "\xff\xc3\xa9\xc2\x85\xe2\x80\xae";
  const std::string line = Text("e", {{"v", hostile}});
  EXPECT_EQ(line,
            "2026-12-01T23:40:00.123456Z info  e v=\"a\\n2026-12-01T00:00:00."
            "000000Z info  forged x=1\\r\\\"q\\\" k=v \\\\ \\u0001\\xff"
            "\xc3\xa9\\u0085\\u202e\"\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogFormatTest, TextBareOnlyForPlainAscii) {
  EXPECT_EQ(Text("e", {{"a", "x=y"}, {"b", "caf\xc3\xa9"}, {"c", "ok-1.2"}}),
            "2026-12-01T23:40:00.123456Z info  e a=\"x=y\" b=\"caf\xc3\xa9\" "
            "c=ok-1.2\n");
}

TEST(LogFormatTest, KeysAndEventsAreSanitized) {
  EXPECT_EQ(Text("bad event\n", {{"k y=\"", 1}}),
            "2026-12-01T23:40:00.123456Z info  bad_event_ k_y__=1\n");
  EXPECT_EQ(Json("", {{"\"", 1}}),
            "{\"ts\":\"2026-12-01T23:40:00.123456Z\",\"level\":\"info\","
            "\"event\":\"_\",\"_\":1}\n");
}

TEST(LogFormatTest, JsonRecord) {
  EXPECT_EQ(Json("refused",
                 {{"peer", "1.2.3.4:5678"},
                  {"code", 4001},
                  {"ok", false},
                  {"uptime_s", 1.25}},
                 LogLevel::kWarning),
            "{\"ts\":\"2026-12-01T23:40:00.123456Z\",\"level\":\"warning\","
            "\"event\":\"refused\",\"peer\":\"1.2.3.4:5678\",\"code\":4001,"
            "\"ok\":false,\"uptime_s\":1.25}\n");
}

TEST(LogFormatTest, JsonEscapesAndReplacesInvalidUtf8) {
  const std::string hostile =
      "\"}\n{\"level\":\"error\"\\\t\x1f\x7f\xc0\xaf\xed\xa0\x80\xc3\xa9"
      "\xe2\x80\xa8\xf0\x9f\x98\x80\xf4\x90\x80\x80\xe2\x82";
  EXPECT_EQ(Json("e", {{"v", hostile}}),
            "{\"ts\":\"2026-12-01T23:40:00.123456Z\",\"level\":\"info\","
            "\"event\":\"e\",\"v\":\"\\\"}\\n{\\\"level\\\":\\\"error\\\"\\\\"
            "\\t\\u001f\\u007f\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\xc3\xa9"
            "\\u2028\xf0\x9f\x98\x80\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
            "\\ufffd\"}\n");
}

TEST(LogFormatTest, JsonNonFiniteIsNull) {
  EXPECT_EQ(Json("e", {{"x", 1.0 / 0.0}}),
            "{\"ts\":\"2026-12-01T23:40:00.123456Z\",\"level\":\"info\","
            "\"event\":\"e\",\"x\":null}\n");
}

TEST(LogFormatTest, LongValuesAreCut) {
  const std::string big(5000, 'a');
  const std::string line = Json("e", {{"v", big}});
  EXPECT_NE(line.find(std::string(1024, 'a') + "...[truncated]\"}"),
            std::string::npos);
  EXPECT_EQ(line.find(std::string(1025, 'a')), std::string::npos);
  EXPECT_LT(line.size(), 1200u);
}

TEST(LogFormatTest, EveryByteStaysOnOneLine) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (LogFormat f : {LogFormat::kText, LogFormat::kJson}) {
    LogField field("v", all);
    const std::string line =
        FormatLogRecord(f, kTs, LogLevel::kInfo, "e", {&field, 1});
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u >= 0x20 || c == '\n') << int(u);
    }
  }
}

TEST(LogTest, TokenHashIsSha256Prefix) {
  // sha256("abc") = ba7816bf8f01cfea414140de5dae2223...
  EXPECT_EQ(TokenHash("abc"), "ba7816bf8f01");
  EXPECT_EQ(TokenHash(""), "e3b0c44298fc");
}

TEST(LogTest, ParseLevelsAndFormats) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("warn", &level));
  EXPECT_FALSE(ParseLogLevel("INFO", &level));
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml", &format));
}

TEST(LogTest, LevelThreshold) {
  const LogLevel saved = GetLogLevel();
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogVerbose(true);
  EXPECT_TRUE(LogVerbose());
  EXPECT_TRUE(LogEnabled(LogLevel::kDebug));
  SetLogVerbose(false);
  EXPECT_FALSE(LogVerbose());
  SetLogLevel(saved);
}

TEST(LogTest, PeerString) {
  using boost::asio::ip::make_address;
  using boost::asio::ip::tcp;
  EXPECT_EQ(push::PeerString(tcp::endpoint(make_address("1.2.3.4"), 5678)),
            "1.2.3.4:5678");
  EXPECT_EQ(
      push::PeerString(tcp::endpoint(make_address("::ffff:10.0.0.1"), 80)),
      "10.0.0.1:80");
  EXPECT_EQ(push::PeerString(tcp::endpoint(make_address("::1"), 443)),
            "[::1]:443");
  EXPECT_EQ(push::PeerString(tcp::endpoint()), "");
}

TEST(LogRateLimiterTest, AllowsPerSecondPerKind) {
  LogRateLimiter limiter;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Allow(LogKind::kRefused, 100, 3));
  }
  EXPECT_FALSE(limiter.Allow(LogKind::kRefused, 100, 3));
  EXPECT_FALSE(limiter.Allow(LogKind::kRefused, 100, 3));
  // Another kind has its own budget.
  EXPECT_TRUE(limiter.Allow(LogKind::kPingTimeout, 100, 3));
  EXPECT_TRUE(limiter.pending());
  // Not reported within the second of the first suppression.
  EXPECT_TRUE(limiter.TakeSuppressed(100).empty());
  // A new second: a new budget.
  EXPECT_TRUE(limiter.Allow(LogKind::kRefused, 101, 3));
  EXPECT_TRUE(limiter.Allow(LogKind::kSlowConsumer, 101, 0));
  const auto s = limiter.TakeSuppressed(101);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].kind, LogKind::kRefused);
  EXPECT_EQ(s[0].count, 2u);
  EXPECT_FALSE(limiter.pending());
  EXPECT_TRUE(limiter.TakeSuppressed(105).empty());  // nothing new
}

TEST(LogRateLimiterTest, ReportsAtMostOncePerSecond) {
  LogRateLimiter limiter;
  uint64_t suppressed = 0, reported = 0;
  int reports = 0;
  for (int64_t second = 10; second < 15; ++second) {
    for (int i = 0; i < 1000; ++i) {
      if (limiter.pending()) {
        const auto s = limiter.TakeSuppressed(second);
        reports += !s.empty();
        for (const auto& r : s) reported += r.count;
      }
      if (!limiter.Allow(LogKind::kSlowConsumer, second, 10)) ++suppressed;
    }
  }
  for (const auto& r : limiter.TakeSuppressed(15)) reported += r.count;
  EXPECT_EQ(suppressed, 5u * 990u);
  EXPECT_EQ(reported, suppressed);  // every drop is counted exactly once
  EXPECT_EQ(reports, 4);            // seconds 11..14 report the one before
}

TEST(LogRateLimiterTest, ZeroMeansNoLimit) {
  LogRateLimiter limiter;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(limiter.Allow(LogKind::kRefused, 1, 0));
  }
  EXPECT_FALSE(limiter.pending());
}

}  // namespace
}  // namespace herald
