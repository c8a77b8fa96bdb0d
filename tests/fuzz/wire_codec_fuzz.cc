// libFuzzer target: the gRPC wire codec (service/wire_codec.h) on arbitrary
// request bytes, as herald receives them from any gRPC client.
//
// Input: byte 0 picks the request type, byte 1 where the bytes are split
// into two grpc::Slices (gRPC hands over a message in several slices); the
// rest is the message. Checked, beyond not crashing:
// - ParseRequest answers OK or INVALID_ARGUMENT "FIELD: not valid UTF-8" /
//   "request: malformed protobuf", and FIELD is a path of string fields of
//   the request type;
// - a parsed request survives SerializeResponse + ParseRequest unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "herald/v1/herald.pb.h"
#include "service/wire_codec.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "wire_codec_fuzz: invariant violated: %s\n", what);
    abort();
  }
}

std::unique_ptr<Message> NewRequest(uint8_t selector) {
  namespace v1 = herald::v1;
  switch (selector % 8) {
    case 0:
      return std::make_unique<v1::PublishRequest>();
    case 1:
      return std::make_unique<v1::OpenSessionRequest>();
    case 2:
      return std::make_unique<v1::CloseSessionRequest>();
    case 3:
      return std::make_unique<v1::SetMembershipsRequest>();
    case 4:
      return std::make_unique<v1::GetMembershipsRequest>();
    case 5:
      return std::make_unique<v1::JoinVoiceRequest>();
    case 6:
      return std::make_unique<v1::LeaveVoiceRequest>();
    default:
      return std::make_unique<v1::GetVoiceStateRequest>();
  }
}

// Whether `path` ("a.b.c") names string field c of message field b of
// message field a of `descriptor`.
bool IsStringFieldPath(const Descriptor* descriptor, std::string_view path) {
  while (true) {
    const size_t dot = path.find('.');
    const FieldDescriptor* fd =
        descriptor->FindFieldByName(std::string(path.substr(0, dot)));
    if (fd == nullptr) return false;
    if (dot == std::string_view::npos) {
      return fd->type() == FieldDescriptor::TYPE_STRING;
    }
    if (fd->type() != FieldDescriptor::TYPE_MESSAGE) return false;
    descriptor = fd->message_type();
    path.remove_prefix(dot + 1);
  }
}

grpc::ByteBuffer Buffer(std::string_view wire, size_t split) {
  split = split <= wire.size() ? split : wire.size();
  grpc::Slice slices[2] = {
      grpc::Slice(wire.data(), split),
      grpc::Slice(wire.data() + split, wire.size() - split)};
  return grpc::ByteBuffer(slices, 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::unique_ptr<Message> request = NewRequest(data[0]);
  const std::string_view wire(reinterpret_cast<const char*>(data + 2),
                              size - 2);
  const grpc::ByteBuffer buffer = Buffer(wire, data[1]);

  const absl::Status status =
      herald::service::ParseRequest(buffer, request.get());
  const Descriptor* descriptor = request->GetDescriptor();
  if (!status.ok()) {
    Check(status.code() == absl::StatusCode::kInvalidArgument,
          "error code is INVALID_ARGUMENT");
    const std::string_view message(status.message().data(),
                                   status.message().size());
    constexpr std::string_view kUtf8 = ": not valid UTF-8";
    if (message != "request: malformed protobuf") {
      Check(message.size() > kUtf8.size() && message.ends_with(kUtf8),
            "error message is malformed protobuf or FIELD: not valid UTF-8");
      Check(IsStringFieldPath(descriptor,
                              message.substr(0, message.size() - kUtf8.size())),
            "the UTF-8 error names a string field path");
    }
    return 0;
  }

  // What herald parsed, serialized and parsed again, is the same request.
  grpc::ByteBuffer out;
  herald::service::SerializeResponse(*request, &out);
  std::unique_ptr<Message> again = NewRequest(data[0]);
  Check(herald::service::ParseRequest(out, again.get()).ok(),
        "a serialized request parses");
  Check(again->SerializeAsString() == request->SerializeAsString(),
        "serialize + parse is the identity");
  return 0;
}
