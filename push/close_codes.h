#pragma once

#include <cstdint>

namespace herald::push {

// WebSocket close codes herald sends; the README documents each one.
enum CloseCode : uint16_t {
  kCloseNormal = 1000,
  kCloseGoingAway = 1001,  // server shutting down
  kCloseProtocolError = 1002,
  kCloseInvalidPayload = 1007,  // a close reason that is not UTF-8
  kCloseMessageTooBig = 1009,
  kCloseTryAgainLater = 1013,  // admission not answered (in time)
  kCloseBadRequest = 4000,
  kCloseUnknownToken = 4001,
  kCloseNoVoiceGrant = 4003,
  kCloseSessionClosed = 4004,
  kCloseReplaced = 4005,
  kCloseRemovedFromVoice = 4006,
  kCloseTooSlow = 4008,
  kClosePingTimeout = 4009,
  kCloseTooManyConnections = 4029,
};

}  // namespace herald::push
