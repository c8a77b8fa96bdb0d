#include "service/redis/redis_url.h"

#include "gtest/gtest.h"

namespace herald::service::redis {
namespace {

RedisUrl Parsed(std::string_view text) {
  absl::StatusOr<RedisUrl> url = RedisUrl::Parse(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.status();
  return url.ok() ? *url : RedisUrl{};
}

std::string Error(std::string_view text) {
  absl::StatusOr<RedisUrl> url = RedisUrl::Parse(text);
  EXPECT_FALSE(url.ok()) << text;
  if (url.ok()) return "";
  EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << text;
  EXPECT_EQ(url.status().message().substr(0, 9), "--redis: ") << text;
  return std::string(url.status().message());
}

TEST(RedisUrlTest, HostOnlyDefaults) {
  RedisUrl url = Parsed("redis://localhost");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
  EXPECT_TRUE(url.socket_path.empty());
  EXPECT_TRUE(url.user.empty());
  EXPECT_TRUE(url.password.empty());
  EXPECT_EQ(url.Endpoint(), "localhost:6379");
}

TEST(RedisUrlTest, PortAndDb) {
  RedisUrl url = Parsed("redis://10.0.0.7:6380/5");
  EXPECT_EQ(url.host, "10.0.0.7");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 5);
  EXPECT_EQ(url.Endpoint(), "10.0.0.7:6380");
  EXPECT_EQ(Parsed("redis://h:1/").db, 0);
}

TEST(RedisUrlTest, PasswordAndUser) {
  RedisUrl url = Parsed("redis://:hunter2@h:7000");
  EXPECT_EQ(url.password, "hunter2");
  EXPECT_TRUE(url.user.empty());
  EXPECT_EQ(url.host, "h");
  EXPECT_EQ(url.port, 7000);
  url = Parsed("redis://herald:pw@h");
  EXPECT_EQ(url.user, "herald");
  EXPECT_EQ(url.password, "pw");
  // The endpoint never names the password.
  EXPECT_EQ(url.Endpoint(), "h:6379");
}

TEST(RedisUrlTest, PercentEscapesInPasswordAreDecoded) {
  RedisUrl url = Parsed("redis://:p%40ss%3Aw%2Fd%25@h:1/2");
  EXPECT_EQ(url.password, "p@ss:w/d%");
  EXPECT_EQ(url.host, "h");
  EXPECT_EQ(url.db, 2);
  // A raw '@' in the password: the last '@' ends it.
  EXPECT_EQ(Parsed("redis://:a@b@h").password, "a@b");
}

TEST(RedisUrlTest, Ipv6Host) {
  RedisUrl url = Parsed("redis://[::1]:6390/1");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 6390);
  EXPECT_EQ(url.db, 1);
  EXPECT_EQ(url.Endpoint(), "[::1]:6390");
  EXPECT_EQ(Parsed("redis://[fe80::2]").port, 6379);
}

TEST(RedisUrlTest, UnixSocket) {
  RedisUrl url = Parsed("unix:///run/redis/redis.sock");
  EXPECT_EQ(url.socket_path, "/run/redis/redis.sock");
  EXPECT_TRUE(url.host.empty());
  EXPECT_EQ(url.db, 0);
  EXPECT_EQ(url.Endpoint(), "/run/redis/redis.sock");
  url = Parsed("unix:///tmp/r.sock?db=3");
  EXPECT_EQ(url.socket_path, "/tmp/r.sock");
  EXPECT_EQ(url.db, 3);
  url = Parsed("unix://:s%3Acret@/tmp/r.sock");
  EXPECT_EQ(url.password, "s:cret");
  EXPECT_EQ(url.socket_path, "/tmp/r.sock");
}

TEST(RedisUrlTest, Errors) {
  EXPECT_NE(Error("").find("empty"), std::string::npos);
  EXPECT_NE(Error("http://h").find("redis://"), std::string::npos);
  EXPECT_NE(Error("rediss://h").find("TLS"), std::string::npos);
  EXPECT_NE(Error("redis://").find("host"), std::string::npos);
  EXPECT_NE(Error("redis://:pw@:6379").find("host"), std::string::npos);
  EXPECT_NE(Error("redis://h:0").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://h:65536").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://h:12ab").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://h:").find("port"), std::string::npos);
  EXPECT_NE(Error("redis://h/x").find("database"), std::string::npos);
  EXPECT_NE(Error("redis://h/-1").find("database"), std::string::npos);
  EXPECT_NE(Error("redis://h/99999999999").find("database"), std::string::npos);
  EXPECT_NE(Error("redis://pw@h").find("USER"), std::string::npos);
  EXPECT_NE(Error("redis://:@h").find("password"), std::string::npos);
  EXPECT_NE(Error("redis://:p%4@h").find("percent"), std::string::npos);
  EXPECT_NE(Error("redis://:p%zz@h").find("percent"), std::string::npos);
  EXPECT_NE(Error("redis://[::1").find("IPv6"), std::string::npos);
  EXPECT_NE(Error("redis://[::1]x").find("IPv6"), std::string::npos);
  EXPECT_NE(Error("redis://h?db=1").find("query"), std::string::npos);
  EXPECT_NE(Error("unix://").find("path"), std::string::npos);
  EXPECT_NE(Error("unix://relative.sock").find("path"), std::string::npos);
  EXPECT_NE(Error("unix:///tmp/s?x=1").find("db=N"), std::string::npos);
  EXPECT_NE(Error("unix:///tmp/s?db=x").find("database"), std::string::npos);
}

}  // namespace
}  // namespace herald::service::redis
