#pragma once

#include <memory>
#include <string>

namespace herald::beast_peer {

// What the shared state holds for each open WebSocket, whatever its stream
// type (plain or TLS): something an event can be queued on. The io_context
// thread only (the peer has one).
class Subscriber {
 public:
  virtual ~Subscriber() = default;

  // Queues `message` (shared by every recipient, never copied) behind the
  // session's earlier ones; the session writes them one at a time.
  virtual void Send(std::shared_ptr<const std::string> const& message) = 0;
};

}  // namespace herald::beast_peer
