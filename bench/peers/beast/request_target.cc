#include "bench/peers/beast/request_target.h"

#include <charconv>

namespace herald::beast_peer {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<uint64_t> ParseNumber(std::string_view s) {
  if (!AllDigits(s)) return std::nullopt;
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The value of `name` in a query string "a=1&b=2", if present.
std::optional<std::string_view> QueryValue(std::string_view query,
                                           std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view()
                                          : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

std::vector<uint64_t> RequestTarget::ServersOf(std::string_view target) {
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view list;
  std::optional<std::string_view> query_list;
  if (q != std::string_view::npos) {
    query_list = QueryValue(target.substr(q + 1), "servers");
  }
  if (query_list) {
    list = *query_list;
  } else if (path.starts_with("/sub/")) {
    list = path.substr(5);
  }
  std::vector<uint64_t> servers;
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (auto v = ParseNumber(list.substr(0, comma))) servers.push_back(*v);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return servers;
}

std::optional<uint64_t> RequestTarget::PublishServer(std::string_view target) {
  if (!target.starts_with("/pub/")) return std::nullopt;
  return ParseNumber(target.substr(5));
}

}  // namespace herald::beast_peer
