#include "service/wire_codec.h"

#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "service/validator.h"

namespace herald::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

std::optional<std::string> Find(const Descriptor* descriptor,
                                const std::string& wire, int depth) {
  if (depth > 8) return std::nullopt;
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return std::nullopt;
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* fd = descriptor->FindFieldByNumber(field.number());
    if (fd == nullptr) continue;
    const std::string& bytes = field.length_delimited();
    if (fd->type() == FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(bytes)) return fd->name();
    } else if (fd->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (auto inner = Find(fd->message_type(), bytes, depth + 1)) {
        return fd->name() + "." + *inner;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindInvalidUtf8Field(const Descriptor* descriptor,
                                                std::string_view wire) {
  return Find(descriptor, std::string(wire), 0);
}

absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message* message) {
  std::vector<grpc::Slice> slices;
  std::string wire;
  if (buffer.Dump(&slices).ok()) {
    wire.reserve(buffer.Length());
    for (const auto& slice : slices) {
      wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (message->ParseFromString(wire)) return absl::OkStatus();
  if (auto field = FindInvalidUtf8Field(message->GetDescriptor(), wire)) {
    return absl::InvalidArgumentError(*field + ": not valid UTF-8");
  }
  return absl::InvalidArgumentError("request: malformed protobuf");
}

void SerializeResponse(const google::protobuf::Message& message,
                       grpc::ByteBuffer* buffer) {
  const std::string wire = message.SerializeAsString();
  grpc::Slice slice(wire);
  *buffer = grpc::ByteBuffer(&slice, 1);
}

}  // namespace herald::service
