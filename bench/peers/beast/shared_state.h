#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "bench/peers/beast/subscriber.h"

namespace herald::beast_peer {

// The peer's shared state, as in Beast's chat-multi example: the open
// sessions, here grouped by server id (a topic), and the broadcast. Owned
// by main(), outlives every session. The io_context runs on one thread, so
// unlike chat-multi there is no mutex and no copy of the session list:
// Send() only queues and starts a write (which never completes inline), so
// no session joins or leaves while Publish() walks a topic.
class SharedState {
 public:
  // Adds `s` to each server's topic (a server listed twice counts once).
  void Join(Subscriber* s, std::span<const uint64_t> servers);
  // Removes `s` from each server's topic; idempotent.
  void Leave(Subscriber* s, std::span<const uint64_t> servers);
  // Queues one shared copy of `text` on every session of `server`; returns
  // how many sessions it was queued on.
  size_t Publish(uint64_t server, std::string text);

 private:
  std::unordered_map<uint64_t, std::unordered_set<Subscriber*>> topics_;
};

}  // namespace herald::beast_peer
