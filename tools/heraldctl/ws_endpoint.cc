#include "tools/heraldctl/ws_endpoint.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/url/parse.hpp"
#include "boost/url/url_view.hpp"

namespace herald::tools {
namespace {

constexpr char kDefaultUrl[] = "wss://127.0.0.1";
constexpr char kMainPort[] = "444";
constexpr char kVoicePort[] = "445";

absl::Status BadUrl(std::string_view url, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value '", std::string(url), "' for --url: ", std::string(why)));
}

}  // namespace

absl::StatusOr<WsEndpoint> WsEndpoint::FromUrl(std::string_view url,
                                               std::string_view token,
                                               std::optional<int64_t> channel) {
  if (url.empty()) url = kDefaultUrl;
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return BadUrl(url, "expected ws[s]://HOST[:PORT]");
  const boost::urls::url_view& u = *parsed;

  WsEndpoint endpoint;
  const std::string scheme = absl::AsciiStrToLower(std::string(u.scheme()));
  if (scheme == "wss") {
    endpoint.tls = true;
  } else if (scheme == "ws") {
    endpoint.tls = false;
  } else {
    return BadUrl(url, "the scheme must be ws or wss");
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    return BadUrl(url, "no host");
  }
  if (u.has_userinfo()) return BadUrl(url, "user information not supported");
  if (u.has_query() || u.has_fragment()) {
    return BadUrl(url, "no query or fragment (use --token and --channel)");
  }

  endpoint.host = u.host_address();
  endpoint.host_is_ip = u.host_type() == boost::urls::host_type::ipv4 ||
                        u.host_type() == boost::urls::host_type::ipv6;
  endpoint.port =
      u.has_port() ? std::string(u.port()) : (channel ? kVoicePort : kMainPort);
  if (endpoint.port.empty()) return BadUrl(url, "empty port");
  endpoint.host_header =
      absl::StrCat(std::string(u.encoded_host()), ":", endpoint.port);

  const auto path = u.encoded_path();
  endpoint.target =
      absl::StrCat(path.empty() ? absl::string_view("/")
                                : absl::string_view(path.data(), path.size()),
                   "?token=", PercentEncode(token));
  if (channel) absl::StrAppend(&endpoint.target, "&channel=", *channel);
  return endpoint;
}

std::string WsEndpoint::PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace herald::tools
