#include "tools/heraldctl/tail_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <csignal>
#include <exception>
#include <string>
#include <type_traits>

#include "boost/asio/co_spawn.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/this_coro.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/ssl.hpp"
#include "boost/beast/websocket.hpp"
#include "boost/beast/websocket/ssl.hpp"

namespace herald::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

using PlainWebSocket = websocket::stream<beast::tcp_stream>;
using TlsWebSocket = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// One connection's life, from resolving to the close handshake, on one
// io_context thread. `Ws` is PlainWebSocket or TlsWebSocket.
template <typename Ws>
class TailSession {
 public:
  static constexpr bool kTls = std::is_same_v<Ws, TlsWebSocket>;

  TailSession(Ws& ws, const TailOptions& options, std::ostream& out,
              std::ostream& err)
      : ws_(ws),
        options_(options),
        endpoint_(options.endpoint),
        out_(out),
        err_(err),
        wait_timer_(ws.get_executor()),
        signals_(ws.get_executor()) {}

  // Returns the exit status.
  asio::awaitable<int> Run() {
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    const std::string where = endpoint_.host_header;

    tcp::resolver resolver(co_await asio::this_coro::executor);
    const auto addresses =
        co_await resolver.async_resolve(endpoint_.host, endpoint_.port, token);
    if (ec) co_return Fail("resolve " + endpoint_.host, ec);

    beast::tcp_stream& socket = beast::get_lowest_layer(ws_);
    socket.expires_after(options_.timeout);
    co_await socket.async_connect(addresses, token);
    if (ec) co_return Fail("connect " + where, ec);
    if constexpr (kTls) {
      co_await ws_.next_layer().async_handshake(ssl::stream_base::client,
                                                token);
      if (ec) co_return FailTls("TLS handshake with " + where, ec);
    }
    socket.expires_never();  // the WebSocket layer has its own timeouts

    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.timeout;  // and the close
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;  // herald pings; pongs are automatic
    ws_.set_option(timeouts);
    // Once the server's close frame is in, the closing handshake is done;
    // herald may reset the TCP connection right after, which Beast reports
    // instead of error::closed.
    ws_.control_callback(
        [this](websocket::frame_type kind, beast::string_view) {
          if (kind == websocket::frame_type::close) close_received_ = true;
        });
    ws_.set_option(
        websocket::stream_base::decorator([](websocket::request_type& request) {
          request.set(beast::http::field::user_agent, "heraldctl");
        }));
    websocket::response_type response;
    co_await ws_.async_handshake(response, endpoint_.host_header,
                                 endpoint_.target, token);
    if (ec == websocket::error::upgrade_declined) {
      err_ << "error: WebSocket handshake with " << where << ": HTTP "
           << response.result_int() << " " << response.reason() << std::endl;
      co_return 1;
    }
    if (ec) co_return Fail("WebSocket handshake with " + where, ec);

    WatchForStop();
    co_return co_await ReadFrames();
  }

 private:
  asio::awaitable<int> ReadFrames() {
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    beast::flat_buffer buffer;
    for (;;) {
      co_await ws_.async_read(buffer, token);
      const bool closed =
          ec == websocket::error::closed || (ec && close_received_);
      if (stopping_ && (closed || ec == asio::error::operation_aborted)) {
        co_return StoppedStatus();
      }
      if (closed) {
        // An empty close frame carries no code: 1005 by RFC 6455.
        const websocket::close_reason& reason = ws_.reason();
        const int code =
            reason.code == websocket::close_code::none
                ? static_cast<int>(websocket::close_code::no_status)
                : static_cast<int>(reason.code);
        out_ << "closed code=" << code << " reason=" << reason.reason
             << std::endl;
        co_return 0;
      }
      if (ec) co_return Fail("read", ec);
      if (ws_.got_text()) {
        out_ << beast::buffers_to_string(buffer.data()) << std::endl;
      } else {
        err_ << "binary frame of " << buffer.size() << " bytes (not printed)"
             << std::endl;
      }
      buffer.consume(buffer.size());
      if (options_.count > 0 && ++frames_ >= options_.count) {
        stopping_ = true;
        co_await ws_.async_close(websocket::close_code::normal, token);
        // The server's answer is in once its close code is: what follows
        // is TCP teardown, whose errors (see close_received_) do not matter.
        if (ec && ws_.reason().code == websocket::close_code::none) {
          co_return Fail("close", ec);
        }
        co_return 0;
      }
    }
  }

