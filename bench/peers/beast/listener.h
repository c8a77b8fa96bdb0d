#pragma once

#include <cstdint>
#include <memory>

#include "bench/peers/beast/beast.h"
#include "bench/peers/beast/shared_state.h"

namespace herald::beast_peer {

// Accepts connections on one port and starts an HttpSession for each:
// plain (PlainStream) without a TLS context, TLS (TlsStream) with one; the
// choice is made once, here. Sessions run on the one io_context thread (no
// strand per connection as in chat-multi: there is only one thread).
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // tls == nullptr: plain. Binds and listens at once; ok() tells whether
  // that worked (the error went to stderr).
  Listener(net::io_context& ioc, tcp::endpoint endpoint, SharedState& state,
           ssl::context* tls);

  bool ok() const { return ok_; }
  uint16_t port() const;
  void Run();

 private:
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  SharedState& state_;
  ssl::context* const tls_;
  bool ok_ = false;
};

}  // namespace herald::beast_peer
