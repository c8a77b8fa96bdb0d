#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "boost/beast/http/empty_body.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/parser.hpp"
#include "push/push_options.h"

namespace herald::push {

// The HTTP/1.1 side of one WebSocket opening handshake (RFC 6455 §4.2):
// reads the upgrade request incrementally within the header limit,
// validates it (upgrade headers, version, Sec-WebSocket-Key, the Origin
// allow-list) and parses the request target into the admission
// parameters. It writes nothing itself: it produces either the 101
// response and what to admit, or a complete HTTP error response.
//
// Thread: owned by one Connection while its request arrives, on that
// connection's worker thread; the static members are pure.
class HttpUpgrade {
 public:
  using Request = boost::beast::http::request<boost::beast::http::empty_body>;

  // What the query admits to, or why it refuses after the upgrade (a
  // close frame, since browsers cannot read an HTTP status).
  struct Target {
    std::string token;
    int64_t channel_id = 0;     // voice only
    uint16_t refusal_code = 0;  // 0: admit; else close with this code
    const char* refusal_reason = "";
  };

  struct Outcome {
    enum class Kind {
      kNeedMore,  // the request is incomplete: read more, Feed again
      kUpgrade,   // send `response` (101), then admit `target`
      kReject,    // send `response` (an HTTP error) and end
    };
    Kind kind = Kind::kNeedMore;
    std::string response;
    Target target;
    // kUpgrade from Feed: bytes the client sent after the request; they
    // point into this HttpUpgrade, valid while it lives.
    std::string_view leftover;
  };

  // `voice`: the request is for the voice port (it needs a channel).
  HttpUpgrade(const PushOptions& options, bool voice);
  HttpUpgrade(const HttpUpgrade&) = delete;
  HttpUpgrade& operator=(const HttpUpgrade&) = delete;

  // Appends the next bytes of the connection. After kUpgrade or kReject,
  // stop calling.
  Outcome Feed(std::string_view bytes);

  // Decides a complete request.
  static Outcome Decide(const Request& request, const PushOptions& options,
                        bool voice);

  // The admission parameters of a request target: the first `token` and
  // `channel` query parameters, percent-decoded.
  static Target ParseTarget(std::string_view target, bool voice);

  // RFC 6455 §4.1: the key is the base64 of exactly 16 bytes.
  static bool IsValidKey(std::string_view key);

  // Whether a request carrying `origin` may upgrade: every origin when the
  // list is empty, otherwise only those listed (ASCII case-insensitive).
  static bool OriginAllowed(std::string_view origin,
                            const std::vector<std::string>& allowed);

 private:
  const PushOptions& options_;
  const bool voice_;
  std::string bytes_;  // everything received so far
  size_t parsed_ = 0;  // prefix of bytes_ the parser has consumed
  boost::beast::http::request_parser<boost::beast::http::empty_body> parser_;
};

}  // namespace herald::push
