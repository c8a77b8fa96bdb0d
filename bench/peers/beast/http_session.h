#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "bench/peers/beast/beast.h"
#include "bench/peers/beast/request_target.h"
#include "bench/peers/beast/shared_state.h"
#include "bench/peers/beast/websocket_session.h"

namespace herald::beast_peer {

// One accepted connection before it is a WebSocket, as in Beast's
// chat-multi (and, for TLS, advanced_server_flex): over TlsStream it does
// the TLS handshake first; then it reads HTTP/1.1 requests. An upgrade
// hands the stream and the request to a WebSocketSession subscribed to the
// target's servers; `POST /pub/<server>` publishes the body to that
// server's sessions and answers 200 "recipients=N" (keep-alive, requests
// answered in order); anything else is 404. No HTTP timeouts, like the Node
// peer: the publisher's keep-alive connection may sit idle between runs.
// The io_context thread only.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  HttpSession(Stream&& stream, SharedState& state)
      : stream_(std::move(stream)), state_(state) {}

  void Run() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&HttpSession::OnHandshake,
                                    this->shared_from_this()));
    } else {
      DoRead();
    }
  }

 private:
  void OnHandshake(beast::error_code ec) {
    if (ec) return;
    beast::get_lowest_layer(stream_).expires_never();
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead,
                                               this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return;  // end of stream, reset, or a malformed request
    if (websocket::is_upgrade(parser_->get())) {
      http::request<http::string_body> req = parser_->release();
      auto servers = RequestTarget::ServersOf(req.target());
      std::make_shared<WebSocketSession<Stream>>(std::move(stream_), state_,
                                                 std::move(servers))
          ->Run(std::move(req));
      return;
    }
    Respond(parser_->release());
  }

  void Respond(http::request<http::string_body> req) {
    res_ = {};
    res_.version(req.version());
    res_.keep_alive(req.keep_alive());
    auto server = RequestTarget::PublishServer(req.target());
    if (req.method() == http::verb::post && server) {
      size_t n = state_.Publish(*server, std::move(req.body()));
      res_.result(http::status::ok);
      res_.set(http::field::content_type, "text/plain");
      res_.body() = "recipients=" + std::to_string(n);
    } else {
      res_.result(http::status::not_found);
    }
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&HttpSession::OnWrite,
                                                this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) return;
    if (!res_.keep_alive()) {
      beast::get_lowest_layer(stream_).socket().shutdown(
          tcp::socket::shutdown_send, ec);
      return;
    }
    DoRead();
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  SharedState& state_;
  // Constructed afresh for each request, as in chat-multi.
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

}  // namespace herald::beast_peer
