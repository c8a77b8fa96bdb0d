#include "push/http_upgrade.h"

#include <charconv>

#include "boost/asio/buffer.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/websocket/rfc6455.hpp"
#include "boost/url/parse.hpp"
#include "push/close_codes.h"
#include "push/ws_frame.h"

namespace herald::push {
namespace http = boost::beast::http;

namespace {

using Outcome = HttpUpgrade::Outcome;

Outcome HttpError(std::string_view status, std::string_view extra_headers,
                  std::string_view body) {
  Outcome out;
  out.kind = Outcome::Kind::kReject;
  std::string& r = out.response;
  r.append("HTTP/1.1 ").append(status).append("\r\n");
  r.append("Content-Type: text/plain\r\nConnection: close\r\n");
  r.append(extra_headers);
  r.append("Content-Length: ").append(std::to_string(body.size()));
  r.append("\r\n\r\n").append(body);
  return out;
}

Outcome HeaderTooLarge() {
  return HttpError("431 Request Header Fields Too Large", "",
                   "herald: request header too large\n");
}

// Positive decimal int64 with no sign, spaces or leading junk.
bool ParsePositiveId(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && *out > 0;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

HttpUpgrade::Target Refusal(const char* reason) {
  HttpUpgrade::Target t;
  t.refusal_code = kCloseBadRequest;
  t.refusal_reason = reason;
  return t;
}

}  // namespace

HttpUpgrade::HttpUpgrade(const PushOptions& options, bool voice)
    : options_(options), voice_(voice) {
  parser_.header_limit(static_cast<uint32_t>(options.max_request_header_bytes));
  parser_.body_limit(0);
  parser_.eager(false);
}

HttpUpgrade::Outcome HttpUpgrade::Feed(std::string_view bytes) {
  bytes_.append(bytes);
  boost::system::error_code ec;
  // The parser consumes what it has parsed (the request line, whole header
  // lines) even while asking for more: never feed those bytes twice.
  parsed_ += parser_.put(
      boost::asio::buffer(bytes_.data() + parsed_, bytes_.size() - parsed_),
      ec);
  const size_t limit = options_.max_request_header_bytes;
  if (ec == http::error::need_more) {
    if (bytes_.size() > limit) return HeaderTooLarge();
    return {};
  }
  if (ec == http::error::header_limit) return HeaderTooLarge();
  if (ec || !parser_.is_header_done()) {
    return HttpError("400 Bad Request", "", "herald: malformed HTTP request\n");
  }
  if (parsed_ > limit) return HeaderTooLarge();
  Outcome out = Decide(parser_.get(), options_, voice_);
  if (out.kind == Outcome::Kind::kUpgrade) {
    out.leftover = std::string_view(bytes_).substr(parsed_);
  }
  return out;
}

HttpUpgrade::Outcome HttpUpgrade::Decide(const Request& req,
                                         const PushOptions& options,
                                         bool voice) {
  if (!boost::beast::websocket::is_upgrade(req)) {
    return HttpError("426 Upgrade Required",
                     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
                     "herald: this port speaks WebSocket only; connect "
                     "to wss://HOST:PORT/?token=TOKEN\n");
  }
  if (req[http::field::sec_websocket_version] != "13") {
    return HttpError("426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                     "herald: only WebSocket version 13 is supported\n");
  }
  const auto key = req[http::field::sec_websocket_key];
  if (key.empty()) {
    return HttpError("400 Bad Request", "",
                     "herald: missing Sec-WebSocket-Key\n");
  }
  if (!IsValidKey(key)) {
    return HttpError("400 Bad Request", "",
                     "herald: malformed Sec-WebSocket-Key\n");
  }
  // A browser names the page that opened the socket; a listed site only
  // may. Decided before the upgrade: a cross-site refusal is policy, not
  // a protocol answer the page is owed (as Centrifugo's allowed_origins).
  if (!options.allowed_origins.empty()) {
    const auto origins = req.count(http::field::origin);
    if (origins > 1 ||
        (origins == 1 &&
         !OriginAllowed(req[http::field::origin], options.allowed_origins))) {
      return HttpError("403 Forbidden", "", "herald: origin not allowed\n");
    }
  }
  Outcome out;
  out.kind = Outcome::Kind::kUpgrade;
  out.response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out.response.append(WebSocketAcceptKey(key));
  out.response.append("\r\n\r\n");
  out.target = ParseTarget(req.target(), voice);
  return out;
}

HttpUpgrade::Target HttpUpgrade::ParseTarget(std::string_view target,
                                             bool voice) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return Refusal("bad request target");
  Target t;
  std::string channel;
  bool has_token = false;
  bool has_channel = false;
  for (const auto& param : url->params()) {
    if (!has_token && param.key == "token") {
      t.token = param.value;
      has_token = true;
    } else if (!has_channel && param.key == "channel") {
      channel = param.value;
      has_channel = true;
    }
  }
  if (t.token.empty()) return Refusal("missing token");
  if (voice) {
    if (!has_channel || channel.empty()) return Refusal("missing channel");
    if (!ParsePositiveId(channel, &t.channel_id)) {
      return Refusal("malformed channel");
    }
  }
  return t;
}

bool HttpUpgrade::IsValidKey(std::string_view key) {
  // 16 bytes are 22 base64 characters and "==" (as Node's ws checks).
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(key[i])) return false;
  }
  return true;
}

bool HttpUpgrade::OriginAllowed(std::string_view origin,
                                const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  for (const std::string& a : allowed) {
    if (EqualsIgnoreAsciiCase(origin, a)) return true;
  }
  return false;
}

}  // namespace herald::push
