#include "push/connection_log.h"

#include "absl/strings/str_cat.h"
#include "push/close_codes.h"
#include "push/log.h"

namespace herald::push {
namespace {

const char* KindName(Connection::Kind kind) {
  return kind == Connection::Kind::kMain ? "main" : "voice";
}

}  // namespace

std::string PeerString(const boost::asio::ip::tcp::endpoint& peer) {
  if (peer.port() == 0) return "";
  boost::asio::ip::address address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped,
                                               address.to_v6());
  }
  if (address.is_v6()) {
    return absl::StrCat("[", address.to_string(), "]:", peer.port());
  }
  return absl::StrCat(address.to_string(), ":", peer.port());
}

void LogRefused(const Connection& c, uint16_t code, std::string_view reason,
                std::string_view token) {
  if (!LogEnabled(LogLevel::kInfo) || !LogAllowed(LogKind::kRefused)) return;
  const std::string peer = PeerString(c.peer());
  if (token.empty()) {
    Log(LogLevel::kInfo, "refused",
        {{"socket", KindName(c.kind())},
         {"peer", peer},
         {"code", code},
         {"reason", reason},
         {"conn", c.id()}});
    return;
  }
  Log(LogLevel::kInfo, "refused",
      {{"socket", KindName(c.kind())},
       {"peer", peer},
       {"code", code},
       {"reason", reason},
       {"token_hash", TokenHash(token)},
       {"conn", c.id()}});
}

void LogHttpRejected(const Connection& c, std::string_view response) {
  if (!LogEnabled(LogLevel::kInfo) || !LogAllowed(LogKind::kRefused)) return;
  // "HTTP/1.1 403 Forbidden\r\n...": the status and its text.
  std::string_view line = response.substr(0, response.find('\r'));
  int status = 0;
  std::string_view text;
  if (line.size() >= 12 && line.substr(0, 9) == "HTTP/1.1 ") {
    for (char ch : line.substr(9, 3)) status = status * 10 + (ch - '0');
    text = line.substr(std::min<size_t>(13, line.size()));
  }
  Log(LogLevel::kInfo, "refused",
      {{"socket", KindName(c.kind())},
       {"peer", PeerString(c.peer())},
       {"code", 0},
       {"http_status", status},
       {"reason", text},
       {"conn", c.id()}});
}

void LogRefusedAtAccept(Connection::Kind kind,
                        const boost::asio::ip::tcp::endpoint& peer,
                        std::string_view reason) {
  if (!LogEnabled(LogLevel::kInfo) || !LogAllowed(LogKind::kRefused)) return;
  Log(LogLevel::kInfo, "refused",
      {{"socket", KindName(kind)},
       {"peer", PeerString(peer)},
       {"code", 0},
       {"reason", reason}});
}

void LogSlowConsumer(const Connection& c, size_t held_bytes, size_t limit) {
  if (!LogEnabled(LogLevel::kWarning) || !LogAllowed(LogKind::kSlowConsumer)) {
    return;
  }
  Log(LogLevel::kWarning, "slow_consumer",
      {{"socket", KindName(c.kind())},
       {"peer", PeerString(c.peer())},
       {"user", c.user_id()},
       {"code", static_cast<int>(kCloseTooSlow)},
       {"queue_bytes", held_bytes},
       {"max_queue_bytes", limit},
       {"conn", c.id()}});
}

void LogPingTimeout(const Connection& c) {
  if (!LogEnabled(LogLevel::kInfo) || !LogAllowed(LogKind::kPingTimeout)) {
    return;
  }
  Log(LogLevel::kInfo, "ping_timeout",
      {{"socket", KindName(c.kind())},
       {"peer", PeerString(c.peer())},
       {"user", c.user_id()},
       {"code", static_cast<int>(kClosePingTimeout)},
       {"conn", c.id()}});
}

void LogAdmitted(const Connection& c) {
  if (!LogEnabled(LogLevel::kDebug)) return;
  Log(LogLevel::kDebug, "admitted",
      {{"socket", KindName(c.kind())},
       {"peer", PeerString(c.peer())},
       {"user", c.user_id()},
       {"conn", c.id()}});
}

void LogClosed(const Connection& c) {
  if (!LogEnabled(LogLevel::kDebug)) return;
  Log(LogLevel::kDebug, "closed",
      {{"socket", KindName(c.kind())},
       {"peer", PeerString(c.peer())},
       {"user", c.user_id()},
       {"conn", c.id()}});
}

}  // namespace herald::push
