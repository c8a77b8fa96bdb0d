// libFuzzer target: HttpUpgrade on arbitrary request bytes, fed whole and
// in connection-sized reads; ParseTarget and IsValidKey on the raw input.
// Checks the header limit holds, every feed accepts the same upgrades, and
// every answer is a well-formed HTTP response or admission.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "push/close_codes.h"
#include "push/http_upgrade.h"

namespace {

using herald::push::HttpUpgrade;
using herald::push::PushOptions;
using Kind = HttpUpgrade::Outcome::Kind;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void CheckTarget(const HttpUpgrade::Target& t, bool voice) {
  if (t.refusal_code != 0) {
    Check(t.refusal_code == herald::push::kCloseBadRequest);
    Check(t.refusal_reason != nullptr && t.refusal_reason[0] != '\0');
    return;
  }
  Check(!t.token.empty());
  Check(voice ? t.channel_id > 0 : t.channel_id == 0);
}

struct Decision {
  Kind kind = Kind::kNeedMore;
  std::string response;
  bool operator==(const Decision&) const = default;
};

Decision Feed(std::string_view input, size_t piece, const PushOptions& options,
              bool voice) {
  HttpUpgrade upgrade(options, voice);
  size_t fed = 0;
  while (fed < input.size()) {
    const std::string_view bytes = input.substr(fed, piece);
    fed += bytes.size();
    HttpUpgrade::Outcome out = upgrade.Feed(bytes);
    if (out.kind == Kind::kNeedMore) {
      // Never buffer more than the limit while waiting.
      Check(fed <= options.max_request_header_bytes);
      continue;
    }
    Check(StartsWith(out.response, "HTTP/1.1 "));
    Check(out.response.size() >= 4 &&
          (out.kind == Kind::kReject ||
           out.response.substr(out.response.size() - 4) == "\r\n\r\n"));
    if (out.kind == Kind::kUpgrade) {
      Check(StartsWith(out.response, "HTTP/1.1 101 Switching Protocols\r\n"));
      Check(out.leftover.size() <= bytes.size());
      Check(input.substr(fed - out.leftover.size(), out.leftover.size()) ==
            out.leftover);
      CheckTarget(out.target, voice);
    } else {
      Check(!StartsWith(out.response, "HTTP/1.1 101"));
    }
    return {out.kind, out.response};
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1),
                               size - 1);
  PushOptions options;
  options.max_request_header_bytes = (flags & 1) ? 8192 : 256 + flags * 4;
  if (flags & 2) options.allowed_origins = {"https://a.example", "null"};
  const bool voice = flags & 4;

  const Decision whole = Feed(input, input.size() + 1, options, voice);
  const Decision reads = Feed(input, 256, options, voice);
  const Decision bytes = Feed(input, 1 + (flags >> 5), options, voice);
  // Fed whole, the parser may refuse a bad request line before the header
  // is complete, while in pieces it first waits for the end of the header
  // (within the limit): refusals may differ in timing and status. An
  // upgrade may not: every feed accepts it, with the same response.
  if (whole.kind == Kind::kUpgrade || reads.kind == Kind::kUpgrade ||
      bytes.kind == Kind::kUpgrade) {
    Check(reads == whole);
    Check(bytes == whole);
  }

  CheckTarget(HttpUpgrade::ParseTarget(input, voice), voice);
  if (HttpUpgrade::IsValidKey(input)) Check(input.size() == 24);
  HttpUpgrade::OriginAllowed(input, options.allowed_origins);
  return 0;
}
