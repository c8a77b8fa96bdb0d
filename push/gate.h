#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

// Admission decisions, made by the control plane for the push layer. Called
// on the I/O thread that owns the connection; implementations are
// thread-safe and never block on I/O (a short lock is fine).
class Gate {
 public:
  virtual ~Gate() = default;

  // A main-socket connection presented `token`.
  virtual std::variant<MainAdmission, Refusal> AdmitMain(
      std::string_view token) = 0;

  // A voice-socket connection `id` presented `token` and `channel_id`.
  // Admitted means present: the gate records the presence.
  virtual std::variant<VoiceAdmission, Refusal> AdmitVoice(
      std::string_view token, int64_t channel_id, ConnectionId id) = 0;

  // An admitted voice connection ended (for any reason).
  virtual void OnVoiceClosed(ConnectionId id) = 0;
};

}  // namespace herald::push
