#include "bench/peers/beast/listener.h"

#include <iostream>
#include <utility>

#include "bench/peers/beast/http_session.h"

namespace herald::beast_peer {
namespace {

void Fail(beast::error_code ec, const char* what) {
  std::cerr << what << ": " << ec.message() << "\n";
}

}  // namespace

Listener::Listener(net::io_context& ioc, tcp::endpoint endpoint,
                   SharedState& state, ssl::context* tls)
    : ioc_(ioc), acceptor_(ioc), state_(state), tls_(tls) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) {
    Fail(ec, "open");
    return;
  }
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) {
    Fail(ec, "set_option");
    return;
  }
  acceptor_.bind(endpoint, ec);
  if (ec) {
    Fail(ec, "bind");
    return;
  }
  acceptor_.listen(65535, ec);  // the Node peer's backlog
  if (ec) {
    Fail(ec, "listen");
    return;
  }
  ok_ = true;
}

uint16_t Listener::port() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Listener::Run() { DoAccept(); }

void Listener::DoAccept() {
  acceptor_.async_accept(
      ioc_, beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
}

void Listener::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;  // the acceptor closed
  if (ec) {
    Fail(ec, "accept");
  } else {
    // Small frames written one by one: no Nagle delay (Node's ws sets
    // the same on every socket).
    socket.set_option(tcp::no_delay(true), ec);
    if (tls_ != nullptr) {
      std::make_shared<HttpSession<TlsStream>>(
          TlsStream(std::move(socket), *tls_), state_)
          ->Run();
    } else {
      std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)),
                                                 state_)
          ->Run();
    }
  }
  DoAccept();
}

}  // namespace herald::beast_peer
