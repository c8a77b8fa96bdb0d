#include "service/wire_codec.h"

#include <string>

#include "gtest/gtest.h"
#include "herald/v1/herald.pb.h"

namespace herald::service {
namespace {

// Serializes `request` with `bad` spliced over the text of its string field
// `value` (same length), producing wire bytes protobuf itself refuses.
std::string Corrupt(const google::protobuf::Message& request,
                    const std::string& value, const std::string& bad) {
  std::string wire = request.SerializeAsString();
  const size_t at = wire.find(value);
  EXPECT_NE(at, std::string::npos);
  wire.replace(at, bad.size(), bad);
  return wire;
}

grpc::ByteBuffer Buffer(const std::string& wire) {
  grpc::Slice slice(wire);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(WireCodecTest, ParsesValidRequests) {
  v1::PublishRequest in;
  in.mutable_message_created()->set_text("привет 👋");
  in.add_visible_to(3);
  v1::PublishRequest out;
  ASSERT_TRUE(ParseRequest(Buffer(in.SerializeAsString()), &out).ok());
  EXPECT_EQ(out.message_created().text(), "привет 👋");
  EXPECT_EQ(out.visible_to(0), 3);
}

TEST(WireCodecTest, NamesTheNestedFieldWithInvalidUtf8) {
  v1::PublishRequest in;
  in.mutable_message_created()->set_id(1);
  in.mutable_message_created()->set_text("abcd");
  v1::PublishRequest out;
  auto st = ParseRequest(Buffer(Corrupt(in, "abcd", "\xff\xfe")), &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "message_created.text: not valid UTF-8");
}

TEST(WireCodecTest, NamesTopLevelField) {
  v1::OpenSessionRequest in;
  in.set_token("tokn");
  in.set_user_id(5);
  v1::OpenSessionRequest out;
  auto st = ParseRequest(Buffer(Corrupt(in, "tokn", "\xc0\xaf")), &out);
  EXPECT_EQ(st.message(), "token: not valid UTF-8");
}

TEST(WireCodecTest, GarbageIsMalformed) {
  v1::PublishRequest out;
  auto st = ParseRequest(Buffer(std::string("\x0a\xff\xff\xff", 4)), &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "request: malformed protobuf");
}

TEST(WireCodecTest, SerializeRoundTrips) {
  v1::PublishResponse in;
  in.set_recipients(42);
  grpc::ByteBuffer buffer;
  SerializeResponse(in, &buffer);
  v1::PublishResponse out;
  ASSERT_TRUE(ParseRequest(buffer, &out).ok());
  EXPECT_EQ(out.recipients(), 42u);
}

}  // namespace
}  // namespace herald::service
