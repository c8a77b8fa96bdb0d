#include "bench/peers/beast/shared_state.h"

#include <memory>
#include <utility>

namespace herald::beast_peer {

void SharedState::Join(Subscriber* s, std::span<const uint64_t> servers) {
  for (uint64_t server : servers) topics_[server].insert(s);
}

void SharedState::Leave(Subscriber* s, std::span<const uint64_t> servers) {
  for (uint64_t server : servers) {
    auto it = topics_.find(server);
    if (it == topics_.end()) continue;
    it->second.erase(s);
    if (it->second.empty()) topics_.erase(it);
  }
}

size_t SharedState::Publish(uint64_t server, std::string text) {
  auto it = topics_.find(server);
  if (it == topics_.end()) return 0;
  // One string for every recipient, queued by pointer.
  auto const message = std::make_shared<const std::string>(std::move(text));
  for (Subscriber* s : it->second) s->Send(message);
  return it->second.size();
}

}  // namespace herald::beast_peer
