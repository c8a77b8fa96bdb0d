// The gRPC API's credentials: the bearer-token processor and the token
// file's checks (the TLS modes are covered end to end in
// tests/integration/test_grpc_auth.py).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "service/bearer_token_processor.h"
#include "service/grpc_server_credentials.h"

namespace herald::service {
namespace {

using Input = grpc::AuthMetadataProcessor::InputMetadata;
using Output = grpc::AuthMetadataProcessor::OutputMetadata;

grpc::Status Check(const Input& in, Output* consumed = nullptr) {
  BearerTokenProcessor processor("s3cret");
  Output scratch, response;
  return processor.Process(in, nullptr, consumed ? consumed : &scratch,
                           &response);
}

TEST(BearerTokenProcessorTest, AcceptsTheTokenAndHidesIt) {
  Output consumed;
  grpc::Status st = Check({{":path", "/herald.v1.Herald/OpenSession"},
                           {"authorization", "Bearer s3cret"}},
                          &consumed);
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed.begin()->first, "authorization");
  EXPECT_EQ(consumed.begin()->second, "Bearer s3cret");
}

TEST(BearerTokenProcessorTest, RefusesEverythingElse) {
  const Input cases[] = {
      {{":path", "/herald.v1.Herald/Publish"}},
      {{"authorization", "Bearer s3cre"}},
      {{"authorization", "Bearer s3cret "}},
      {{"authorization", "bearer s3cret"}},
      {{"authorization", "s3cret"}},
      {{"authorization", ""}},
      {{"authorization", "Bearer s3cret"}, {"authorization", "Bearer x"}},
      {{"x-token", "Bearer s3cret"}},
  };
  for (const Input& in : cases) {
    grpc::Status st = Check(in);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << in.size();
  }
  EXPECT_EQ(Check({}).error_message(),
            "missing 'authorization: Bearer <token>' metadata");
  EXPECT_EQ(Check({{"authorization", "Bearer x"}}).error_message(),
            "wrong bearer token");
}

TEST(BearerTokenProcessorTest, HealthNeedsNoToken) {
  EXPECT_TRUE(Check({{":path", "/grpc.health.v1.Health/Check"}}).ok());
  EXPECT_EQ(Check({{":path",
                    "/grpc.reflection.v1alpha.ServerReflection/"
                    "ServerReflectionInfo"}})
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Check({{":path", "/grpc.health.v1.HealthX/Check"}}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

class TokenFileTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::TempDir() + "grpc_token_" + std::to_string(getpid());
  }
  void TearDown() override { unlink(path_.c_str()); }

  void Write(const std::string& text, mode_t mode) {
    FILE* f = fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }

  std::string Error() {
    auto token = ReadGrpcTokenFile(path_);
    EXPECT_FALSE(token.ok());
    return token.ok() ? "" : std::string(token.status().message());
  }

  std::string path_;
};

TEST_F(TokenFileTest, TrimsTheLineEnd) {
  Write("  abc-DEF_123\n", 0600);
  auto token = ReadGrpcTokenFile(path_);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "abc-DEF_123");
  Write("abc\n", 0640);  // group access: a warning only
  EXPECT_TRUE(ReadGrpcTokenFile(path_).ok());
}

TEST_F(TokenFileTest, RefusesWorldReadableEmptyOrOdd) {
  Write("abc\n", 0644);
  EXPECT_EQ(Error(), "--grpc_token_file=" + path_ +
                         ": readable or writable by every user (mode 0644): "
                         "chmod 600 it");
  Write("abc\n", 0602);
  EXPECT_NE(Error().find("(mode 0602)"), std::string::npos);
  Write(" \n\n", 0600);
  EXPECT_EQ(Error(), "--grpc_token_file=" + path_ + ": holds no token");
  Write("two words\n", 0600);
  EXPECT_NE(Error().find("printable ASCII without spaces"), std::string::npos);
  Write(std::string(4097, 'a'), 0600);
  EXPECT_NE(Error().find("larger than 4096 bytes"), std::string::npos);
  unlink(path_.c_str());
  EXPECT_NE(Error().find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace herald::service
