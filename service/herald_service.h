#pragma once

#include <cstdint>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "herald/v1/herald.grpc.pb.h"
#include "push/router.h"
#include "service/control_executor.h"
#include "service/control_plane.h"
#include "service/local_control_plane.h"
#include "service/registry.h"
#include "service/validator.h"
#include "service/voice_coordinator.h"

namespace herald::service {

// Converts an absl::Status to the gRPC status sent to the caller.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The methods whose requests carry strings are taken as raw bytes and
// parsed by ParseRequest, so invalid UTF-8 is reported by field name.
using HeraldServiceBase = v1::Herald::WithRawCallbackMethod_Publish<
    v1::Herald::WithRawCallbackMethod_PublishStream<
        v1::Herald::WithRawCallbackMethod_OpenSession<
            v1::Herald::WithRawCallbackMethod_CloseSession<
                v1::Herald::CallbackService>>>>;

// The herald.v1.Herald gRPC API, a thin adapter: every method validates
// its request (Validator; the expiry of OpenSession too) and hands it to the
// ControlPlane; none blocks: replies are sent from the control plane's
// completions.
//
// Thread-safe: gRPC calls it on its own threads, concurrently. Replies that
// wait for the control plane (routing on a push worker, a commit on the
// SQLite writer) are sent from `executor`, never from the completing thread;
// an invalid request is answered at once.
class HeraldService final : public HeraldServiceBase {
 public:
  // Sends the reply of one call; the response is complete when it runs.
  using Reply = absl::AnyInvocable<void(const absl::Status&) &&>;

  HeraldService(ControlPlane& control, ControlExecutor& executor,
                ValidationLimits limits);
  // Over its own LocalControlPlane (publish metrics not counted).
  HeraldService(Registry& registry, VoiceCoordinator& voice,
                push::Router& router, ControlExecutor& executor,
                ValidationLimits limits);

  const Validator& validator() const { return validator_; }
  ControlPlane& control() { return control_; }
  ControlExecutor& executor() { return executor_; }

  // The typed bodies of the raw methods.
  void DoPublish(const v1::PublishRequest& request,
                 v1::PublishResponse* response, Reply reply);
  void DoOpenSession(const v1::OpenSessionRequest& request,
                     v1::OpenSessionResponse* response, Reply reply);
  void DoCloseSession(const v1::CloseSessionRequest& request,
                      v1::CloseSessionResponse* response, Reply reply);

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* PublishStream(
      grpc::CallbackServerContext* context,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* OpenSession(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* CloseSession(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* SetMemberships(
      grpc::CallbackServerContext* context,
      const v1::SetMembershipsRequest* request,
      v1::SetMembershipsResponse* response) override;
  grpc::ServerUnaryReactor* GetMemberships(
      grpc::CallbackServerContext* context,
      const v1::GetMembershipsRequest* request,
      v1::GetMembershipsResponse* response) override;
  grpc::ServerUnaryReactor* JoinVoice(grpc::CallbackServerContext* context,
                                      const v1::JoinVoiceRequest* request,
                                      v1::JoinVoiceResponse* response) override;
  grpc::ServerUnaryReactor* LeaveVoice(
      grpc::CallbackServerContext* context,
      const v1::LeaveVoiceRequest* request,
      v1::LeaveVoiceResponse* response) override;
  grpc::ServerUnaryReactor* GetVoiceState(
      grpc::CallbackServerContext* context,
      const v1::GetVoiceStateRequest* request,
      v1::GetVoiceStateResponse* response) override;

 private:
  // Set by the second constructor only.
  std::unique_ptr<LocalControlPlane> own_control_;
  ControlPlane& control_;
  ControlExecutor& executor_;
  Validator validator_;
};

}  // namespace herald::service
