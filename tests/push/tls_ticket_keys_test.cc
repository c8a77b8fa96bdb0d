#include "push/tls_ticket_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace herald::push {
namespace {

class TlsTicketKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/herald-ticket-keys-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/keys";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
  std::string path_;
};

TEST_F(TlsTicketKeysTest, CreatesAPrivateFileAndReloadsTheSameKey) {
  auto keys = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_TRUE(keys.ok()) << keys.status();
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*keys)->current().name, (*again)->current().name);
  EXPECT_EQ((*keys)->current().aes, (*again)->current().aes);
  EXPECT_EQ((*keys)->current().hmac, (*again)->current().hmac);
}

TEST_F(TlsTicketKeysTest, RotationKeepsOnePreviousKeyAndPersists) {
  auto keys = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_TRUE(keys.ok());
  const auto first = (*keys)->current();
  ASSERT_TRUE((*keys)->Rotate().ok());
  EXPECT_EQ((*keys)->previous().name, first.name);
  EXPECT_NE((*keys)->current().name, first.name);
  const auto second = (*keys)->current();
  ASSERT_TRUE((*keys)->Rotate().ok());
  EXPECT_EQ((*keys)->previous().name, second.name);
  auto reloaded = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->current().name, (*keys)->current().name);
  EXPECT_EQ((*reloaded)->previous().name, second.name);
}

TEST_F(TlsTicketKeysTest, AnOldCurrentKeyIsRotatedOnLoad) {
  auto keys = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_TRUE(keys.ok());
  const auto first = (*keys)->current();
  auto later = TlsTicketKeys::Load(path_, std::chrono::seconds(0));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)->previous().name, first.name);
  EXPECT_NE((*later)->current().name, first.name);
}

TEST_F(TlsTicketKeysTest, MalformedOrExposedFilesAreRefused) {
  { std::ofstream(path_) << "herald-ticket-keys v1\n1 zz 00 00\n"; }
  chmod(path_.c_str(), 0600);
  auto bad = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("malformed"),
            std::string::npos);
  unlink(path_.c_str());
  ASSERT_TRUE(TlsTicketKeys::Load(path_, std::chrono::hours(12)).ok());
  chmod(path_.c_str(), 0644);
  auto exposed = TlsTicketKeys::Load(path_, std::chrono::hours(12));
  ASSERT_FALSE(exposed.ok());
  EXPECT_NE(std::string(exposed.status().message()).find("chmod 600"),
            std::string::npos);
}

}  // namespace
}  // namespace herald::push
