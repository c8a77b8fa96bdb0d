#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "push/connection_id.h"

namespace herald::push {

// What one admitted connection looks like right now (the admin API's
// ListConnections). Plain data, copied off the worker that owns it.
struct ConnectionSnapshot {
  ConnectionId id = 0;
  int64_t user_id = 0;
  bool voice = false;        // the voice socket; else the main socket
  int64_t channel_id = 0;    // voice: the channel it joined
  bool tls = true;           // wss; else ws (--plain)
  std::string peer_address;  // "ip:port", "[v6]:port"; empty if unknown
  std::chrono::system_clock::time_point admitted_at;
  size_t queue_bytes = 0;  // undelivered bytes held for it (HeldBytes)
};

// The admin view of the admitted connections, for operators (the control
// plane's HeraldAdmin service). Every method is thread-safe and never
// blocks: the work is posted to each I/O worker and `done` runs on the
// I/O thread of the last worker to answer.
class ConnectionDirectory {
 public:
  using ListCallback =
      absl::AnyInvocable<void(std::vector<ConnectionSnapshot> found,
                              size_t total) &&>;
  using CountCallback = absl::AnyInvocable<void(size_t count) &&>;

  virtual ~ConnectionDirectory() = default;

  // The admitted connections (main and voice) of `user_id`: at most `max`
  // of them, the oldest admissions first, with `total` the number there
  // are.
  virtual void ListConnections(int64_t user_id, size_t max,
                               ListCallback done) = 0;

  // Closes `user_id`'s connection `id` (every one of the user's
  // connections when `id` is 0) with a close frame `code`/`reason`, after
  // what is already queued for it; `done` gets how many were closed (a
  // connection of another user is not touched).
  virtual void Disconnect(int64_t user_id, ConnectionId id, uint16_t code,
                          std::string reason, CountCallback done) = 0;
};

}  // namespace herald::push
