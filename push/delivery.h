#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace herald::push {

// A membership change every worker applies to its local main-socket
// connections, in order with the deliveries around it.
struct MembershipChange {
  enum class Kind { kAdd, kRemove, kDropServer };
  Kind kind = Kind::kAdd;
  int64_t user_id = 0;  // unused by kDropServer
  int64_t server_id = 0;
};

// One event for the main sockets, with its audience. Built by the control
// plane, consumed once by the router. Plain data: no thread affinity.
struct Delivery {
  // Compact JSON text of the envelope; framed once by the push layer. Empty:
  // nothing is sent, only the membership changes are applied.
  std::string payload;
  // Audience. server_id != 0: the members of that server, narrowed to
  // `users` when `users` is non-empty. server_id == 0: every main connection
  // of each user in `users`. A user listed twice still gets each frame
  // once (the router removes duplicates).
  int64_t server_id = 0;
  std::vector<int64_t> users;
  // Applied by each worker right before / right after queuing the frame.
  std::vector<MembershipChange> before;
  std::vector<MembershipChange> after;
};

}  // namespace herald::push
