#include "bench/loadgen/url_template.h"

#include <charconv>
#include <string_view>

namespace herald::bench {
namespace {

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

}  // namespace

bool UrlTemplate::Parse(const std::string& url, std::string* error) {
  std::string_view u = url;
  uint16_t default_port = 80;
  if (u.starts_with("wss://")) {
    tls_ = true;
    default_port = 443;
    u.remove_prefix(6);
  } else if (u.starts_with("ws://")) {
    u.remove_prefix(5);
  } else if (u.starts_with("https://")) {
    tls_ = true;
    default_port = 443;
    u.remove_prefix(8);
  } else if (u.starts_with("http://")) {
    u.remove_prefix(7);
  } else {
    *error = "URL must start with ws://, wss://, http:// or https://: " + url;
    return false;
  }
  size_t slash = u.find_first_of("/?");
  std::string_view authority = u.substr(0, slash);
  path_ = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
  if (!path_.empty() && path_[0] == '?') path_.insert(path_.begin(), '/');
  size_t colon = authority.rfind(':');
  int port = default_port;
  if (colon != std::string_view::npos) {
    std::string_view p = authority.substr(colon + 1);
    auto r = std::from_chars(p.data(), p.data() + p.size(), port);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || port <= 0 ||
        port > 65535) {
      *error = "bad port in URL: " + url;
      return false;
    }
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) {
    *error = "no host in URL: " + url;
    return false;
  }
  host_ = std::string(authority);
  if (host_ == "localhost") host_ = "127.0.0.1";
  port_ = static_cast<uint16_t>(port);
  host_header_ = host_ + ":" + std::to_string(port_);
  return true;
}

void UrlTemplate::Expand(int64_t user, std::span<const int32_t> servers,
                         std::string* out) const {
  std::string_view p = path_;
  while (!p.empty()) {
    size_t b = p.find('{');
    out->append(p.substr(0, b));
    if (b == std::string_view::npos) break;
    p.remove_prefix(b);
    if (p.starts_with("{token}")) {
      out->push_back('u');
      AppendInt(user, out);
      p.remove_prefix(7);
    } else if (p.starts_with("{user}")) {
      AppendInt(user, out);
      p.remove_prefix(6);
    } else if (p.starts_with("{servers}")) {
      for (size_t i = 0; i < servers.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendInt(servers[i], out);
      }
      p.remove_prefix(9);
    } else if (p.starts_with("{server}")) {
      AppendInt(servers.empty() ? 1 : servers[0], out);
      p.remove_prefix(8);
    } else {
      out->push_back('{');
      p.remove_prefix(1);
    }
  }
}

}  // namespace herald::bench
