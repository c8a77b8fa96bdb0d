#pragma once

#include <memory>
#include <type_traits>

#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/stream.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/parser.hpp"
#include "push/connection.h"
#include "push/worker.h"

namespace herald::push {

using PlainStream = boost::asio::ip::tcp::socket;
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

// A Connection over a concrete stream: plain TCP or TLS over TCP. Only the
// I/O primitives live here; the protocol is in Connection.
//
// Thread: its Worker's I/O thread, like Connection.
template <typename Stream>
class Session final : public Connection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Worker& worker, Kind kind, Stream stream)
      : Connection(worker, kind), stream_(std::move(stream)) {}

 protected:
  void AsyncHandshake() override {
    if constexpr (kTls) {
      stream_.async_handshake(
          boost::asio::ssl::stream_base::server,
          [self = Self()](boost::system::error_code ec) {
            if (ec) {
              self->FailHandshake(ec);
            } else {
              self->ReadRequest();
            }
          });
    } else {
      ReadRequest();
    }
  }

  void AsyncReadSome(uint8_t* data, size_t size) override {
    stream_.async_read_some(
        boost::asio::buffer(data, size),
        [self = Self()](boost::system::error_code ec, size_t n) {
          self->OnRead(ec, n);
        });
  }

  void AsyncWrite(const char* data, size_t size) override {
    boost::asio::async_write(
        stream_, boost::asio::buffer(data, size),
        [self = Self()](boost::system::error_code ec, size_t n) {
          self->OnWrite(ec, n);
        });
  }

  void CloseSocket() override {
    boost::system::error_code ignored;
    auto& socket = Lowest();
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

 private:
  struct Handshake {
    explicit Handshake(size_t header_limit) : buffer(header_limit) {
      parser.header_limit(static_cast<uint32_t>(header_limit));
      parser.body_limit(0);
    }
    boost::beast::flat_buffer buffer;
    boost::beast::http::request_parser<boost::beast::http::empty_body> parser;
  };

  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(shared_from_this());
  }

  boost::asio::ip::tcp::socket& Lowest() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void FailHandshake(boost::system::error_code ec) {
    static const Request kEmpty;
    OnRequest(ec, kEmpty, {});
  }

  void ReadRequest() {
    handshake_ = std::make_unique<Handshake>(
        worker_.options().max_request_header_bytes);
    boost::beast::http::async_read(
        stream_, handshake_->buffer, handshake_->parser,
        [self = Self()](boost::system::error_code ec, size_t) {
          self->OnRequestRead(ec);
        });
  }

  void OnRequestRead(boost::system::error_code ec) {
    if (ec) {
      handshake_.reset();
      FailHandshake(ec);
      return;
    }
    // Keep the request and leftover bytes alive through OnRequest, then
    // free the handshake buffers for good.
    std::unique_ptr<Handshake> done = std::move(handshake_);
    const auto data = done->buffer.data();
    OnRequest(ec, done->parser.get(),
              std::string_view(static_cast<const char*>(data.data()),
                               data.size()));
  }

  Stream stream_;
  std::unique_ptr<Handshake> handshake_;
};

}  // namespace herald::push
