#pragma once

#include <string>

#include "boost/asio/ip/tcp.hpp"

namespace herald::push {

// The remote end of `socket` as "ip:port" ("[v6]:port"; an IPv4-mapped
// IPv6 address as plain IPv4); empty when the socket has none (closed,
// reset). Any thread that may use the socket.
std::string PeerAddressOf(const boost::asio::ip::tcp::socket& socket);

}  // namespace herald::push
