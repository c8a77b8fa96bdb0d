#include "push/http_upgrade.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace herald::push {
namespace {

using Kind = HttpUpgrade::Outcome::Kind;

constexpr char kRfcKey[] = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3
constexpr char kRfc101[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

std::string Request(const std::string& target = "/?token=t",
                    const std::string& key = kRfcKey,
                    const std::vector<std::string>& extra = {}) {
  std::string r = "GET " + target +
                  " HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  if (!key.empty()) r += "Sec-WebSocket-Key: " + key + "\r\n";
  for (const std::string& line : extra) r += line + "\r\n";
  return r + "\r\n";
}

std::string StatusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

struct Fed {
  Kind kind = Kind::kNeedMore;
  std::string response;
  HttpUpgrade::Target target;
  std::string leftover;
};

// Feeds `bytes` to a fresh HttpUpgrade in pieces of `chunk` bytes.
Fed FeedAll(const std::string& bytes, size_t chunk = 1 << 20,
            const PushOptions& options = {}, bool voice = false) {
  HttpUpgrade upgrade(options, voice);
  Fed fed;
  for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
    auto out = upgrade.Feed(std::string_view(bytes).substr(pos, chunk));
    if (out.kind == Kind::kNeedMore) continue;
    fed.kind = out.kind;
    fed.response = out.response;
    fed.target = out.target;
    fed.leftover = std::string(out.leftover);
    break;
  }
  return fed;
}

TEST(HttpUpgradeTest, UpgradesInAnyPieces) {
  const std::string request = Request("/chat?token=abc%20d&x=1");
  for (size_t chunk : {1u, 2u, 7u, 64u, 1000u}) {
    Fed fed = FeedAll(request + "\x81\x80", chunk);
    ASSERT_EQ(fed.kind, Kind::kUpgrade) << chunk;
    EXPECT_EQ(fed.response, kRfc101);
    EXPECT_EQ(fed.target.refusal_code, 0);
    EXPECT_EQ(fed.target.token, "abc d");
    // In small pieces the parser stops at the blank line; bytes after it
    // are whatever arrived in the same piece.
    if (chunk >= request.size() + 2) EXPECT_EQ(fed.leftover, "\x81\x80");
  }
}

TEST(HttpUpgradeTest, IncompleteRequestNeedsMore) {
  const std::string request = Request();
  EXPECT_EQ(FeedAll(request.substr(0, request.size() - 1)).kind,
            Kind::kNeedMore);
}

TEST(HttpUpgradeTest, HeaderLimitIsExact) {
  PushOptions options;
  options.max_request_header_bytes = 300;
  std::string request = Request("/?token=t", kRfcKey, {"X-Pad: "});
  const std::string pad(300 - request.size(), 'a');
  request.insert(request.size() - 4, pad);
  ASSERT_EQ(request.size(), 300u);
  for (size_t chunk : {1u, 256u, 1000u}) {
    EXPECT_EQ(FeedAll(request, chunk, options).kind, Kind::kUpgrade) << chunk;
    std::string longer = request;
    longer.insert(longer.size() - 4, "a");
    Fed fed = FeedAll(longer, chunk, options);
    ASSERT_EQ(fed.kind, Kind::kReject) << chunk;
    EXPECT_EQ(fed.response,
              "HTTP/1.1 431 Request Header Fields Too Large\r\n"
              "Content-Type: text/plain\r\nConnection: close\r\n"
              "Content-Length: 33\r\n\r\nherald: request header too large\n");
  }
  // An endless header line is refused once past the limit.
  Fed endless = FeedAll("GET /?token=" + std::string(5000, 'a'), 256, options);
  ASSERT_EQ(endless.kind, Kind::kReject);
  EXPECT_EQ(StatusLine(endless.response),
            "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST(HttpUpgradeTest, GarbageIs400) {
  Fed fed = FeedAll(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9) +
                    "\r\n\r\n");
  ASSERT_EQ(fed.kind, Kind::kReject);
  EXPECT_EQ(fed.response,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\nContent-Length: 31\r\n\r\n"
            "herald: malformed HTTP request\n");
}

TEST(HttpUpgradeTest, NotAWebSocketUpgradeIs426) {
  Fed plain = FeedAll("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(plain.kind, Kind::kReject);
  EXPECT_EQ(StatusLine(plain.response), "HTTP/1.1 426 Upgrade Required");
  EXPECT_NE(plain.response.find("\r\nUpgrade: websocket\r\n"),
            std::string::npos);
  std::string v8 = Request();
  v8.replace(v8.find("Version: 13"), 11, "Version: 8");
  Fed old = FeedAll(v8);
  ASSERT_EQ(old.kind, Kind::kReject);
  EXPECT_EQ(StatusLine(old.response), "HTTP/1.1 426 Upgrade Required");
}

TEST(HttpUpgradeTest, KeyMustBeBase64OfSixteenBytes) {
  Fed missing = FeedAll(Request("/?token=t", ""));
  ASSERT_EQ(missing.kind, Kind::kReject);
  EXPECT_EQ(StatusLine(missing.response), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(missing.response.find("\r\n\r\nherald: missing Sec-WebSocket-Key"),
            std::string::npos);
  for (const char* key : {
           "dGhlIHNhbXBsZSBub25jZQ",     // no padding
           "dGhlIHNhbXBsZSBub25jZQ=",    // short padding
           "dGhlIHNhbXBsZSBub25jZQ===",  // 25 characters
           "dGhlIHNhbXBsZSBub25jZ===",   // 15 bytes
           "dGhlIHNhbXBsZSBub25jZQ0=",   // 17 bytes
           "dGhlIHNhbXBsZSBub25jZQ0h",   // 18 bytes
           "dGhlIHNhbXBsZSBub25j*Q==",   // not base64
           "dGhlIHNhbXBsZSBub25j-Q==",   // base64url
           "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
           "x",
       }) {
    EXPECT_FALSE(HttpUpgrade::IsValidKey(key)) << key;
    Fed fed = FeedAll(Request("/?token=t", key));
    ASSERT_EQ(fed.kind, Kind::kReject) << key;
    EXPECT_EQ(fed.response,
              "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
              "Connection: close\r\nContent-Length: 36\r\n\r\n"
              "herald: malformed Sec-WebSocket-Key\n")
        << key;
  }
  for (const char* key :
       {kRfcKey, "AAAAAAAAAAAAAAAAAAAAAA==", "/+/+/+/+/+/+/+/+/+/+/w==",
        "zzzzzzzzzzzzzzzzzzzzzz=="}) {
    EXPECT_TRUE(HttpUpgrade::IsValidKey(key)) << key;
    EXPECT_EQ(FeedAll(Request("/?token=t", key)).kind, Kind::kUpgrade) << key;
  }
}

TEST(HttpUpgradeTest, OriginAllowList) {
  PushOptions any;
  EXPECT_EQ(
      FeedAll(Request("/?token=t", kRfcKey, {"Origin: https://x.y"}), 64, any)
          .kind,
      Kind::kUpgrade);
  PushOptions listed;
  listed.allowed_origins = {"https://a.example", "http://b.example:8080"};
  for (const char* origin :
       {"https://a.example", "HTTPS://A.EXAMPLE", "http://b.example:8080"}) {
    EXPECT_EQ(FeedAll(Request("/?token=t", kRfcKey,
                              {std::string("Origin: ") + origin}),
                      64, listed)
                  .kind,
              Kind::kUpgrade)
        << origin;
  }
  EXPECT_EQ(FeedAll(Request(), 64, listed).kind, Kind::kUpgrade);
  const std::vector<std::vector<std::string>> refused = {
      {"Origin: https://c.example"},
      {"Origin: http://a.example"},
      {"Origin: https://a.example:443"},
      {"Origin: https://a.example/"},
      {"Origin: null"},
      {"Origin: "},
      {"Origin: https://a.example", "Origin: https://c.example"},
  };
  for (const auto& headers : refused) {
    Fed fed = FeedAll(Request("/?token=t", kRfcKey, headers), 64, listed);
    ASSERT_EQ(fed.kind, Kind::kReject) << headers.back();
    EXPECT_EQ(fed.response,
              "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
              "Connection: close\r\nContent-Length: 27\r\n\r\n"
              "herald: origin not allowed\n")
        << headers.back();
  }
}

TEST(HttpUpgradeTest, TargetParsing) {
  struct Case {
    const char* target;
    bool voice;
    uint16_t code;
    std::string reason_or_token;
    int64_t channel;
  } cases[] = {
      {"/?token=a&token=b", false, 0, "a", 0},
      {"/x/y?channel=3&token=%41%2b", false, 0, "A+", 0},
      {"/?token=t&channel=7&channel=8", true, 0, "t", 7},
      {"/?token=t&channel=9223372036854775807", true, 0, "t",
       9223372036854775807},
      {"/", false, 4000, "missing token", 0},
      {"/?token=", false, 4000, "missing token", 0},
      {"/?tokens=t", false, 4000, "missing token", 0},
      {"/?token=t", true, 4000, "missing channel", 0},
      {"/?token=t&channel=", true, 4000, "missing channel", 0},
      {"/?token=t&channel=0", true, 4000, "malformed channel", 0},
      {"/?token=t&channel=-1", true, 4000, "malformed channel", 0},
      {"/?token=t&channel=+1", true, 4000, "malformed channel", 0},
      {"/?token=t&channel=9223372036854775808", true, 4000, "malformed channel",
       0},
      {"/?token=t&channel=1x", true, 4000, "malformed channel", 0},
      {"http://h/?token=t", false, 4000, "bad request target", 0},
      {"/?token=%zz", false, 4000, "bad request target", 0},
  };
  for (const Case& c : cases) {
    HttpUpgrade::Target t = HttpUpgrade::ParseTarget(c.target, c.voice);
    EXPECT_EQ(t.refusal_code, c.code) << c.target;
    if (c.code == 0) {
      EXPECT_EQ(t.token, c.reason_or_token) << c.target;
      EXPECT_EQ(t.channel_id, c.channel) << c.target;
    } else {
      EXPECT_EQ(t.refusal_reason, c.reason_or_token) << c.target;
    }
  }
}

TEST(HttpUpgradeTest, VoiceRequestCarriesItsChannel) {
  Fed fed = FeedAll(Request("/?token=t&channel=42"), 5, {}, /*voice=*/true);
  ASSERT_EQ(fed.kind, Kind::kUpgrade);
  EXPECT_EQ(fed.target.channel_id, 42);
  EXPECT_EQ(fed.response, kRfc101);
}

}  // namespace
}  // namespace herald::push
