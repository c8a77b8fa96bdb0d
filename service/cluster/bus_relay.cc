#include "service/cluster/bus_relay.h"

#include <utility>

namespace herald::service::cluster {

redis::RedisHandlers BusRelay::Handlers() {
  std::shared_ptr<BusRelay> self = shared_from_this();
  redis::RedisHandlers handlers;
  handlers.on_message = [self](std::string_view channel,
                               std::string_view payload) {
    self->OnMessage(channel, payload);
  };
  handlers.on_connected = [self] { self->OnConnected(); };
  handlers.on_disconnected = [self](const absl::Status& why) {
    self->OnDisconnected(why);
  };
  return handlers;
}

void BusRelay::Attach(Target target) {
  target_ = std::move(target);
  attached_ = true;
  if (connected_ && target_.on_connected) target_.on_connected(false);
}

void BusRelay::Detach() {
  attached_ = false;
  target_ = Target();
}

void BusRelay::OnMessage(std::string_view channel, std::string_view payload) {
  if (attached_ && target_.on_message) target_.on_message(channel, payload);
}

void BusRelay::OnConnected() {
  ++connects_;
  connected_ = true;
  if (attached_ && target_.on_connected) target_.on_connected(connects_ > 1);
}

void BusRelay::OnDisconnected(const absl::Status& why) {
  connected_ = false;
  if (attached_ && target_.on_disconnected) target_.on_disconnected(why);
}

}  // namespace herald::service::cluster
