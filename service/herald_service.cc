#include "service/herald_service.h"

#include <memory>
#include <utility>
#include <vector>

#include "service/clock.h"
#include "service/publish_stream_reactor.h"
#include "service/wire_codec.h"

namespace herald::service {
namespace {

// Finishes `reactor` with the status it is called with, on `executor`.
ControlPlane::Done FinishOn(ControlExecutor& executor,
                            grpc::ServerUnaryReactor* reactor) {
  return [&executor, reactor](absl::Status status) {
    executor.Post([reactor, status = std::move(status)] {
      reactor->Finish(ToGrpcStatus(status));
    });
  };
}

grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context,
                                 const absl::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Runs one raw unary call: parses the request, runs the typed body (a
// HeraldService::Do* method), and serializes the response when it replies.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* RunRaw(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
    grpc::ByteBuffer* out, HeraldService* service,
    void (HeraldService::*body)(const Request&, Response*,
                                HeraldService::Reply)) {
  struct Call {
    Request request;
    Response response;
  };
  auto* reactor = context->DefaultReactor();
  auto call = std::make_shared<Call>();
  if (auto st = ParseRequest(*in, &call->request); !st.ok()) {
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  }
  // The reply may come from a push worker or the SQLite writer: it is sent
  // from the control executor.
  (service->*body)(call->request, &call->response,
                   [reactor, out, call,
                    &executor = service->executor()](const absl::Status& st) {
                     executor.Post([reactor, out, call, st] {
                       if (st.ok()) SerializeResponse(call->response, out);
                       reactor->Finish(ToGrpcStatus(st));
                     });
                   });
  return reactor;
}

int64_t ToMicros(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

HeraldService::HeraldService(ControlPlane& control, ControlExecutor& executor,
                             ValidationLimits limits)
    : control_(control), executor_(executor), validator_(limits) {}

HeraldService::HeraldService(Registry& registry, VoiceCoordinator& voice,
                             push::Router& router, ControlExecutor& executor,
                             ValidationLimits limits)
    : own_control_(
          std::make_unique<LocalControlPlane>(registry, voice, router)),
      control_(*own_control_),
      executor_(executor),
      validator_(limits) {}

grpc::ServerUnaryReactor* HeraldService::Publish(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RunRaw(context, request, response, this, &HeraldService::DoPublish);
}

void HeraldService::DoPublish(const v1::PublishRequest& request,
                              v1::PublishResponse* response, Reply reply) {
  if (auto st = validator_.ValidatePublish(request); !st.ok()) {
    std::move(reply)(st);
    return;
  }
  control_.Publish(request, [response, reply = std::move(reply)](
                                absl::StatusOr<uint32_t> recipients) mutable {
    if (recipients.ok()) response->set_recipients(*recipients);
    std::move(reply)(recipients.status());
  });
}

grpc::ServerReadReactor<grpc::ByteBuffer>* HeraldService::PublishStream(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* response) {
  return new PublishStreamReactor(*this, response);
}

grpc::ServerUnaryReactor* HeraldService::OpenSession(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RunRaw(context, request, response, this,
                &HeraldService::DoOpenSession);
}

void HeraldService::DoOpenSession(const v1::OpenSessionRequest& request,
                                  v1::OpenSessionResponse* response,
                                  Reply reply) {
  if (auto st = validator_.ValidateOpenSession(request); !st.ok()) {
    std::move(reply)(st);
    return;
  }
  int64_t expires_at_us = 0;
  if (request.has_expires_at()) {
    expires_at_us = ToMicros(request.expires_at());
    if (expires_at_us <= NowMicros()) {
      std::move(reply)(
          absl::InvalidArgumentError("expires_at: must be in the future"));
      return;
    }
  }
  control_.OpenSession(request.token(), request.user_id(), expires_at_us,
                       [reply = std::move(reply)](absl::Status st) mutable {
                         std::move(reply)(st);
                       });
}

grpc::ServerUnaryReactor* HeraldService::CloseSession(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return RunRaw(context, request, response, this,
                &HeraldService::DoCloseSession);
}

void HeraldService::DoCloseSession(const v1::CloseSessionRequest& request,
                                   v1::CloseSessionResponse* response,
                                   Reply reply) {
  if (auto st = validator_.ValidateCloseSession(request); !st.ok()) {
    std::move(reply)(st);
    return;
  }
  control_.CloseSession(request.token(),
                        [response, reply = std::move(reply)](
                            absl::StatusOr<bool> existed) mutable {
                          if (existed.ok()) response->set_existed(*existed);
                          std::move(reply)(existed.status());
                        });
}

grpc::ServerUnaryReactor* HeraldService::SetMemberships(
    grpc::CallbackServerContext* context,
    const v1::SetMembershipsRequest* request,
    v1::SetMembershipsResponse* response) {
  if (auto st = validator_.ValidateSetMemberships(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  control_.SetMemberships(request->user_id(),
                          std::vector<int64_t>(request->server_ids().begin(),
                                               request->server_ids().end()),
                          FinishOn(executor_, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::GetMemberships(
    grpc::CallbackServerContext* context,
    const v1::GetMembershipsRequest* request,
    v1::GetMembershipsResponse* response) {
  if (auto st = validator_.ValidateGetMemberships(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  control_.GetMemberships(
      request->user_id(),
      [response, finish = FinishOn(executor_, reactor)](
          absl::StatusOr<std::vector<int64_t>> servers) mutable {
        if (servers.ok()) {
          for (int64_t s : *servers) response->add_server_ids(s);
        }
        std::move(finish)(servers.status());
      });
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::JoinVoice(
    grpc::CallbackServerContext* context, const v1::JoinVoiceRequest* request,
    v1::JoinVoiceResponse* response) {
  if (auto st = validator_.ValidateJoinVoice(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  control_.JoinVoice(request->user_id(), request->server_id(),
                     request->channel_id(), FinishOn(executor_, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::LeaveVoice(
    grpc::CallbackServerContext* context, const v1::LeaveVoiceRequest* request,
    v1::LeaveVoiceResponse* response) {
  if (auto st = validator_.ValidateLeaveVoice(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  control_.LeaveVoice(request->user_id(),
                      [response, finish = FinishOn(executor_, reactor)](
                          absl::StatusOr<bool> existed) mutable {
                        if (existed.ok()) response->set_existed(*existed);
                        std::move(finish)(existed.status());
                      });
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::GetVoiceState(
    grpc::CallbackServerContext* context,
    const v1::GetVoiceStateRequest* request,
    v1::GetVoiceStateResponse* response) {
  if (auto st = validator_.ValidateGetVoiceState(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  control_.GetVoiceState(
      request->server_id(),
      [response, finish = FinishOn(executor_, reactor)](
          absl::StatusOr<ControlPlane::VoiceChannels> channels) mutable {
        if (channels.ok()) {
          for (const auto& [channel, users] : *channels) {
            auto* c = response->add_channels();
            c->set_channel_id(channel);
            for (int64_t u : users) c->add_user_ids(u);
          }
        }
        std::move(finish)(channels.status());
      });
  return reactor;
}

}  // namespace herald::service
