#include "service/admin_service.h"

#include <memory>
#include <utility>
#include <vector>

#include "service/admin_validation.h"
#include "service/herald_service.h"
#include "service/wire_codec.h"

namespace herald::service {
namespace {

void SetTimestamp(std::chrono::system_clock::time_point t,
                  google::protobuf::Timestamp* out) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      t.time_since_epoch())
                      .count();
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

AdminService::AdminService(push::ConnectionDirectory& directory,
                           const StatsSource& stats, ControlExecutor& executor,
                           Settings settings)
    : directory_(directory),
      stats_(stats),
      executor_(executor),
      settings_(std::move(settings)) {}

void AdminService::Fill(const push::ConnectionSnapshot& snap,
                        v1::ConnectionInfo* out) const {
  out->set_connection_id(snap.id);
  out->set_user_id(snap.user_id);
  out->set_node(settings_.node);
  out->set_socket(snap.voice ? v1::SOCKET_VOICE : v1::SOCKET_MAIN);
  out->set_peer_address(snap.peer_address);
  SetTimestamp(snap.admitted_at, out->mutable_connected_since());
  out->set_queue_bytes(snap.queue_bytes);
  out->set_transport(snap.tls ? "wss" : "ws");
  out->set_channel_id(snap.voice ? snap.channel_id : 0);
}

grpc::ServerUnaryReactor* AdminService::ListConnections(
    grpc::CallbackServerContext* context,
    const v1::ListConnectionsRequest* request,
    v1::ListConnectionsResponse* response) {
  if (auto st = ValidateListConnections(*request); !st.ok()) {
    return FinishNow(context, st);
  }
  auto* reactor = context->DefaultReactor();
  directory_.ListConnections(
      request->user_id(), settings_.max_listed,
      [this, reactor, response](std::vector<push::ConnectionSnapshot> found,
                                size_t total) {
        executor_.Post(
            [this, reactor, response, found = std::move(found), total] {
              for (const auto& snap : found)
                Fill(snap, response->add_connections());
              response->set_truncated(total > found.size());
              reactor->Finish(grpc::Status::OK);
            });
      });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::Disconnect(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
    grpc::ByteBuffer* out) {
  v1::DisconnectRequest request;
  if (auto st = ParseRequest(*in, &request); !st.ok()) {
    return FinishNow(context, st);
  }
  if (auto st = ValidateDisconnect(request); !st.ok()) {
    return FinishNow(context, st);
  }
  auto* reactor = context->DefaultReactor();
  directory_.Disconnect(
      request.user_id(), request.connection_id(),
      static_cast<uint16_t>(request.code()), request.reason(),
      [this, reactor, out](size_t count) {
        executor_.Post([reactor, out, count] {
          v1::DisconnectResponse response;
          response.set_disconnected(static_cast<uint32_t>(count));
          SerializeResponse(response, out);
          reactor->Finish(grpc::Status::OK);
        });
      });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetStats(
    grpc::CallbackServerContext* context, const v1::GetStatsRequest* request,
    v1::GetStatsResponse* response) {
  stats_.Read(response);
  return FinishNow(context, absl::OkStatus());
}

}  // namespace herald::service
