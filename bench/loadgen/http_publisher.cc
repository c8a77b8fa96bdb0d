#include "bench/loadgen/http_publisher.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <span>
#include <string_view>

#include "bench/loadgen/event_body.h"
#include "bench/loadgen/mono_clock.h"

namespace herald::bench {
namespace {

// Case-insensitive search for a header line "name:" in the head; returns
// the trimmed value or an empty view.
std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    if (head.size() - pos > name.size() &&
        strncasecmp(head.data() + pos, name.data(), name.size()) == 0 &&
        head[pos + name.size()] == ':') {
      size_t v = pos + name.size() + 1;
      size_t e = head.find("\r\n", v);
      if (e == std::string_view::npos) e = head.size();
      while (v < e && (head[v] == ' ' || head[v] == '\t')) ++v;
      return head.substr(v, e - v);
    }
  }
  return {};
}

}  // namespace

HttpPublisher::HttpPublisher(std::string url, int connections)
    : url_(std::move(url)), connection_count_(connections) {}

HttpPublisher::~HttpPublisher() {
  for (Link& l : links_) {
    if (l.fd >= 0) close(l.fd);
  }
}

bool HttpPublisher::Start(std::string* error) {
  if (!template_.Parse(url_, error)) return false;
  if (template_.tls()) {
    *error = "--publish_url must be http://";
    return false;
  }
  links_.resize(connection_count_);
  for (Link& l : links_) {
    if (!Connect(l, error)) return false;
  }
  return true;
}

bool HttpPublisher::Connect(Link& link, std::string* error) {
  if (link.fd >= 0) close(link.fd);
  link.outstanding = 0;
  link.in.clear();
  link.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(template_.port());
  inet_pton(AF_INET, template_.host().c_str(), &dst.sin_addr);
  if (link.fd < 0 ||
      connect(link.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    *error = "cannot connect to " + url_ + ": " + strerror(errno);
    if (link.fd >= 0) close(link.fd);
    link.fd = -1;
    return false;
  }
  int one = 1;
  setsockopt(link.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

bool HttpPublisher::Publish(uint64_t seq, int64_t server, int64_t ns) {
  char body[EventBody::kMaxSize];
  size_t body_len = EventBody::Write(seq, server, ns, body);
  return Send(server, body, body_len);
}

bool HttpPublisher::PublishChat(const ChatEvent& e, int64_t ns) {
  e.WriteJson(ns, &chat_body_);
  return Send(e.server, chat_body_.data(), chat_body_.size());
}

bool HttpPublisher::Send(int64_t server, const char* body, size_t body_len) {
  Link& link = links_[next_link_];
  next_link_ = (next_link_ + 1) % links_.size();
  while (link.fd >= 0 && link.outstanding >= kMaxOutstanding) {
    if (!Drain(link, 1000)) break;
  }
  if (link.fd < 0) {
    std::string error;
    if (!Connect(link, &error)) {
      ++errors_;
      last_error_ = error;
      return false;
    }
  }
  int32_t s32 = static_cast<int32_t>(server);
  request_.assign("POST ");
  template_.Expand(0, std::span<const int32_t>(&s32, 1), &request_);
  request_.append(" HTTP/1.1\r\nHost: ");
  request_.append(template_.host_header());
  request_.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  char num[24];
  auto r = std::to_chars(num, num + sizeof num, body_len);
  request_.append(num, r.ptr);
  request_.append("\r\n\r\n");
  request_.append(body, body_len);
  size_t off = 0;
  while (off < request_.size()) {
    ssize_t w = send(link.fd, request_.data() + off, request_.size() - off,
                     MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ++errors_;
      last_error_ = std::string("publish connection broke: ") + strerror(errno);
      close(link.fd);
      link.fd = -1;
      return false;
    }
    off += static_cast<size_t>(w);
  }
  ++link.outstanding;
  Drain(link, 0);
  return true;
}

bool HttpPublisher::Drain(Link& link, int timeout_ms) {
  if (link.fd < 0) return false;
  char buf[16384];
  bool first = true;
  for (;;) {
    if (first && timeout_ms > 0) {
      pollfd pfd{link.fd, POLLIN, 0};
      if (poll(&pfd, 1, timeout_ms) <= 0) return true;
    }
    first = false;
    ssize_t n = recv(link.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      link.in.append(buf, static_cast<size_t>(n));
      ParseReplies(link);
      if (static_cast<size_t>(n) < sizeof buf) return true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    // Closed by the server: the unanswered requests are lost.
    errors_ += static_cast<uint64_t>(link.outstanding);
    last_error_ = "publish connection closed by the server";
    close(link.fd);
    link.fd = -1;
    link.outstanding = 0;
    link.in.clear();
    return false;
  }
}

void HttpPublisher::ParseReplies(Link& link) {
  size_t off = 0;
  for (;;) {
    std::string_view rest(link.in.data() + off, link.in.size() - off);
    size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    std::string_view head = rest.substr(0, end);
    size_t total = end + 4;
    std::string_view te = HeaderValue(head, "Transfer-Encoding");
    if (te.find("chunked") != std::string_view::npos) {
      // Walk the chunks until the zero-size one.
      size_t p = total;
      bool complete = false;
      for (;;) {
        size_t eol = rest.find("\r\n", p);
        if (eol == std::string_view::npos) break;
        size_t size = 0;
        std::from_chars(rest.data() + p, rest.data() + eol, size, 16);
        if (size == 0) {
          size_t trailer = rest.find("\r\n\r\n", eol);
          if (trailer == std::string_view::npos) break;
          total = trailer + 4;
          complete = true;
          break;
        }
        p = eol + 2 + size + 2;
        if (p > rest.size()) break;
      }
      if (!complete) break;
    } else {
      std::string_view cl = HeaderValue(head, "Content-Length");
      size_t len = 0;
      std::from_chars(cl.data(), cl.data() + cl.size(), len);
      if (rest.size() < total + len) break;
      total += len;
    }
    bool ok = head.size() > 12 && head[9] == '2';
    if (!ok) {
      ++errors_;
      last_error_ = std::string(head.substr(0, head.find("\r\n")));
    }
    if (link.outstanding > 0) --link.outstanding;
    off += total;
  }
  link.in.erase(0, off);
}

void HttpPublisher::Finish() {
  int64_t deadline = MonoNowNs() + 5'000'000'000;
  for (Link& l : links_) {
    while (l.fd >= 0 && l.outstanding > 0 && MonoNowNs() < deadline) {
      Drain(l, 100);
    }
    if (l.outstanding > 0) {
      errors_ += static_cast<uint64_t>(l.outstanding);
      last_error_ = "publish replies missing at the end";
    }
  }
}

}  // namespace herald::bench