  // Arms --wait_ms and SIGINT/SIGTERM: either closes the connection with 1000.
  void WatchForStop() {
    if (options_.wait.count() > 0) {
      wait_timer_.expires_after(options_.wait);
      wait_timer_.async_wait([this](const beast::error_code& ec) {
        if (ec) return;
        timed_out_ = true;
        Stop();
      });
    }
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const beast::error_code& ec, int) {
      if (!ec) Stop();
    });
  }

  void Stop() {
    if (stopping_) return;
    stopping_ = true;
    // The pending read completes once the close handshake is done.
    ws_.async_close(websocket::close_code::normal,
                    [](const beast::error_code&) {});
  }

  int StoppedStatus() {
    if (timed_out_ && options_.count > 0 && frames_ < options_.count) {
      err_ << "error: timed out after " << frames_ << " of " << options_.count
           << " frames" << std::endl;
      return 1;
    }
    return 0;
  }

  int Fail(const std::string& what, const beast::error_code& ec) {
    err_ << "error: " << what << ": " << ec.message() << std::endl;
    return 1;
  }

  // Like Fail, plus why the certificate was not trusted, if it was not.
  int FailTls(const std::string& what, const beast::error_code& ec) {
    err_ << "error: " << what << ": " << ec.message();
    if constexpr (kTls) {
      const long verify =
          SSL_get_verify_result(ws_.next_layer().native_handle());
      if (!options_.insecure && verify != X509_V_OK) {
        err_ << ": " << X509_verify_cert_error_string(verify)
             << " (pass --ca=FILE, e.g. herald's <state>.cert.pem, or "
                "--insecure)";
      }
    }
    err_ << std::endl;
    return 1;
  }

  Ws& ws_;
  const TailOptions& options_;
  const WsEndpoint& endpoint_;
  std::ostream& out_;
  std::ostream& err_;
  asio::steady_timer wait_timer_;
  asio::signal_set signals_;
  int64_t frames_ = 0;
  bool close_received_ = false;
  bool stopping_ = false;
  bool timed_out_ = false;
};

// Runs a session on `io` to the end; returns the exit status.
template <typename Ws>
int Drive(asio::io_context& io, Ws& ws, const TailOptions& options,
          std::ostream& out, std::ostream& err) {
  TailSession<Ws> session(ws, options, out, err);
  int status = 1;
  asio::co_spawn(io, session.Run(),
                 [&](std::exception_ptr failure, int result) {
                   status = result;
                   if (failure) {
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       err << "error: " << e.what() << std::endl;
                       status = 1;
                     }
                   }
                   io.stop();  // the --wait timer and the signal watch
                 });
  io.run();
  return status;
}

}  // namespace

TailClient::TailClient(TailOptions options, std::ostream& out,
                       std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {}

int TailClient::Run() {
  asio::io_context io;
  const WsEndpoint& endpoint = options_.endpoint;
  if (!endpoint.tls) {
    PlainWebSocket ws(io);
    return Drive(io, ws, options_, out_, err_);
  }

  ssl::context context(ssl::context::tls_client);
  beast::error_code ec;
  if (options_.insecure) {
    context.set_verify_mode(ssl::verify_none);
  } else {
    context.set_verify_mode(ssl::verify_peer);
    if (!options_.ca_file.empty()) {
      context.load_verify_file(options_.ca_file, ec);
      if (ec) {
        err_ << "error: --ca=" << options_.ca_file << ": " << ec.message()
             << std::endl;
        return 1;
      }
    } else {
      context.set_default_verify_paths(ec);
      if (ec) {
        err_ << "error: system certificate store: " << ec.message()
             << std::endl;
        return 1;
      }
    }
  }
  TlsWebSocket ws(io, context);
  SSL* ssl = ws.next_layer().native_handle();
  if (endpoint.host_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, endpoint.host.c_str());
    SSL_set1_host(ssl, endpoint.host.c_str());
  }
  return Drive(io, ws, options_, out_, err_);
}

}  // namespace herald::tools
