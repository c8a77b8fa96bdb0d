#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "boost/asio/ip/tcp.hpp"
#include "push/connection.h"

namespace herald::push {

// The log records of one connection's notable events (push/log.h). The
// ones any client can cause (refused, slow_consumer, ping_timeout) are
// rate-limited per thread; admitted and closed are debug records. A token
// is never logged, only its TokenHash (token_hash).
//
// Thread: the connection's worker thread (or the listener's, at accept).

// "1.2.3.4:5678" (IPv4, also when IPv4-mapped), "[::1]:5678"; empty when
// unknown (a socket already reset at accept).
std::string PeerString(const boost::asio::ip::tcp::endpoint& peer);

// Closed with `code` after the upgrade, before admission.
void LogRefused(const Connection& c, uint16_t code, std::string_view reason,
                std::string_view token);
// Answered with an HTTP error (`response`: its status line first).
void LogHttpRejected(const Connection& c, std::string_view response);
// Closed at accept, before any TLS or HTTP (code 0).
void LogRefusedAtAccept(Connection::Kind kind,
                        const boost::asio::ip::tcp::endpoint& peer,
                        std::string_view reason);
// Closed with 4008: `held_bytes` would have exceeded `limit`.
void LogSlowConsumer(const Connection& c, size_t held_bytes, size_t limit);
void LogPingTimeout(const Connection& c);
void LogAdmitted(const Connection& c);
// The socket closed (debug).
void LogClosed(const Connection& c);

}  // namespace herald::push
