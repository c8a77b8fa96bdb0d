#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace herald::bench {

// A ws:// or wss:// (or http://) URL whose path may hold placeholders:
// {token} (the user's token, "u<user>"), {user}, {server} (the user's first
// server; 1 in fanout mode) and {servers} (comma-separated list). Parsed
// once by the main thread; Expand is const and safe from any thread.
class UrlTemplate {
 public:
  // Returns false and sets *error when the URL is not usable.
  bool Parse(const std::string& url, std::string* error);

  bool tls() const { return tls_; }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  // "HOST:PORT" as the Host header wants it.
  const std::string& host_header() const { return host_header_; }

  // Appends the request target (path and query) for one user to *out.
  void Expand(int64_t user, std::span<const int32_t> servers,
              std::string* out) const;

 private:
  bool tls_ = false;
  std::string host_;
  uint16_t port_ = 0;
  std::string host_header_;
  std::string path_;  // with placeholders
};

}  // namespace herald::bench
