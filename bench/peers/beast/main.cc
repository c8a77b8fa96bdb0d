// herald-beast-peer: "the Beast idiom", a peer for herald's benchmark. A
// minimal broadcast server written the way Boost.Beast's own examples
// (websocket/server/chat-multi) write one: websocket::stream<tcp_stream>
// or websocket::stream<ssl_stream<tcp_stream>> sessions, a shared state
// holding them, one shared_ptr<const std::string> per event queued by
// pointer on every session, one async_write in flight per session; one
// io_context on one thread. It speaks what bench/peers/node/server.js
// speaks:
//
//   herald-beast-peer --port=P [--tls_port=Q --cert=FILE --key=FILE]
//                     [--host=127.0.0.1]
//
// Both ports serve subscribers and the publisher:
//   subscribers: ws[s]://HOST:PORT/sub/1,2,3   (or /?servers=1,2,3)
//   publisher:   POST http(s)://HOST:PORT/pub/<server>, body = event
//                -> 200, body "recipients=N"
// Prints "ready port=P tls_port=Q" on stdout once listening (Q = 0
// without --tls_port); SIGTERM or SIGINT exits 0.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "bench/peers/beast/beast.h"
#include "bench/peers/beast/listener.h"
#include "bench/peers/beast/shared_state.h"
#include "boost/asio/signal_set.hpp"

namespace herald::beast_peer {
namespace {

constexpr std::string_view kUsage =
    "usage: herald-beast-peer --port=P [--tls_port=Q --cert=FILE --key=FILE] "
    "[--host=127.0.0.1]\n";

// --name=value arguments; false (and a message) on anything else.
bool ParseArgs(int argc, char** argv, std::map<std::string, std::string>* out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    size_t eq = a.find('=');
    if (!a.starts_with("--") || eq == std::string_view::npos) {
      std::cerr << "bad argument " << a << "\n" << kUsage;
      return false;
    }
    std::string name(a.substr(2, eq - 2));
    if (name != "port" && name != "tls_port" && name != "cert" &&
        name != "key" && name != "host") {
      std::cerr << "unknown flag --" << name << "\n" << kUsage;
      return false;
    }
    (*out)[name] = std::string(a.substr(eq + 1));
  }
  return true;
}

bool ParsePort(const std::string& s, uint16_t* port) {
  try {
    size_t used = 0;
    unsigned long v = std::stoul(s, &used);
    if (used != s.size() || v > 65535) return false;
    *port = static_cast<uint16_t>(v);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

int Main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  beast::error_code ec;
  auto host = net::ip::make_address(
      args.count("host") ? args["host"] : "127.0.0.1", ec);
  uint16_t port = 0, tls_port = 0;
  if (ec || !ParsePort(args.count("port") ? args["port"] : "0", &port) ||
      (args.count("tls_port") && !ParsePort(args["tls_port"], &tls_port))) {
    std::cerr << "bad --host, --port or --tls_port\n" << kUsage;
    return 2;
  }
  bool tls = args.count("tls_port") > 0;
  if (tls && (!args.count("cert") || !args.count("key"))) {
    std::cerr << "--tls_port needs --cert and --key\n" << kUsage;
    return 2;
  }

  // Declared before the io_context: the sessions its destructor frees
  // leave this state on their way out.
  SharedState state;
  ssl::context ctx{ssl::context::tls_server};
  if (tls) {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain_file(args["cert"], ec);
    if (!ec) ctx.use_private_key_file(args["key"], ssl::context::pem, ec);
    if (ec) {
      std::cerr << "cannot load --cert/--key: " << ec.message() << "\n";
      return 2;
    }
  }
  net::io_context ioc{1};

  auto plain = std::make_shared<Listener>(ioc, tcp::endpoint{host, port}, state,
                                          nullptr);
  if (!plain->ok()) return 2;
  plain->Run();
  std::shared_ptr<Listener> secure;
  if (tls) {
    secure = std::make_shared<Listener>(ioc, tcp::endpoint{host, tls_port},
                                        state, &ctx);
    if (!secure->ok()) return 2;
    secure->Run();
  }

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });

  std::printf("ready port=%u tls_port=%u\n", plain->port(),
              secure ? secure->port() : 0u);
  std::fflush(stdout);
  ioc.run();
  return 0;
}

}  // namespace
}  // namespace herald::beast_peer

int main(int argc, char** argv) { return herald::beast_peer::Main(argc, argv); }
