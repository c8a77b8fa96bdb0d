// HeraldAdmin's request checks: the close codes an operator may send, the
// reason's length and encoding, and the required user_id.
#include "service/admin_validation.h"

#include <string>

#include "gtest/gtest.h"
#include "service/options.h"

namespace herald::service {
namespace {

v1::DisconnectRequest Disconnect(int64_t user, uint32_t code,
                                 std::string reason = "") {
  v1::DisconnectRequest r;
  r.set_user_id(user);
  r.set_code(code);
  r.set_reason(std::move(reason));
  return r;
}

TEST(AdminValidationTest, CloseCodes) {
  for (uint32_t code : {1000u, 1001u, 1008u, 4000u, 4001u, 4500u, 4999u}) {
    EXPECT_TRUE(IsAdminCloseCode(code)) << code;
    EXPECT_TRUE(ValidateDisconnect(Disconnect(1, code)).ok()) << code;
  }
  for (uint32_t code :
       {0u, 1u, 999u, 1002u, 1003u, 1005u, 1006u, 1007u, 1009u, 1011u, 1015u,
        2999u, 3000u, 3999u, 5000u, 65535u, 65536u + 4000u, 4294967295u}) {
    EXPECT_FALSE(IsAdminCloseCode(code)) << code;
    const absl::Status st = ValidateDisconnect(Disconnect(1, code));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(st.message(),
              "code: " + std::to_string(code) +
                  " is not a close code herald sends (1000, 1001, 1008 or "
                  "4000-4999)");
  }
}

TEST(AdminValidationTest, Reason) {
  EXPECT_TRUE(
      ValidateDisconnect(Disconnect(1, 4000, std::string(123, 'x'))).ok());
  EXPECT_EQ(
      ValidateDisconnect(Disconnect(1, 4000, std::string(124, 'x'))).message(),
      "reason: 124 bytes, at most 123");
  std::string accents;
  for (int i = 0; i < 61; ++i) accents += "\xc3\xa9";
  EXPECT_TRUE(ValidateDisconnect(Disconnect(1, 4000, accents + "x")).ok());
  EXPECT_FALSE(
      ValidateDisconnect(Disconnect(1, 4000, accents + "\xc3\xa9")).ok());
  for (const char* bad : {"\xff", "ab\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
    EXPECT_EQ(ValidateDisconnect(Disconnect(1, 4000, bad)).message(),
              "reason: not valid UTF-8")
        << bad;
  }
}

TEST(AdminValidationTest, UserId) {
  EXPECT_EQ(ValidateDisconnect(Disconnect(0, 4000)).message(),
            "user_id: must be positive");
  EXPECT_EQ(ValidateDisconnect(Disconnect(-1, 4000)).message(),
            "user_id: must be positive");
  v1::ListConnectionsRequest list;
  EXPECT_EQ(ValidateListConnections(list).message(),
            "user_id: must be positive");
  list.set_user_id(5);
  EXPECT_TRUE(ValidateListConnections(list).ok());
}

// --max_listed_connections: 1000 by default, 1..100000.
TEST(AdminValidationTest, MaxListedConnectionsFlag) {
  auto defaults = ParseOptions({}, {});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->max_listed_connections, 1000u);
  auto two = ParseOptions({"--max_listed_connections=2"}, {});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->max_listed_connections, 2u);
  for (const char* bad : {"0", "100001", "-1", "x", ""}) {
    auto st =
        ParseOptions({std::string("--max_listed_connections=") + bad}, {});
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.status().message().find("--max_listed_connections"),
              std::string::npos)
        << st.status();
  }
}

}  // namespace
}  // namespace herald::service
