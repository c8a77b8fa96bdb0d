#include "push/peer_address.h"

#include "absl/strings/str_cat.h"

namespace herald::push {

std::string PeerAddressOf(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const boost::asio::ip::tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "";
  boost::asio::ip::address address = remote.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped,
                                               address.to_v6());
  }
  if (address.is_v6()) {
    return absl::StrCat("[", address.to_string(), "]:", remote.port());
  }
  return absl::StrCat(address.to_string(), ":", remote.port());
}

}  // namespace herald::push
