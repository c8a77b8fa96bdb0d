#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace herald::service {

// Request parsing for the gRPC methods herald takes as raw bytes.
// Protobuf rejects a whole message when a string field is not UTF-8, and
// gRPC then answers UNIMPLEMENTED with no detail; parsing here instead lets
// herald answer INVALID_ARGUMENT naming the field, as it does for every
// other bad input. Stateless; any thread.

// Parses `buffer` into `message`. Errors are INVALID_ARGUMENT:
// "message_created.text: not valid UTF-8", or "request: malformed
// protobuf".
absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message* message);

// The path of the first string field of `descriptor` (recursing into
// message fields) whose bytes in `wire` are not UTF-8, e.g.
// "message_created.text"; nullopt if there is none or `wire` is not
// parseable.
std::optional<std::string> FindInvalidUtf8Field(
    const google::protobuf::Descriptor* descriptor, std::string_view wire);

// Serializes `message` into `buffer`.
void SerializeResponse(const google::protobuf::Message& message,
                       grpc::ByteBuffer* buffer);

}  // namespace herald::service
