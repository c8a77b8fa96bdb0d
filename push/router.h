#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "push/connection_id.h"
#include "push/delivery.h"

namespace herald::push {

// The narrow interface the control plane (service/) uses to reach clients.
// Every method is thread-safe, never blocks, and hands the work to the I/O
// threads; calls made one after another from one thread take effect in the
// same order on every connection.
class Router {
 public:
  using RoutedCallback = absl::AnyInvocable<void(uint32_t recipients) &&>;

  virtual ~Router() = default;

  // Frames delivery.payload once and queues it for every recipient
  // connection. `done` runs (on an I/O thread) once it is queued everywhere,
  // with the number of connections it was queued for.
  virtual void Route(Delivery delivery, RoutedCallback done) = 0;

  // Closes the main and voice connections of `user_id` that were admitted
  // on session key `token` (the Gate's Admission::session_key; every
  // session when empty) with a close frame.
  virtual void CloseUser(int64_t user_id, std::string token, uint16_t code,
                         std::string reason) = 0;

  // Closes one connection (main or voice), if it is still open.
  virtual void CloseConnection(ConnectionId id, uint16_t code,
                               std::string reason) = 0;
};

}  // namespace herald::push
