#include "service/redis/redis_url.h"

#include <optional>
#include <string_view>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace herald::service::redis {
namespace {

constexpr absl::string_view kRedisScheme = "redis://";
constexpr absl::string_view kUnixScheme = "unix://";

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--redis: ", why));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes %XX escapes; nullopt on a malformed one.
std::optional<std::string> PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

absl::StatusOr<int> ParseDb(absl::string_view text) {
  int db = 0;
  if (text.empty() || !absl::c_all_of(text, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &db) || db < 0) {
    return Invalid(
        absl::StrCat("database must be a number >= 0, got '", text, "'"));
  }
  return db;
}

// "[USER]:PASSWORD" before '@'.
absl::Status ParseUserInfo(absl::string_view info, RedisUrl& url) {
  size_t colon = info.find(':');
  if (colon == absl::string_view::npos) {
    return Invalid(
        "the part before '@' must be [USER]:PASSWORD (a ':' is missing)");
  }
  std::optional<std::string> user = PercentDecode(info.substr(0, colon));
  std::optional<std::string> password = PercentDecode(info.substr(colon + 1));
  if (!user || !password) {
    return Invalid("malformed percent-escape in the user or password");
  }
  if (password->empty()) return Invalid("empty password after ':'");
  url.user = *std::move(user);
  url.password = *std::move(password);
  return absl::OkStatus();
}

// Splits "USERINFO@REST" (the last '@' before `limit`).
absl::Status TakeUserInfo(absl::string_view& rest, size_t limit,
                          RedisUrl& url) {
  size_t at = rest.substr(0, limit).rfind('@');
  if (at == absl::string_view::npos) return absl::OkStatus();
  absl::Status status = ParseUserInfo(rest.substr(0, at), url);
  rest.remove_prefix(at + 1);
  return status;
}

absl::StatusOr<RedisUrl> ParseUnix(absl::string_view rest) {
  RedisUrl url;
  url.port = 0;
  size_t path_start = rest.find('/');
  if (path_start == absl::string_view::npos) {
    return Invalid("unix:// needs an absolute socket path (unix:///PATH)");
  }
  if (absl::Status s = TakeUserInfo(rest, path_start, url); !s.ok()) return s;
  if (rest.empty() || rest[0] != '/') {
    return Invalid("unix:// needs an absolute socket path (unix:///PATH)");
  }
  size_t query = rest.find('?');
  url.socket_path = std::string(rest.substr(0, query));
  if (url.socket_path.size() < 2) return Invalid("empty socket path");
  if (query != absl::string_view::npos) {
    absl::string_view q = rest.substr(query + 1);
    if (!absl::StartsWith(q, "db=")) {
      return Invalid(
          absl::StrCat("unknown query '", q, "' (only ?db=N is understood)"));
    }
    absl::StatusOr<int> db = ParseDb(q.substr(3));
    if (!db.ok()) return db.status();
    url.db = *db;
  }
  return url;
}

absl::Status ParsePort(absl::string_view text, RedisUrl& url) {
  int port = 0;
  if (text.empty() || !absl::c_all_of(text, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return Invalid(absl::StrCat("port must be 1..65535, got '", text, "'"));
  }
  url.port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

// HOST[:PORT] or [IPV6][:PORT].
absl::Status ParseHostPort(absl::string_view text, RedisUrl& url) {
  absl::string_view port;
  bool has_port = false;
  if (absl::StartsWith(text, "[")) {
    size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return Invalid("unterminated '[' in the IPv6 host");
    }
    url.host = std::string(text.substr(1, close - 1));
    absl::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return Invalid(
            absl::StrCat("unexpected '", after, "' after the IPv6 host"));
      }
      port = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = text.find(':');
    url.host = std::string(text.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (url.host.empty()) return Invalid("missing host (redis://HOST:PORT)");
  if (has_port) return ParsePort(port, url);
  return absl::OkStatus();
}

absl::StatusOr<RedisUrl> ParseTcp(absl::string_view rest) {
  RedisUrl url;
  if (rest.find_first_of("?#") != absl::string_view::npos) {
    return Invalid("query strings are not understood in redis:// URLs");
  }
  size_t slash = rest.find('/');
  if (absl::Status s = TakeUserInfo(rest, slash, url); !s.ok()) return s;
  slash = rest.find('/');
  if (absl::Status s = ParseHostPort(rest.substr(0, slash), url); !s.ok()) {
    return s;
  }
  if (slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      absl::StatusOr<int> parsed = ParseDb(db);
      if (!parsed.ok()) return parsed.status();
      url.db = *parsed;
    }
  }
  return url;
}

}  // namespace

absl::StatusOr<RedisUrl> RedisUrl::Parse(std::string_view std_text) {
  absl::string_view text(std_text.data(), std_text.size());
  if (text.empty()) return Invalid("empty URL");
  if (absl::StartsWith(text, kRedisScheme)) {
    return ParseTcp(text.substr(kRedisScheme.size()));
  }
  if (absl::StartsWith(text, kUnixScheme)) {
    return ParseUnix(text.substr(kUnixScheme.size()));
  }
  if (absl::StartsWith(text, "rediss://")) {
    return Invalid("rediss:// (TLS) is not supported; use redis:// or unix://");
  }
  return Invalid(
      "expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or "
      "unix:///PATH[?db=N]");
}

std::string RedisUrl::Endpoint() const {
  if (!socket_path.empty()) return socket_path;
  if (host.find(':') != std::string::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace herald::service::redis
