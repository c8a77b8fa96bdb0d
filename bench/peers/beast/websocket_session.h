#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/peers/beast/beast.h"
#include "bench/peers/beast/shared_state.h"
#include "bench/peers/beast/subscriber.h"

namespace herald::beast_peer {

// One subscriber's WebSocket, `websocket::stream<Stream>` over the HTTP
// session's stream (PlainStream or TlsStream), as in Beast's chat-multi:
// joins the shared state once the handshake is done, keeps one async_read
// going (it answers pings and the close handshake; what subscribers send
// is discarded), and writes queued events with at most one async_write in
// flight. Each pending handler holds a shared_ptr to the session; the
// session leaves the shared state when its read or write fails and when
// it is destroyed. The io_context thread only.
template <class Stream>
class WebSocketSession
    : public Subscriber,
      public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  WebSocketSession(Stream&& stream, SharedState& state,
                   std::vector<uint64_t> servers)
      : ws_(std::move(stream)), state_(state), servers_(std::move(servers)) {}

  ~WebSocketSession() override { Leave(); }

  // Accepts the upgrade `req` (already read by the HTTP session).
  void Run(http::request<http::string_body> req) {
    // The websocket stream has its own timeouts; the TCP stream's are off.
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(
        websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(4096);
    ws_.async_accept(req, beast::bind_front_handler(&WebSocketSession::OnAccept,
                                                    this->shared_from_this()));
  }

  void Send(std::shared_ptr<const std::string> const& message) override {
    // chat-multi posts this to the session's strand; with one thread there
    // is none, so the message is queued here and now.
    queue_.push_back(message);
    if (queue_.size() > 1) return;  // a write is in flight
    DoWrite();
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return;
    ws_.text(true);
    state_.Join(this, servers_);
    joined_ = true;
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&WebSocketSession::OnRead,
                                             this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return Leave();  // closed, reset or timed out
    buffer_.consume(buffer_.size());
    DoRead();
  }

  void DoWrite() {
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&WebSocketSession::OnWrite,
                                              this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) {
      queue_.clear();
      return Leave();
    }
    queue_.pop_front();
    if (!queue_.empty()) DoWrite();
  }

  void Leave() {
    if (!joined_) return;
    joined_ = false;
    state_.Leave(this, servers_);
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  SharedState& state_;
  const std::vector<uint64_t> servers_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool joined_ = false;
};

}  // namespace herald::beast_peer
