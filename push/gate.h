#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "push/connection_id.h"

namespace herald::push {

// Why a connection is refused or closed: a WebSocket close code and a
// human-readable reason (at most 123 bytes).
struct Refusal {
  uint16_t code = 0;
  std::string reason;
};

// `session_key` names the session a connection was admitted on: an opaque,
// non-empty string chosen by the gate (herald's keyed hash of the token), so
// the connection need not keep the token. Router::CloseUser matches it.
struct MainAdmission {
  int64_t user_id = 0;
  std::vector<int64_t> server_ids;  // the user's memberships right now
  std::string session_key;
};

struct VoiceAdmission {
  int64_t user_id = 0;
  int64_t server_id = 0;
  int64_t channel_id = 0;
  std::string session_key;
};

// Admission decisions, made by the control plane for the push layer.
//
// Asynchronous: a method may complete `done` inline (before it returns) or
// later on any thread (a cluster node asks Redis). The connection moves the
// completion to its own I/O thread with boost::asio::post on its worker's
// io_context, so a completion and the Router calls made after it from the
// same thread reach that worker in that order. A connection that closed
// meanwhile (handshake timeout, peer gone) drops the completion; for a
// voice admission it then calls OnVoiceClosed(id) itself, for a main one
// OnMainClosed(id, user). Implementations are thread-safe and never block
// the calling I/O thread on I/O.
class Gate {
 public:
  using MainDone =
      absl::AnyInvocable<void(std::variant<MainAdmission, Refusal>) &&>;
  using VoiceDone =
      absl::AnyInvocable<void(std::variant<VoiceAdmission, Refusal>) &&>;

  virtual ~Gate() = default;

  // A main-socket connection `id` presented `token`.
  virtual void AdmitMain(std::string_view token, ConnectionId id,
                         MainDone done) = 0;

  // A voice-socket connection `id` presented `token` and `channel_id`.
  // Admitted means present: the gate records the presence.
  virtual void AdmitVoice(std::string_view token, int64_t channel_id,
                          ConnectionId id, VoiceDone done) = 0;

  // An admitted main connection of `user_id` ended (for any reason),
  // including one whose admission completed after it closed.
  virtual void OnMainClosed(ConnectionId id, int64_t user_id) = 0;

  // An admitted voice connection ended (for any reason).
  virtual void OnVoiceClosed(ConnectionId id) = 0;
};

}  // namespace herald::push
