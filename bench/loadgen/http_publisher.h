#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/publisher.h"
#include "bench/loadgen/url_template.h"

namespace herald::bench {

// Publishes by HTTP/1.1 POST with keep-alive: the event JSON as the body,
// requests pipelined (at most kMaxOutstanding unanswered per connection)
// round-robin over a few connections, replies read and checked for 2xx as
// they arrive. The URL's {server} becomes the event's server. Publisher
// thread only.
class HttpPublisher : public Publisher {
 public:
  HttpPublisher(std::string url, int connections);
  ~HttpPublisher() override;

  bool Start(std::string* error) override;
  bool Publish(uint64_t seq, int64_t server, int64_t ns) override;
  bool PublishChat(const ChatEvent& e, int64_t ns) override;
  void Finish() override;

  uint64_t errors() const override { return errors_; }
  uint64_t recipients() const override { return 0; }
  const std::string& last_error() const override { return last_error_; }

 private:
  static constexpr int kMaxOutstanding = 64;

  struct Link {
    int fd = -1;
    int outstanding = 0;
    std::string in;
  };

  bool Connect(Link& link, std::string* error);
  // POSTs `body` for `server` on the next connection.
  bool Send(int64_t server, const char* body, size_t body_len);
  // Reads whatever replies arrived; waits up to timeout_ms for the first
  // byte when `wait` is set. Returns false when the connection broke.
  bool Drain(Link& link, int timeout_ms);
  void ParseReplies(Link& link);

  std::string url_;
  int connection_count_;
  UrlTemplate template_;
  std::vector<Link> links_;
  size_t next_link_ = 0;
  std::string request_;
  std::string chat_body_;
  uint64_t errors_ = 0;
  std::string last_error_;
};

}  // namespace herald::bench
