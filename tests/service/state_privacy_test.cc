// The state file keeps tokens private: 0600 files, hashes instead of
// tokens, and version 1 files (clear tokens) migrated on open.

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/registry.h"
#include "service/sqlite_store.h"
#include "service/token_hasher.h"

namespace herald::service {
namespace {

constexpr char kToken[] = "17d58d53-014e-4787-80c2-6518924d8d92";
constexpr char kOtherToken[] = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// -1 when the file does not exist.
int ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

bool Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) ADD_FAILURE() << sql << ": " << error;
  sqlite3_free(error);
  return rc == SQLITE_OK;
}

class StatePrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_umask_ = umask(022);  // the usual umask: files would be 0644
    std::string pattern =
        (std::filesystem::temp_directory_path() / "state_privacy.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (std::filesystem::path(dir_) / "state.db").string();
  }
  void TearDown() override {
    registry_.reset();
    umask(old_umask_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Registry& Open() {
    registry_.reset();
    auto registry = Registry::Open(path_);
    EXPECT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    return *registry_;
  }

  // Everything on disk: the database, its WAL and its shared memory.
  std::string AllBytes() const {
    return ReadBytes(path_) + ReadBytes(path_ + "-wal") +
           ReadBytes(path_ + "-shm");
  }

  // A herald 1 state file (schema version 1, tokens in clear), left with
  // its last changes in the WAL as a killed herald would leave it.
  void WriteVersion1File() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_TRUE(Exec(db, "PRAGMA journal_mode=WAL"));
    ASSERT_TRUE(Exec(db, R"sql(
      CREATE TABLE sessions(token TEXT PRIMARY KEY NOT NULL,
        user_id INTEGER NOT NULL, expires_at_us INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE memberships(user_id INTEGER NOT NULL,
        server_id INTEGER NOT NULL, PRIMARY KEY(user_id, server_id))
        WITHOUT ROWID;
      CREATE INDEX memberships_by_server ON memberships(server_id, user_id);
      CREATE TABLE voice_grants(user_id INTEGER PRIMARY KEY,
        server_id INTEGER NOT NULL, channel_id INTEGER NOT NULL);
      PRAGMA application_id=1213353028;
      PRAGMA user_version=1;
      INSERT INTO sessions VALUES('17d58d53-014e-4787-80c2-6518924d8d92', 7, 0);
      INSERT INTO sessions VALUES('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 8,
        9000000000000000);
      INSERT INTO memberships VALUES(7, 70);
      INSERT INTO voice_grants VALUES(7, 70, 700);
    )sql"));
    // Keep the WAL, as a killed herald does: no checkpoint on close.
    ASSERT_EQ(
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
    chmod(path_.c_str(), 0644);
  }

  mode_t old_umask_ = 0;
  std::string dir_;
  std::string path_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(StatePrivacyTest, FilesAreCreatedOwnerOnly) {
  Registry& registry = Open();
  ASSERT_TRUE(registry.OpenSession(kToken, 1, 0, nullptr).ok());
  registry.Flush();
  EXPECT_EQ(ModeOf(path_), 0600);
  EXPECT_EQ(ModeOf(path_ + "-wal"), 0600);  // SQLite copies the file's mode
  EXPECT_EQ(ModeOf(path_ + "-shm"), 0600);
}

TEST_F(StatePrivacyTest, AnOlderFilesModeIsTightened) {
  { Open(); }
  registry_.reset();
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  Registry& registry = Open();
  ASSERT_TRUE(registry.OpenSession(kToken, 1, 0, nullptr).ok());
  registry.Flush();
  EXPECT_EQ(ModeOf(path_), 0600);
  EXPECT_EQ(ModeOf(path_ + "-wal"), 0600);
  EXPECT_EQ(ModeOf(path_ + "-shm"), 0600);
}

TEST_F(StatePrivacyTest, NoTokenIsStoredOnlyItsKeyedHash) {
  Registry& registry = Open();
  ASSERT_TRUE(registry.OpenSession(kToken, 1, 0, nullptr).ok());
  ASSERT_TRUE(registry.OpenSession(kOtherToken, 2, 0, nullptr).ok());
  registry.Flush();
  std::string bytes = AllBytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(kToken), std::string::npos);
  EXPECT_EQ(bytes.find(kOtherToken), std::string::npos);
  // The key is the registry's own: the hash is HMAC-SHA256, not SHA-256.
  const std::string key = registry.SessionKey(kToken);
  EXPECT_EQ(key.size(), TokenHasher::kHashBytes);
  EXPECT_NE(key, TokenHasher("").Hash(kToken));
  EXPECT_NE(bytes.find(key), std::string::npos);
  // Admission hashes what the client presents; a restart keeps sessions.
  registry_.reset();
  Registry& reopened = Open();
  ASSERT_TRUE(reopened.LookupToken(kToken, 0).has_value());
  EXPECT_EQ(reopened.LookupToken(kToken, 0)->user_id, 1);
  EXPECT_EQ(reopened.SessionKey(kToken), key);             // the key persists
  EXPECT_FALSE(reopened.LookupToken(key, 0).has_value());  // a hash is no
  EXPECT_TRUE(reopened.CloseSession(kOtherToken, nullptr).has_value());
  reopened.Flush();
  registry_.reset();
  EXPECT_FALSE(Open().LookupToken(kOtherToken, 0).has_value());
}

TEST_F(StatePrivacyTest, EachFileHasItsOwnKey) {
  const std::string key = Open().SessionKey(kToken);
  registry_.reset();
  std::filesystem::remove(path_);
  EXPECT_NE(Open().SessionKey(kToken), key);
}

TEST_F(StatePrivacyTest, AVersion1FileIsMigrated) {
  WriteVersion1File();
  ASSERT_NE(AllBytes().find(kToken), std::string::npos);  // the old format
  ASSERT_GT(ReadBytes(path_ + "-wal").size(), 0u);
  Registry& registry = Open();
  auto session = registry.LookupToken(kToken, 0);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->user_id, 7);
  EXPECT_EQ(session->expires_at_us, 0);
  session = registry.LookupToken(kOtherToken, 0);
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->expires_at_us, 9000000000000000);
  EXPECT_EQ(registry.ServersOf(7), std::vector<int64_t>{70});
  ASSERT_TRUE(registry.GrantOf(7).has_value());
  EXPECT_EQ(registry.GrantOf(7)->channel_id, 700);
  registry.Flush();
  const std::string bytes = AllBytes();
  EXPECT_EQ(bytes.find(kToken), std::string::npos);
  EXPECT_EQ(bytes.find(kOtherToken), std::string::npos);
  EXPECT_EQ(ModeOf(path_), 0600);
  // Still there after another restart, now as a version 2 file.
  registry_.reset();
  EXPECT_EQ(Open().LookupToken(kToken, 0)->user_id, 7);
  EXPECT_EQ(AllBytes().find(kToken), std::string::npos);
}

}  // namespace
}  // namespace herald::service
