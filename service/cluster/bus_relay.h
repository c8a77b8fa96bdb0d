#pragma once

#include <memory>

#include "service/redis/redis_client.h"

namespace herald::service::cluster {

// RedisClient::Start takes its handlers, but the ClusterBus that handles
// them needs the started client: the relay comes first and forwards to the
// bus once the bus attached itself. Wiring (HeraldApp):
//
//   auto relay = std::make_shared<BusRelay>();
//   auto redis = redis::RedisClient::Start(options, relay->Handlers());
//   ClusterState state(*redis, limits);
//   ClusterBus bus(*redis, state, push_server, bus_options, *relay);
//
// Connects reported before the bus attached are counted, so the bus still
// tells the first connect from a reconnect. Nothing is subscribed before
// the bus starts, so no message can arrive before it attached.
//
// Threading: the handlers and Attach/Detach run on the bus thread (Detach
// also once the RedisClient stopped).
class BusRelay : public std::enable_shared_from_this<BusRelay> {
 public:
  // For RedisClient::Start; they keep the relay alive.
  redis::RedisHandlers Handlers();

  // `on_connected(reconnect)`: reconnect is false for the first connect.
  struct Target {
    absl::AnyInvocable<void(std::string_view channel, std::string_view payload)>
        on_message;
    absl::AnyInvocable<void(bool reconnect)> on_connected;
    absl::AnyInvocable<void(const absl::Status& why)> on_disconnected;
  };
  // Reports a connect already seen as on_connected(false).
  void Attach(Target target);
  void Detach();

 private:
  void OnMessage(std::string_view channel, std::string_view payload);
  void OnConnected();
  void OnDisconnected(const absl::Status& why);

  Target target_;
  bool attached_ = false;
  int connects_ = 0;
  bool connected_ = false;
};

}  // namespace herald::service::cluster
