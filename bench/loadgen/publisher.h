#pragma once

#include <cstdint>
#include <string>

#include "bench/loadgen/chat_event.h"

namespace herald::bench {

// Publishes events to one kind of server. Created, used and
// destroyed by the publisher thread only.
class Publisher {
 public:
  virtual ~Publisher() = default;

  // Connects. Returns false and sets *error when publishing is impossible.
  virtual bool Start(std::string* error) = 0;
  // Sends event `seq` for `server`, stamped `ns`. May block for flow
  // control. Returns false when the event could not be sent.
  virtual bool Publish(uint64_t seq, int64_t server, int64_t ns) = 0;
  // The chat scenario: sends `e` (any kind), stamped `ns`.
  virtual bool PublishChat(const ChatEvent& e, int64_t ns) = 0;
  // Ends the stream and collects the outstanding replies.
  virtual void Finish() = 0;

  // Events the server refused or that failed in transport.
  virtual uint64_t errors() const = 0;
  // The server's own count of recipients, when it reports one (0 if not).
  virtual uint64_t recipients() const = 0;
  virtual const std::string& last_error() const = 0;
};

}  // namespace herald::bench
