#include "service/herald_service.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "push/close_codes.h"
#include "service/clock.h"
#include "service/publish_stream_reactor.h"
#include "service/translator.h"
#include "service/wire_codec.h"

namespace herald::service {
namespace {

using Kind = push::MembershipChange::Kind;

// Finishes `reactor` on `executor` when the countdown completes.
std::shared_ptr<Countdown> ReplyWhenDone(ControlExecutor& executor,
                                         grpc::ServerUnaryReactor* reactor) {
  return Countdown::Create([&executor, reactor](absl::Status status) {
    executor.Post([reactor, status = std::move(status)] {
      reactor->Finish(ToGrpcStatus(status));
    });
  });
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

HeraldService::HeraldService(Registry& registry, VoiceCoordinator& voice,
                             push::Router& router, ControlExecutor& executor,
                             ValidationLimits limits)
    : registry_(registry),
      voice_(voice),
      router_(router),
      executor_(executor),
      validator_(limits) {}

absl::Status HeraldService::Dispatch(const v1::PublishRequest& req,
                                     Countdown& countdown,
                                     std::function<void(uint32_t)> on_routed) {
  push::Delivery d;
  d.payload = Translator::ToJson(req);
  d.users.assign(req.visible_to().begin(), req.visible_to().end());
  // Side effects that must follow the delivery on every connection.
  absl::AnyInvocable<void()> after_route;
  switch (req.event_case()) {
    case v1::PublishRequest::kMessageCreated:
      d.server_id = req.message_created().server_id();
      break;
    case v1::PublishRequest::kMessageEdited:
      d.server_id = req.message_edited().server_id();
      break;
    case v1::PublishRequest::kMessageDeleted:
      d.server_id = req.message_deleted().server_id();
      break;
    case v1::PublishRequest::kChannelCreated:
      d.server_id = req.channel_created().server_id();
      break;
    case v1::PublishRequest::kChannelEdited:
      d.server_id = req.channel_edited().server_id();
      break;
    case v1::PublishRequest::kChannelDeleted: {
      const int64_t server = req.channel_deleted().server_id();
      const int64_t channel = req.channel_deleted().id();
      d.server_id = server;
      after_route = [this, server, channel, part = countdown.Part()]() mutable {
        voice_.EndForChannel(server, channel, std::move(part));
      };
      break;
    }
    case v1::PublishRequest::kServerEdited:
      d.server_id = req.server_edited().id();
      break;
    case v1::PublishRequest::kServerDeleted: {
      const int64_t server = req.server_deleted().id();
      d.server_id = server;
      d.after.push_back({Kind::kDropServer, 0, server});
      registry_.DropServer(server, countdown.Part());
      after_route = [this, server, part = countdown.Part()]() mutable {
        voice_.EndForServer(server, std::move(part));
      };
      break;
    }
    case v1::PublishRequest::kUserJoined: {
      const int64_t user = req.user_joined().id();
      const int64_t server = req.user_joined().server_id();
      d.server_id = server;
      d.before.push_back({Kind::kAdd, user, server});
      // Refused over a membership limit before anything is delivered.
      absl::StatusOr<bool> added =
          registry_.AddMembership(user, server, countdown.Part());
      if (!added.ok()) {
        return absl::Status(
            added.status().code(),
            absl::StrCat("user_joined: ", added.status().message()));
      }
      break;
    }
    case v1::PublishRequest::kUserLeft: {
      const int64_t user = req.user_left().id();
      const int64_t server = req.user_left().server_id();
      d.server_id = server;
      d.after.push_back({Kind::kRemove, user, server});
      registry_.RemoveMembership(user, server, countdown.Part());
      after_route = [this, user, server, part = countdown.Part()]() mutable {
        voice_.EndForUserInServer(user, server, std::move(part));
      };
      break;
    }
    case v1::PublishRequest::kGotServerOwner:
      d.server_id = 0;
      d.users.assign(1, req.got_server_owner().user_id());
      break;
    default:  // presence events and "no event" never pass validation
      return absl::OkStatus();
  }
  publish_stats_.CountEvent(Translator::EventName(req));
  router_.Route(std::move(d), [this, start = std::chrono::steady_clock::now(),
                               on_routed = std::move(on_routed),
                               part = countdown.Part()](uint32_t n) mutable {
    publish_stats_.ObserveQueued(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    if (on_routed) on_routed(n);
    std::move(part)(absl::OkStatus());
  });
  if (after_route) after_route();
  return absl::OkStatus();
}

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
  auto recipients = std::make_shared<std::atomic<uint32_t>>(0);
  auto countdown =
      Countdown::Create([response, recipients, reply = std::move(reply)](
                            absl::Status status) mutable {
        if (status.ok()) response->set_recipients(recipients->load());
        std::move(reply)(status);
      });
  absl::Status refused = Dispatch(
      request, *countdown, [recipients](uint32_t n) { recipients->store(n); });
  if (!refused.ok()) {
    countdown->Abort(std::move(refused));
    return;
  }
  countdown->Arm();
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
  const int64_t now = NowMicros();
  int64_t expires_at_us = 0;
  if (request.has_expires_at()) {
    expires_at_us = ToMicros(request.expires_at());
    if (expires_at_us <= now) {
      std::move(reply)(
          absl::InvalidArgumentError("expires_at: must be in the future"));
      return;
    }
  }
  const std::string& token = request.token();
  auto previous = registry_.LookupToken(token, now);
  auto countdown = Countdown::Create(std::move(reply));
  absl::Status st = registry_.OpenSession(token, request.user_id(),
                                          expires_at_us, countdown->Part());
  if (!st.ok()) {
    countdown->Abort(st);  // the part will never complete
    return;
  }
  if (previous && previous->user_id != request.user_id()) {
    // The token now names another user: its old sockets must not stay.
    router_.CloseUser(previous->user_id, registry_.SessionKey(token),
                      push::kCloseSessionClosed, "session closed");
  }
  countdown->Arm();
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
  auto countdown = Countdown::Create(std::move(reply));
  auto removed = registry_.CloseSession(request.token(), countdown->Part());
  response->set_existed(removed.has_value());
  if (removed) {
    router_.CloseUser(removed->user_id, registry_.SessionKey(request.token()),
                      push::kCloseSessionClosed, "session closed");
  }
  countdown->Arm();
}

grpc::ServerUnaryReactor* HeraldService::SetMemberships(
    grpc::CallbackServerContext* context,
    const v1::SetMembershipsRequest* request,
    v1::SetMembershipsResponse* response) {
  if (auto st = validator_.ValidateSetMemberships(*request); !st.ok()) {
    return Reject(context, st);
  }
  const int64_t user = request->user_id();
  auto* reactor = context->DefaultReactor();
  auto countdown = ReplyWhenDone(executor_, reactor);
  auto diff = registry_.SetMemberships(
      user,
      std::vector<int64_t>(request->server_ids().begin(),
                           request->server_ids().end()),
      countdown->Part());
  if (!diff.ok()) {
    countdown->Abort(diff.status());  // the part will never complete
    return reactor;
  }
  if (!diff->added.empty() || !diff->removed.empty()) {
    push::Delivery d;  // no payload: membership changes only
    for (int64_t s : diff->added) d.before.push_back({Kind::kAdd, user, s});
    for (int64_t s : diff->removed) {
      d.before.push_back({Kind::kRemove, user, s});
    }
    router_.Route(std::move(d), [part = countdown->Part()](uint32_t) mutable {
      std::move(part)(absl::OkStatus());
    });
    for (int64_t s : diff->removed) {
      voice_.EndForUserInServer(user, s, countdown->Part());
    }
  }
  countdown->Arm();
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::GetMemberships(
    grpc::CallbackServerContext* context,
    const v1::GetMembershipsRequest* request,
    v1::GetMembershipsResponse* response) {
  if (auto st = validator_.ValidateGetMemberships(*request); !st.ok()) {
    return Reject(context, st);
  }
  for (int64_t s : registry_.ServersOf(request->user_id())) {
    response->add_server_ids(s);
  }
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::JoinVoice(
    grpc::CallbackServerContext* context, const v1::JoinVoiceRequest* request,
    v1::JoinVoiceResponse* response) {
  if (auto st = validator_.ValidateJoinVoice(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  auto countdown = ReplyWhenDone(executor_, reactor);
  voice_.Grant(request->user_id(), request->server_id(), request->channel_id(),
               countdown->Part());
  countdown->Arm();
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::LeaveVoice(
    grpc::CallbackServerContext* context, const v1::LeaveVoiceRequest* request,
    v1::LeaveVoiceResponse* response) {
  if (auto st = validator_.ValidateLeaveVoice(*request); !st.ok()) {
    return Reject(context, st);
  }
  auto* reactor = context->DefaultReactor();
  auto countdown = ReplyWhenDone(executor_, reactor);
  response->set_existed(voice_.Leave(request->user_id(), countdown->Part()));
  countdown->Arm();
  return reactor;
}

grpc::ServerUnaryReactor* HeraldService::GetVoiceState(
    grpc::CallbackServerContext* context,
    const v1::GetVoiceStateRequest* request,
    v1::GetVoiceStateResponse* response) {
  if (auto st = validator_.ValidateGetVoiceState(*request); !st.ok()) {
    return Reject(context, st);
  }
  for (const auto& [channel, users] : voice_.State(request->server_id())) {
    auto* c = response->add_channels();
    c->set_channel_id(channel);
    for (int64_t u : users) c->add_user_ids(u);
  }
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace herald::service
